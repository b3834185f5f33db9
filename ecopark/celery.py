"""The Celery app, configured from Django settings under the CELERY_ namespace."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecopark.settings.dev")

app = Celery("ecopark")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def use_task_statement_timeout(**kwargs) -> None:
    """A worker's statements may run up to the tasks' soft time limit, not the web requests' timeout.

    Sent in the worker's main process before its pool starts: the processes it forks inherit the setting.
    """
    from django.conf import settings
    from django.db import connections

    from ecopark.settings.base import with_statement_timeout

    for connection in connections.all(initialized_only=False):
        if connection.vendor == "postgresql":
            options = connection.settings_dict.setdefault("OPTIONS", {})
            options["options"] = with_statement_timeout(
                options.get("options", ""), settings.DB_TASK_STATEMENT_TIMEOUT_MS
            )
            connection.close()  # one opened before would keep the web timeout
