"""Shared fixtures: the demo programme, loaded once per test session, and its users."""

import os

import pytest
from django.contrib.auth import get_user_model

from ecopark.demo import load_demo

# Playwright's sync API leaves an event loop running in the test thread for the rest of the session; the ORM calls
# of the tests themselves stay synchronous, so Django's async guard would be a false alarm here (tests only).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """Every test database starts with the demo programme (places, 68 enterprises, 674 measures, one user per role)."""
    with django_db_blocker.unblock():
        load_demo(with_users=True)


@pytest.fixture
def eager_tasks():
    """Run Celery tasks in-process for this test, even when a broker is configured (REDIS_URL)."""
    from ecopark.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture
def reference_data(transactional_db):
    """For transactional tests (which start from an emptied database): the rows the data migrations load."""
    import importlib

    from django.apps import apps

    from ecopark.roles import ensure_role_groups

    for module in (
        "measures.migrations.0002_reference_data",
        "reports.migrations.0002_programme_targets",
        "reports.migrations.0005_eip_criteria_data",
    ):
        importlib.import_module(module).load(apps, None)
    ensure_role_groups()


@pytest.fixture
def staff_user(db):
    return get_user_model().objects.get(username="staff")


@pytest.fixture
def manager_user(db):
    return get_user_model().objects.get(username="manager.deepc")


@pytest.fixture
def partner_user(db):
    return get_user_model().objects.get(username="partner")


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.get(username="admin")


@pytest.fixture
def staff_client(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def manager_client(client, manager_user):
    client.force_login(manager_user)
    return client


@pytest.fixture(scope="session", autouse=True)
def _media_in_a_temporary_folder(tmp_path_factory):
    """Uploaded evidence goes to a folder of the test session, never to the developer's var/media."""
    from django.conf import settings

    settings.MEDIA_ROOT = str(tmp_path_factory.mktemp("media"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with an empty cache: counts kept under a version that a rolled-back test bumped (commits never
    happen in a test) would otherwise outlive the rows they counted."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
