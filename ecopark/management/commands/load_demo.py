"""manage.py load_demo: the programme's places and an illustrative register; safe to run again."""

from django.core.management.base import BaseCommand

from ecopark.demo import DEMO_USERS, ensure_demo_users, load_demo
from measures.models import Measure


class Command(BaseCommand):
    help = "Load the programme's parks and an illustrative set of enterprises and measures (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument("--users", action="store_true", help="Also create one demo user per role.")
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when measures already exist.")

    def handle(self, *args, users: bool, if_empty: bool, **options):
        if if_empty and Measure.objects.exists():
            self.stdout.write("The register already holds measures; demo data not loaded.")
            if users:
                ensure_demo_users()
        else:
            result = load_demo(with_users=users)
            self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {result['measures_added']} measures added."))
        if users:
            self.stdout.write("Demo logins (user / password / role):")
            for username, password, role, _parks, _name in DEMO_USERS:
                self.stdout.write(f"  {username:15} {password:24} {role.value}")
