"""Extended statistics on the roll-up's grain, so that PostgreSQL estimates its number of groups (a few tens of
thousands, where multiplying the columns' counts says half a million) and hashes the rebuild's GROUP BY in parallel
rather than sorting a million rows."""

from django.db import migrations

CREATE = (
    "CREATE STATISTICS IF NOT EXISTS measures_measure_rollup_grain (ndistinct) "
    "ON park_id, kind, technique, status, reference_year FROM measures_measure"
)
DROP = "DROP STATISTICS IF EXISTS measures_measure_rollup_grain"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("measures", "0008_import_job")]

    operations = [migrations.RunPython(create, drop)]
