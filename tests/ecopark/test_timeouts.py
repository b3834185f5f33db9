"""Nothing runs on after whoever waited for it has gone: statement timeouts, task limits and the broker's redelivery."""

import os
import runpy

import pytest
from django.conf import settings
from django.db import OperationalError, connection, connections

from ecopark.celery import app, use_task_statement_timeout
from ecopark.settings import base
from ecopark.settings.base import with_statement_timeout

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="statement timeouts are PostgreSQL's")
GUNICORN = runpy.run_path(str(settings.BASE_DIR / "gunicorn.conf.py"))


def _our_tasks() -> list:
    app.loader.import_default_modules()  # the tasks of every app, as a worker registers them
    return [task for name, task in app.tasks.items() if not name.startswith("celery.")]


def test_a_task_whose_worker_died_is_queued_again_but_never_while_it_may_still_run():
    assert app.conf.task_acks_late and app.conf.task_reject_on_worker_lost
    tasks = _our_tasks()
    assert "reports.tasks.rollup_rebuild_all" in {task.name for task in tasks}
    longest = max(task.time_limit or app.conf.task_time_limit for task in tasks)
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert longest < visibility < 60 * 60  # Redis's default, an hour, kept a killed rebuild waiting that long
    assert max(getattr(task, "retry_backoff_max", 0) for task in tasks) < visibility  # a retry's countdown too


def test_the_statement_timeouts_end_before_whoever_waits_for_them():
    assert 0 < settings.DB_STATEMENT_TIMEOUT_MS < GUNICORN["timeout"] * 1000
    assert settings.DB_TASK_STATEMENT_TIMEOUT_MS == settings.CELERY_TASK_SOFT_TIME_LIMIT * 1000
    assert settings.DB_TASK_STATEMENT_TIMEOUT_MS < settings.CELERY_TASK_TIME_LIMIT * 1000


def test_a_timeout_in_the_database_url_is_replaced_and_other_options_kept():
    assert with_statement_timeout("", 500) == "-c statement_timeout=500"
    assert with_statement_timeout("-c search_path=x -c statement_timeout=0", 500) == (
        "-c search_path=x -c statement_timeout=500"
    )


def _timeout_ms(wrapper) -> float:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM current_setting('statement_timeout')::interval) * 1000")
        return float(cursor.fetchone()[0])


def _fresh_connection(settings_dict: dict | None = None):
    """A connection opened as a request's is: from the settings, not the test's own (opened before)."""
    wrapper = connections.create_connection("default")
    if settings_dict is not None:
        wrapper = type(wrapper)({**wrapper.settings_dict, **settings_dict}, "default")
    return wrapper


@on_postgresql
@pytest.mark.django_db
def test_a_web_requests_connection_has_the_short_timeout_and_a_longer_statement_is_cancelled(monkeypatch):
    web = _fresh_connection()
    try:
        assert _timeout_ms(web) == settings.DB_STATEMENT_TIMEOUT_MS
    finally:
        web.close()

    monkeypatch.setattr(base, "DB_STATEMENT_TIMEOUT_MS", 200)
    configured = base.database_settings(os.environ["DATABASE_URL"])["default"]
    quick = _fresh_connection({"OPTIONS": configured["OPTIONS"]})
    try:
        assert _timeout_ms(quick) == 200
        with pytest.raises(OperationalError, match="statement timeout"), quick.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(2)")
    finally:
        quick.close()


@on_postgresql
@pytest.mark.django_db(transaction=True)  # the worker's set-up closes the connections it changes
def test_a_celery_workers_connections_have_the_tasks_longer_timeout():
    options = connection.settings_dict["OPTIONS"]
    saved = options["options"]
    try:
        use_task_statement_timeout()
        assert _timeout_ms(connection) == settings.DB_TASK_STATEMENT_TIMEOUT_MS
        assert _timeout_ms(_fresh_connection()) == settings.DB_TASK_STATEMENT_TIMEOUT_MS
    finally:
        options["options"] = saved
        connection.close()
    assert _timeout_ms(connection) == settings.DB_STATEMENT_TIMEOUT_MS
