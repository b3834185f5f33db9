"""Management commands are not cut off at the web requests' statement timeout: `migrate` or a roll-up rebuild at a
million measures runs statements longer than 30 s, and nobody waits on them through a proxy. They get the tasks'
timeout (DB_COMMAND_STATEMENT_TIMEOUT_MS, by default DB_TASK_STATEMENT_TIMEOUT_MS); web processes keep theirs."""

import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connection

from ecopark.settings import base

on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="statement timeouts are PostgreSQL's")
MANAGE = str(settings.BASE_DIR / "manage.py")


@pytest.mark.parametrize(
    ("argv", "timeout"),
    [
        (["manage.py", "migrate"], "command"),
        (["/app/manage.py", "rollup_rebuild", "--figures"], "command"),
        ([".venv/bin/django-admin", "load_demo"], "command"),
        (["/usr/lib/python3/site-packages/django/__main__.py", "migrate"], "command"),
        (["manage.py", "runserver", "8000"], "web"),  # serves web requests
        (["/usr/local/bin/gunicorn", "ecopark.wsgi"], "web"),
        (["/usr/local/bin/celery", "-A", "ecopark", "worker"], "web"),  # raised on start (ecopark.celery)
        (["manage.py"], "web"),
    ],
)
def test_the_statement_timeout_follows_the_kind_of_process(argv, timeout):
    expected = settings.DB_COMMAND_STATEMENT_TIMEOUT_MS if timeout == "command" else settings.DB_STATEMENT_TIMEOUT_MS
    assert base.statement_timeout_ms(argv) == expected
    options = base.database_settings("postgres://u:p@db:5432/ecopark")["default"]["OPTIONS"]["options"]
    assert options == f"-c statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}"  # this process: the tests', a web one


def test_a_command_gets_the_tasks_timeout_unless_told_otherwise():
    assert settings.DB_COMMAND_STATEMENT_TIMEOUT_MS == settings.DB_TASK_STATEMENT_TIMEOUT_MS
    assert settings.DB_COMMAND_STATEMENT_TIMEOUT_MS > settings.DB_STATEMENT_TIMEOUT_MS


def _manage_shell(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, MANAGE, "shell", "-c", code],
        env={**os.environ, "DATABASE_URL": os.environ["DATABASE_URL"], **env},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=settings.BASE_DIR,
    )


SLOW = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute("SELECT pg_sleep(0.5)")
    cursor.execute("SHOW statement_timeout")
    print(cursor.fetchone()[0])
"""


@on_postgresql
def test_a_management_command_runs_a_statement_longer_than_the_web_timeout():
    """Before: every command inherited the web's timeout, and a 0.5 s statement under a 200 ms one was cancelled."""
    done = _manage_shell(SLOW, DB_STATEMENT_TIMEOUT_MS="200", DB_TASK_STATEMENT_TIMEOUT_MS="60000")
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "1min"
    own = _manage_shell(SLOW, DB_STATEMENT_TIMEOUT_MS="200", DB_COMMAND_STATEMENT_TIMEOUT_MS="0")
    assert own.returncode == 0, own.stderr[-2000:]
    assert own.stdout.strip().splitlines()[-1] == "0"  # an operator's choice for a long migration: none
    cut = _manage_shell(SLOW, DB_STATEMENT_TIMEOUT_MS="200", DB_COMMAND_STATEMENT_TIMEOUT_MS="200")
    assert cut.returncode != 0 and "statement timeout" in cut.stderr
