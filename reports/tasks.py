"""Celery tasks that keep the roll-up current: small, idempotent, retried with backoff, enqueued after commit."""

import logging

from celery import current_app, shared_task
from django.conf import settings
from django.core.cache import cache
from django.db import OperationalError
from kombu.exceptions import OperationalError as BrokerUnreachable

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
    applied = 0
    try:
        while batch := rollup_apply_pending():
            applied += batch
    except RollupInconsistent:
        logger.exception("roll-up table inconsistent with pending changes; rebuilding it")
        rollup_rebuild(reason="repair: the table did not match the pending changes")
    return applied


@shared_task(**RETRY)
def rollup_rebuild_all(reason: str = "nightly rebuild") -> int:
    """Rebuild the whole table from the measures (nightly, and after corrections that touch many measures)."""
    return rollup_rebuild(reason=reason)


@shared_task(**RETRY)
def recompute_after_reference_change(*, resource_id: int | None = None, currency: bool = False, reason: str) -> int:
    """A factor or rate was corrected: recompute the figures of the measures it touches, then the roll-up."""
    from measures.models import Measure
    from measures.services import figures_recompute

    measures = Measure.objects.all()
    if resource_id is not None:
        measures = measures.filter(savings__resource_id=resource_id).distinct()
    elif currency:
        measures = measures.exclude(annual_cost_saving=None)
    count = figures_recompute(measures)
    rollup_rebuild(reason=reason)
    return count
