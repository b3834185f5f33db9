"""The default disclosure rule: at least three non-consenting enterprises behind any money a partner can work out,
none with 85 % or more of it. Administrators correct it in the admin; re-running adds nothing if a row exists."""

from django.db import migrations

SOURCE = (
    "Default: the threshold rule (3 contributors) and the (1, 85%) dominance rule for magnitude tables of "
    "statistical disclosure control (Hundepool et al., Statistical Disclosure Control, Wiley 2012, ch. 4); "
    "to be confirmed by the programme"
)


def load(apps, schema_editor):
    DisclosureRule = apps.get_model("reports", "DisclosureRule")
    if not DisclosureRule.objects.exists():
        DisclosureRule.objects.create(min_enterprises=3, max_share=85, source=SOURCE)


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_disclosure_rule")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
