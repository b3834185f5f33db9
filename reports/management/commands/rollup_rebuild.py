"""manage.py rollup_rebuild: recompute the roll-up table now (optionally every measure's figures first)."""

from django.core.management.base import BaseCommand

from measures.models import Measure
from measures.services import figures_recompute
from reports.services import rollup_rebuild


class Command(BaseCommand):
    help = "Rebuild the roll-up table from the measures; --figures first recomputes every measure's figures."

    def add_arguments(self, parser):
        parser.add_argument("--figures", action="store_true", help="Recompute CO2e, kWh, m3 and costs first.")

    def handle(self, *args, figures: bool, **options):
        if figures:
            count = figures_recompute(Measure.objects.all())
            self.stdout.write(f"Figures recomputed for {count} measures.")
        rows = rollup_rebuild(reason="manage.py rollup_rebuild")
        self.stdout.write(self.style.SUCCESS(f"Roll-up rebuilt: {rows} rows."))
