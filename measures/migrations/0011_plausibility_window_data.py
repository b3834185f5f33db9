"""The register's default plausibility window: estimates from 2015 (the programme's predecessor project began then)
to the year after the current one. Staff may correct it in the admin; re-running adds nothing if a row exists."""

from django.db import migrations

SOURCE = (
    "Default: the 2015-2019 predecessor project to the year after the current one (DOMAIN.md); "
    "check against the programme's own reporting rules"
)


def load(apps, schema_editor):
    PlausibilityWindow = apps.get_model("measures", "PlausibilityWindow")
    if not PlausibilityWindow.objects.exists():
        PlausibilityWindow.objects.create(earliest_estimate_year=2015, years_ahead=1, source=SOURCE)


class Migration(migrations.Migration):
    dependencies = [("measures", "0010_trail_conversions_plausibility_window")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
