"""The numeric criteria for an eco-industrial park (DOMAIN.md): thresholds of Decree 82/2018/NĐ-CP, the predecessor
of Decree 35/2022/NĐ-CP, which states the criteria without these numbers. To be checked before use; administrators
correct them in the admin."""

from decimal import Decimal as D

from django.db import migrations

SOURCE = "Decree 82/2018/NĐ-CP (predecessor of Decree 35/2022/NĐ-CP, Art. 2, 37, 40); check before use"
CRITERIA = [
    ("recp_applying_share", D(20), "At least 20% of the park's enterprises apply RECP (and 90% are aware of it)."),
    ("symbiosis_links", D(1), "At least one industrial symbiosis link."),
    ("symbiosis_share", D(10), "The symbiosis links involve at least 10% of the park's enterprises."),
]


def load(apps, schema_editor):
    EipCriterion = apps.get_model("reports", "EipCriterion")
    for indicator, threshold, note in CRITERIA:
        EipCriterion.objects.get_or_create(
            indicator=indicator, defaults={"threshold": threshold, "legal_source": SOURCE, "note": note}
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_eip_criteria")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
