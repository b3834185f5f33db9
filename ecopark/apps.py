from django.apps import AppConfig
from django.db.models.signals import post_migrate


class EcoparkConfig(AppConfig):
    name = "ecopark"
    verbose_name = "ecopark"

    def ready(self) -> None:
        from ecopark import signals
        from ecopark.roles import ensure_role_groups

        signals.connect()
        signals.connect_key_cache()

        # After every app's migrations (idempotent): an app's permissions exist only once its own have run.
        post_migrate.connect(ensure_role_groups, dispatch_uid="ecopark.ensure_role_groups")
