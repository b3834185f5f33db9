"""With Redis stopped, reads are served from the database and writes catch up later: never a 500.

Each test starts a Redis of its own (the shared one of the suite is never stopped), points the cache and the Celery
broker at it with the settings production builds (`redis_settings`), and stops it.
"""

import contextlib
import logging
import os
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.test import override_settings

from ecopark import cache as ecopark_cache
from ecopark.api.authentication import cache_key
from ecopark.api.throttling import KeyRateThrottle
from ecopark.celery import app
from ecopark.roles import Role
from ecopark.settings.base import redis_settings
from measures.models import Measure
from reports.models import RollupPending
from reports.tasks import rollup_pending
from tests.api.conftest import key_client
from tests.api.test_measures import new_recp
from tests.factories import EnterpriseFactory
from tests.reports.scratch import differences, from_scratch, table_now

REDIS_SERVER = shutil.which("redis-server")
needs_redis_server = pytest.mark.skipif(
    REDIS_SERVER is None, reason="needs the redis-server binary, to start and stop a Redis of its own (CI installs it)"
)
MEASURES = "/api/v1/measures/"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class OwnRedis:
    """A Redis server on a free port, without persistence, that the test stops, pauses and starts again."""

    def __init__(self):
        self.url = f"redis://127.0.0.1:{_free_port()}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        port = self.url.rsplit(":", 1)[1].split("/")[0]
        command = [REDIS_SERVER, "--bind", "127.0.0.1", "--port", port, "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        while True:
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    break
            assert time.monotonic() < deadline, "the test's Redis did not start"
            time.sleep(0.05)
        client.close()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    @contextlib.contextmanager
    def paused(self):
        """Redis hangs (it keeps its data but answers nothing), as when its machine is overloaded or unreachable."""
        os.kill(self.process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.process.pid, signal.SIGCONT)


def _celery_connections_forgotten() -> None:
    """Celery keeps its broker connections and result backend per app: forget them when the URLs change."""
    app._pool = None
    app.amqp._producer_pool = None
    app._backend_cache = None
    with contextlib.suppress(AttributeError):
        del app._local.backend


@pytest.fixture
def own_redis(monkeypatch):
    """The cache and the broker on a Redis of the test's own, as production configures them (REDIS_URL)."""
    server = OwnRedis()
    server.start()
    monkeypatch.setattr(ecopark_cache, "RETRY_AFTER_SECONDS", 0.2)  # the tests wait for a retry, not production
    saved = app.conf.task_always_eager
    with override_settings(**redis_settings(server.url)):
        app.conf.task_always_eager = False
        _celery_connections_forgotten()
        try:
            yield server
        finally:
            app.conf.task_always_eager = saved
            _celery_connections_forgotten()
            server.stop()


def _outage_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "ecopark.cache" and r.levelno == logging.WARNING]


@needs_redis_server
@pytest.mark.django_db
def test_with_redis_stopped_api_and_page_reads_answer_from_the_database(own_redis, partner_user, staff_client, caplog):
    api = key_client(partner_user)
    assert api.get(MEASURES).status_code == 200  # the key is now kept in Redis
    assert cache.get(cache_key(api.api_key.prefix)) is not None
    own_redis.stop()
    caplog.set_level(logging.INFO, logger="ecopark.cache")
    for _ in range(3):
        response = api.get(MEASURES)
        assert response.status_code == 200
        assert response.json()["count"] == Measure.objects.count()
    assert api.get("/api/v1/parks/").status_code == 200
    for page in ("/", "/measures/", "/parks/"):
        assert staff_client.get(page).status_code == 200, page
    assert len(_outage_warnings(caplog)) == 1  # said once, not once per request


@needs_redis_server
@pytest.mark.django_db
def test_with_redis_stopped_the_throttle_still_counts_in_the_process(own_redis, partner_user, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "timer", lambda self: 6_000_030.0)  # the minute does not turn meanwhile
    api = key_client(partner_user, requests_per_minute=2)
    own_redis.stop()
    assert [api.get("/api/v1/parks/").status_code for _ in range(3)] == [200, 200, 429]


@needs_redis_server
@pytest.mark.django_db
def test_the_cache_serves_again_once_redis_is_back(own_redis, partner_user):
    api = key_client(partner_user)
    own_redis.stop()
    assert api.get("/api/v1/parks/").status_code == 200
    cache.set("degrade:probe", 1)
    assert cache.get("degrade:probe") is None
    own_redis.start()
    time.sleep(0.3)  # past the wait between attempts
    assert api.get("/api/v1/parks/").status_code == 200
    assert cache.get(cache_key(api.api_key.prefix)) is not None  # the key is kept in Redis again
    cache.set("degrade:probe", 2)
    assert cache.get("degrade:probe") == 2


@needs_redis_server
@pytest.mark.django_db
def test_a_count_written_while_redis_hung_is_not_read_stale_when_it_answers_again(own_redis, staff_user):
    staff_api = key_client(staff_user)
    quick = {**settings.CACHES["default"], "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2}}
    with override_settings(CACHES={"default": quick}):
        _a_count_written_while_redis_hung(own_redis, staff_api)


def _a_count_written_while_redis_hung(own_redis, staff_api):
    before = staff_api.get(MEASURES).json()["count"]  # counted, and the count kept in Redis
    with own_redis.paused():  # Redis keeps the count and the version it was kept under, but cannot hear of the write
        assert staff_api.post(MEASURES, new_recp(), format="json").status_code == 201
        assert staff_api.get(MEASURES).json()["count"] == before + 1
    time.sleep(0.3)
    assert staff_api.get(MEASURES).json()["count"] == before + 1


def _staff_key_client():
    user = get_user_model().objects.create_user("degrade.staff", password="not-used-here-1")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    return key_client(user)


@needs_redis_server
@pytest.mark.django_db(transaction=True)
def test_with_redis_stopped_a_write_succeeds_and_the_roll_up_catches_up_when_it_is_back(reference_data, own_redis):
    api = _staff_key_client()
    enterprise = EnterpriseFactory()
    own_redis.stop()
    response = api.post(MEASURES, new_recp(enterprise=enterprise.code), format="json")
    assert response.status_code == 201, response.content
    assert RollupPending.objects.filter(measure_id=response.json()["id"]).exists()  # to be rolled up later
    own_redis.start()
    time.sleep(0.3)
    rollup_pending()  # what the periodic sweep (celery beat: rollup-pending-sweep) runs
    assert not RollupPending.objects.exists()
    assert differences(from_scratch(), table_now()) == []


@needs_redis_server
@pytest.mark.django_db(transaction=True)
def test_with_the_broker_down_and_the_cache_up_a_write_succeeds_and_waits_for_the_sweep(
    reference_data, own_redis, caplog
):
    api = _staff_key_client()
    enterprise = EnterpriseFactory()
    own_redis.stop()
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}):
        caplog.set_level(logging.WARNING, logger="reports.tasks")
        started = time.monotonic()
        response = api.post(MEASURES, new_recp(enterprise=enterprise.code), format="json")
        assert response.status_code == 201, response.content
        assert time.monotonic() - started < 5  # the broker is not waited for long
        assert any("roll-up" in r.getMessage() for r in caplog.records if r.name == "reports.tasks")
        assert RollupPending.objects.filter(measure_id=response.json()["id"]).exists()
    own_redis.start()
    rollup_pending()
    assert differences(from_scratch(), table_now()) == []
