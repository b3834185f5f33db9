"""Celery tasks that keep the roll-up current: small, idempotent, retried with backoff, enqueued after commit."""

import datetime
import logging

from celery import current_app, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerUnreachable

from reports.models import FiguresPending
from reports.services import RollupInconsistent, rollup_apply_pending, rollup_rebuild

logger = logging.getLogger(__name__)
SCHEDULED_KEY = "ecopark:rollup-scheduled"
RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_backoff_max": 120, "max_retries": 6}


def schedule_rollup() -> None:
    """Ask for an incremental roll-up soon; many changes within the debounce window make one run.

    Runs after a commit: when the broker cannot be reached the changes wait in RollupPending for the periodic sweep
    (`rollup-pending-sweep`), and the write, already saved, does not fail.
    """
    delay = settings.ROLLUP_DEBOUNCE_SECONDS
    if current_app.conf.task_always_eager:
        rollup_pending.delay()
    elif cache.add(SCHEDULED_KEY, 1, timeout=max(10, delay * 10)) and not enqueue(
        rollup_pending, "the roll-up (the periodic sweep applies the pending changes)", countdown=delay
    ):
        cache.delete(SCHEDULED_KEY)  # the next change tries again


def enqueue(task, what: str, *, kwargs: dict | None = None, **options) -> bool:
    """Send `task` after a commit, its result unread; False, logged, when the broker cannot be reached.

    Not reading the result matters: with Redis down, a call that may read it waits some twenty seconds for the result
    store before it fails.
    """
    try:
        task.apply_async(kwargs=kwargs, ignore_result=True, **options)
    except BrokerUnreachable as error:
        logger.warning("Not queued, the broker cannot be reached (%s): %s.", error, what)
        return False
    return True


@shared_task(**RETRY)
def rollup_pending() -> int:
    """Apply every pending measure change to the roll-up table; safe to run twice or concurrently."""
    cache.delete(SCHEDULED_KEY)  # changes from now on schedule a run of their own
    # Corrected factors or rates whose recompute was lost: recomputed, and the table rebuilt (pending changes with it).
    recompute_pending_figures(settled_only=True)
    applied = 0
    try:
        while batch := rollup_apply_pending():
            applied += batch
    except RollupInconsistent:
        logger.exception("roll-up table inconsistent with pending changes; rebuilding it")
        rollup_rebuild(reason="repair: the table did not match the pending changes")
        applied = max(applied, 1)
    if applied:
        warm_partner_disclosure()
    return applied


@shared_task(**RETRY)
def rollup_rebuild_all(reason: str = "nightly rebuild") -> int:
    """Rebuild the whole table from the measures (nightly, and after corrections that touch many measures)."""
    rows = rollup_rebuild(reason=reason)
    warm_partner_disclosure()
    return rows


@shared_task(**RETRY)
def warm_partner_disclosure() -> int:
    """Decide, once the table has changed, which cells partners may not read the money of, and keep the decision in
    the cache (`reports.disclosure.withheld_for_partners`): at a million measures it takes seconds, which the worker
    spends here rather than the first partner to ask after a run. Returns the number of withheld cells."""
    from reports.disclosure import withheld_for_partners

    return len(withheld_for_partners())


@shared_task(**RETRY)
def recompute_pending_figures(*, settled_only: bool = False) -> int:
    """Recompute the figures of the measures that corrected factors or rates touch (their FiguresPending marks), then
    rebuild the roll-up; each mark goes once done, unless a newer correction moved it meanwhile (the next run does
    that one). Safe to run twice or at once. `settled_only`: only marks that a task sent for them has had time to
    take (the sweep's case: the broker's redelivery time), so the sweep does not repeat a run still under way."""
    from measures.models import Measure
    from measures.services import figures_recompute

    marks = FiguresPending.objects.all()
    if settled_only:
        marks = marks.filter(marked_at__lt=timezone.now() - datetime.timedelta(seconds=_redelivery_seconds()))
    marks = list(marks)
    if not marks:
        return 0
    count = 0
    for mark in marks:
        if mark.resource_id is not None:
            measures = Measure.objects.filter(savings__resource_id=mark.resource_id).distinct()
        else:
            measures = Measure.objects.exclude(annual_cost_saving=None)
        count += figures_recompute(measures)
    rollup_rebuild(reason="; ".join(mark.reason for mark in marks)[:300])
    for mark in marks:
        FiguresPending.objects.filter(key=mark.key, marked_at=mark.marked_at).delete()
    warm_partner_disclosure()
    return count


def _redelivery_seconds() -> int:
    return current_app.conf.broker_transport_options.get("visibility_timeout", 3600)


@shared_task(**RETRY)
def recompute_after_reference_change(*, resource_id: int | None = None, currency: bool = False, reason: str) -> int:
    """The task sent before corrections left marks (a message still queued from then): the same work."""
    key = f"resource:{resource_id}" if resource_id is not None else "rates"
    FiguresPending.objects.get_or_create(
        key=key, defaults={"resource_id": resource_id, "reason": reason[:300], "marked_at": timezone.now()}
    )
    return recompute_pending_figures()
