"""A corrected emission factor reaches every measure that uses it even when the task sent to recompute them is lost (the
queue down when it was sent, a worker killed): the correction leaves a mark in its own transaction, and the periodic
sweep (celery beat's rollup-pending-sweep) recomputes what is still marked once a task has had time to take it."""

import datetime
import logging
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from ecopark.celery import app
from measures import services
from measures.models import EmissionFactor, ExchangeRate, Measure
from reports import tasks
from reports.models import FiguresPending, RollupRun
from reports.tasks import rollup_pending
from tests.ecopark.test_degrade import needs_redis_server, own_redis  # noqa: F401 (the fixture)
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = pytest.mark.django_db

REDELIVERY = datetime.timedelta(seconds=app.conf.broker_transport_options["visibility_timeout"])


def _a_measure_using(factor: EmissionFactor) -> Measure:
    return (
        Measure.objects.filter(co2e_trail__factor=factor, co2e_entered_t__isnull=True).order_by("pk").distinct().first()
    )


def _correct(factor: EmissionFactor, value: str) -> None:
    with transaction.atomic():  # as the admin saves it
        factor.value = Decimal(value)
        factor.save()


def _later() -> None:
    """As if the broker's redelivery time had passed since the correction: a task sent for it would have run."""
    FiguresPending.objects.update(marked_at=timezone.now() - REDELIVERY - datetime.timedelta(minutes=1))


def _uses(measure: Measure, value: str) -> bool:
    measure.refresh_from_db()
    return measure.co2e_trail.get(resource__code="electricity").factor_value == Decimal(value)


def test_a_lost_recompute_is_caught_up_by_the_sweep(django_capture_on_commit_callbacks):
    factor = EmissionFactor.objects.get(resource__code="electricity", year=2022)
    measure = _a_measure_using(factor)
    old = measure.co2e_t
    with django_capture_on_commit_callbacks(execute=False) as sent:  # the task is sent, and lost
        _correct(factor, "0.7100")
    assert sent  # it was asked for
    assert FiguresPending.objects.filter(resource_id=factor.resource_id).exists()
    assert not _uses(measure, "0.7100") and measure.co2e_t == old

    rollup_pending()  # the sweep, soon after: the task may still be on its way, so it is left to it
    assert FiguresPending.objects.exists() and not _uses(measure, "0.7100")

    _later()
    rollup_pending()  # the sweep, once the task would have run: it did not, so the sweep does its work
    assert _uses(measure, "0.7100") and measure.co2e_t != old
    assert not FiguresPending.objects.exists()
    assert differences(from_scratch(), table_now()) == []
    assert "emission factor changed" in RollupRun.objects.filter(mode="full").order_by("-finished_at")[0].reason


def test_a_correction_arriving_during_a_recompute_is_not_lost(django_capture_on_commit_callbacks, monkeypatch):
    factor = EmissionFactor.objects.get(resource__code="electricity", year=2022)
    measure = _a_measure_using(factor)
    with django_capture_on_commit_callbacks(execute=False):
        _correct(factor, "0.7100")
    real_recompute = services.figures_recompute

    def recompute_while_corrected_again(measures):
        done = real_recompute(measures)
        with django_capture_on_commit_callbacks(execute=False):
            _correct(factor, "0.7200")  # saved by an administrator while the run works with 0.71
        return done

    monkeypatch.setattr(services, "figures_recompute", recompute_while_corrected_again)
    tasks.recompute_pending_figures()
    monkeypatch.undo()
    assert _uses(measure, "0.7100")
    assert "0.7200" in FiguresPending.objects.get().reason  # kept for the next run
    tasks.recompute_pending_figures()
    assert _uses(measure, "0.7200") and not FiguresPending.objects.exists()


def test_a_corrected_exchange_rate_is_caught_up_as_well(django_capture_on_commit_callbacks):
    rate = ExchangeRate.objects.filter(currency="USD").order_by("-year").first()
    measure = Measure.objects.filter(cost_currency="USD", estimate_year=rate.year).exclude(annual_cost_saving=None)[0]
    with django_capture_on_commit_callbacks(execute=False), transaction.atomic():
        rate.vnd_per_unit = rate.vnd_per_unit * 2
        rate.save()
    _later()
    rollup_pending()
    before = measure.cost_vnd
    measure.refresh_from_db()
    assert measure.cost_vnd == (measure.annual_cost_saving * rate.vnd_per_unit).quantize(Decimal(1)) != before
    assert not FiguresPending.objects.exists()


@needs_redis_server
def test_with_the_queue_down_at_the_correction_the_sweep_recomputes_once_it_is_back(
    own_redis,  # noqa: F811
    django_capture_on_commit_callbacks,
    caplog,
):
    factor = EmissionFactor.objects.get(resource__code="electricity", year=2022)
    measure = _a_measure_using(factor)
    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="reports.tasks")
    with django_capture_on_commit_callbacks(execute=True):  # the send fails: the correction is saved all the same
        _correct(factor, "0.7300")
    assert any("recomputing the figures" in r.getMessage() for r in caplog.records if r.name == "reports.tasks")
    assert EmissionFactor.objects.get(pk=factor.pk).value == Decimal("0.7300")
    assert not _uses(measure, "0.7300")

    own_redis.start()
    _later()
    rollup_pending()  # beat's rollup-pending-sweep, once Redis is back
    assert _uses(measure, "0.7300") and not FiguresPending.objects.exists()
    assert differences(from_scratch(), table_now()) == []
