"""The programme's published totals as targets (Hai Phong newspaper report on GEIPP Viet Nam)."""

from decimal import Decimal as D

from django.db import migrations

SOURCE = "baohaiphong.com.vn, report of the 12 September workshop of the GEIPP Viet Nam project unit"
TARGETS = [
    ("recp_options", "Giải pháp RECP được xác định", "RECP options identified", D(612)),
    ("recp_enterprises", "Doanh nghiệp tham gia chương trình", "Enterprises in the programme", D(68)),
]


def load(apps, schema_editor):
    ProgrammeTarget = apps.get_model("reports", "ProgrammeTarget")
    for indicator, vi, en, value in TARGETS:
        ProgrammeTarget.objects.get_or_create(
            indicator=indicator, defaults=dict(name_vi=vi, name_en=en, value=value, year=2024, source=SOURCE)
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
