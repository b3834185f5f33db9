"""The roll-up sums the measures' own VND. Rows written before hold 0: when there are any, the table is rebuilt once
the whole migration run has finished (post_migrate), so that the rebuild's code meets the schema it was written for."""

from django.apps import apps as global_apps
from django.db import migrations, models
from django.db.models.signals import post_migrate


def _rebuild_after_migrating(**kwargs) -> None:
    from reports.services import rollup_rebuild

    post_migrate.disconnect(dispatch_uid="reports.0006.rebuild")
    rollup_rebuild(reason="migration reports.0006: the roll-up sums the measures' VND")


def schedule_rebuild(apps, schema_editor):
    if apps.get_model("reports", "RollupRow").objects.using(schema_editor.connection.alias).exists():
        post_migrate.connect(
            _rebuild_after_migrating,
            sender=global_apps.get_app_config("reports"),
            weak=False,
            dispatch_uid="reports.0006.rebuild",
        )


class Migration(migrations.Migration):
    dependencies = [("reports", "0005_eip_criteria_data")]

    operations = [
        migrations.AddField(
            model_name="rolluprow",
            name="cost_vnd",
            field=models.DecimalField(decimal_places=0, default=0, max_digits=24, verbose_name="cost (VND/yr)"),
            preserve_default=False,
        ),
        migrations.RunPython(schedule_rebuild, migrations.RunPython.noop),
    ]
