"""Create an API key for an existing user (staff tools, a park manager's script); printed once, on the last line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from ecopark.roles import role_of
from ecopark.services import DEFAULT_KEY_DAYS, apikey_create


class Command(BaseCommand):
    help = "Create an API key acting as USERNAME (within their role and parks); prints it once, on the last line."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="script", help="What the key is for.")
        parser.add_argument("--days", type=int, default=DEFAULT_KEY_DAYS, help="Days until the key expires.")

    def handle(self, *args, username: str, name: str, days: int, **options):
        user = get_user_model().objects.filter(username=username, is_active=True).first()
        if user is None:
            raise CommandError(f"No active user {username!r}.")
        if role_of(user) is None:
            raise CommandError(f"{username!r} has no role: give them one in the admin first.")
        if days < 1:
            raise CommandError("--days must be at least 1.")
        api_key, key = apikey_create(owner=user, name=name, days=days)
        self.stdout.write(
            f"Key {api_key.prefix} for {username} ({role_of(user)}), expires {api_key.expires_at:%Y-%m-%d}:"
        )
        self.stdout.write(key)
