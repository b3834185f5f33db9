"""Create a partner and an API key for it; the key is printed once, on the last line."""

from django.core.management.base import BaseCommand, CommandError

from ecopark.services import DEFAULT_KEY_DAYS, partner_create


class Command(BaseCommand):
    help = "Create a partner (API-only user) and an API key; prints the key once, on the last line of output."

    def add_arguments(self, parser):
        parser.add_argument("name", help="The partner's name, e.g. 'SECO'; also names the key.")
        parser.add_argument("--days", type=int, default=DEFAULT_KEY_DAYS, help="Days until the key expires.")

    def handle(self, *args, name: str, days: int, **options):
        if days < 1:
            raise CommandError("--days must be at least 1.")
        try:
            api_key, key = partner_create(name=name, days=days)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Partner {api_key.owner.username}: key {api_key.prefix} expires {api_key.expires_at:%Y-%m-%d}. "
            "Keep the key now; it is not stored and cannot be shown again:"
        )
        self.stdout.write(key)
