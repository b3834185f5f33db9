"""With the real components: a Celery worker on Redis keeps the roll-up current, and concurrent roll-ups agree."""

import threading
import time
from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache
from django.db import connection, connections

from ecopark.celery import app
from measures.models import Resource
from measures.services import SavingInput, measure_create
from reports.models import RollupPending, RollupRow
from reports.selectors import totals_for_parks
from reports.services import rollup_rebuild
from reports.tasks import SCHEDULED_KEY, rollup_pending
from tests.factories import EnterpriseFactory, recp_measure
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: a real broker for a real worker"),
    pytest.mark.django_db(transaction=True),
]


def _create(enterprise, kwh: int):
    return measure_create(
        measure=recp_measure(enterprise, estimate_year=2022),
        savings=[SavingInput(Resource.objects.get(code="electricity"), Decimal(kwh), "kWh")],
    )


def _wait_until_applied(timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while RollupPending.objects.exists():
        assert time.monotonic() < deadline, "the worker did not apply the pending changes in time"
        time.sleep(0.2)


def test_a_saved_measure_reaches_the_park_and_programme_rows_through_the_worker(reference_data, settings):
    settings.ROLLUP_DEBOUNCE_SECONDS = 0
    cache.delete(SCHEDULED_KEY)
    enterprise = EnterpriseFactory()
    programme_before = totals_for_parks(None).stages["potential"].electricity_kwh
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        _create(enterprise, 1_000_000)
        _wait_until_applied()
        park = totals_for_parks([enterprise.park_id]).stages["potential"]
        assert (park.electricity_kwh, park.co2e_t, park.measure_count) == (Decimal(1_000_000), Decimal("676.6"), 1)
        assert totals_for_parks(None).stages["potential"].electricity_kwh == programme_before + 1_000_000

        settled = table_now()
        first, second = rollup_pending.delay(), rollup_pending.delay()
        assert (first.get(timeout=30), second.get(timeout=30)) == (0, 0)  # nothing left to apply, twice
    assert table_now() == settled
    assert differences(from_scratch(), settled) == []


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_two_roll_ups_at_once_neither_double_count_nor_deadlock(reference_data):
    enterprise = EnterpriseFactory()
    for kwh in range(1000, 21000, 1000):
        _create(enterprise, kwh)  # 20 pending changes; no worker runs, so they wait
    assert RollupPending.objects.count() >= 20
    errors: list[BaseException] = []

    def run(job):
        try:
            job()
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()

    jobs = [rollup_pending, rollup_pending, lambda: rollup_rebuild(reason="concurrency test"), rollup_pending]
    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert not RollupPending.objects.exists()
    assert differences(from_scratch(), table_now()) == []
    park = RollupRow.objects.get(
        level="park", scope_id=enterprise.park_id, kind="all", technique="", stage="potential", year=0
    )
    assert (park.electricity_kwh, park.measure_count) == (Decimal(sum(range(1000, 21000, 1000))), 20)
