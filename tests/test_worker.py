"""A real Celery worker, consuming from Redis and writing to the database, does the work of a task."""

from decimal import Decimal

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings

from ecopark.celery import app
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create
from measures.tasks import recompute_measure_co2e
from tests.factories import EnterpriseFactory, recp_measure

pytestmark = [
    pytest.mark.worker,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL: a real broker for a real worker"),
]


@pytest.mark.django_db(transaction=True)
def test_a_worker_recomputes_co2e_in_the_database(reference_data):
    measure = measure_create(
        measure=recp_measure(EnterpriseFactory(), estimate_year=2022),
        savings=[SavingInput(Resource.objects.get(code="electricity"), Decimal(1_000_000), "kWh")],
    )
    Measure.objects.filter(pk=measure.pk).update(co2e_t=0, co2e_computed_t=0)
    assert not app.conf.task_always_eager
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        first = recompute_measure_co2e.delay([measure.pk]).get(timeout=30)
        second = recompute_measure_co2e.delay([measure.pk]).get(timeout=30)  # running twice gives the same result
    measure.refresh_from_db()
    assert (first, second) == (1, 1)
    assert measure.co2e_t == Decimal("676.600")
    assert measure.co2e_trail.count() == 1
