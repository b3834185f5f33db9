"""CO2e trail lines written before the trail kept its first steps: fill in the saving as entered and the density that
took it to the factor's unit, from the measure's saving of that resource, so that stored trails show the whole chain
without waiting for a recompute. Lines without such a saving are left as they were."""

from django.db import migrations

# Units, by the dimension they measure (as in measures.units): a density converts only between these two.
MASS = {"t", "kg"}
VOLUME = {"m3", "L"}


def _uses_density(from_unit: str, to_unit: str) -> bool:
    return (from_unit in MASS and to_unit in VOLUME) or (from_unit in VOLUME and to_unit in MASS)


def backfill(apps, schema_editor):
    Co2eTrailLine = apps.get_model("measures", "Co2eTrailLine")
    MeasureSaving = apps.get_model("measures", "MeasureSaving")
    lines = list(Co2eTrailLine.objects.filter(entered_unit="").select_related("resource"))
    savings = {
        (s.measure_id, s.resource_id): s
        for s in MeasureSaving.objects.filter(measure_id__in={line.measure_id for line in lines})
    }
    changed = []
    for line in lines:
        saving = savings.get((line.measure_id, line.resource_id))
        if saving is None:
            continue
        line.entered_quantity, line.entered_unit = saving.quantity, saving.unit
        if _uses_density(saving.unit, line.unit) and line.resource.density_t_per_m3:
            line.density_t_per_m3 = line.resource.density_t_per_m3
            line.density_source = line.resource.density_source
        changed.append(line)
    Co2eTrailLine.objects.bulk_update(
        changed, ["entered_quantity", "entered_unit", "density_t_per_m3", "density_source"], batch_size=1000
    )


class Migration(migrations.Migration):
    dependencies = [("measures", "0011_plausibility_window_data")]
    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
