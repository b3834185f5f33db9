"""Indexes the measures page needs at a million measures (issue 17): one per sortable column (with the id that
breaks ties), a partial index of the savings that are increases (asked of every row shown), and on PostgreSQL a
trigram index of the folded search text, so that a search word is an index lookup rather than a scan of every row.

The trigram index: `ecopark.db_indexes.trigram_index`."""

from django.db import migrations, models

from ecopark.db_indexes import trigram_index


class Migration(migrations.Migration):
    dependencies = [
        ("measures", "0012_trail_entered_backfill"),
        ("parks", "0003_list_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="measure", index=models.Index(fields=["title_vi", "id"], name="measure_title_vi_id")
        ),
        migrations.AddIndex(
            model_name="measure", index=models.Index(fields=["status", "id"], name="measure_status_id")
        ),
        migrations.AddIndex(
            model_name="measure", index=models.Index(fields=["reference_year", "id"], name="measure_year_id")
        ),
        migrations.AddIndex(
            model_name="measure", index=models.Index(fields=["electricity_kwh", "id"], name="measure_kwh_id")
        ),
        migrations.AddIndex(model_name="measure", index=models.Index(fields=["water_m3", "id"], name="measure_m3_id")),
        migrations.AddIndex(model_name="measure", index=models.Index(fields=["cost_usd", "id"], name="measure_usd_id")),
        migrations.AddIndex(model_name="measure", index=models.Index(fields=["co2e_t", "id"], name="measure_co2e_id")),
        migrations.AddIndex(
            model_name="measuresaving",
            index=models.Index(
                condition=models.Q(quantity__lt=0) | models.Q(verified_quantity__lt=0),
                fields=["measure"],
                name="measuresaving_increase",
            ),
        ),
        trigram_index("measures_measure", "search_text", "measure_search_trgm"),
    ]
