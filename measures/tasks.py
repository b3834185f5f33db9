"""Celery tasks of the register: small, idempotent, taking ids and calling a service."""

from celery import shared_task
from django.db import OperationalError

from measures.models import Measure
from measures.services import figures_recompute


@shared_task(
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    retry_backoff_max=60,
    max_retries=5,
    acks_late=True,
)
def recompute_measure_co2e(measure_ids: list[int]) -> int:
    """Recompute the CO2e of these measures from their savings and the current factors; safe to run twice."""
    return figures_recompute(Measure.objects.filter(pk__in=measure_ids))


@shared_task(acks_late=True)
def import_check_task(job_id: int) -> str:
    """Check a large import (a preview: nothing is written). Delivered twice, the second finds it checked; an error
    ends the job as failed, with its message."""
    from measures.import_jobs import import_check

    return import_check(job_id).state


@shared_task(acks_late=True)
def import_commit_task(job_id: int) -> str:
    """Write a checked import, all rows or none. Delivered twice, the second finds it done; an error ends the job as
    failed, with its message."""
    from measures.import_jobs import import_commit

    return import_commit(job_id).state


@shared_task(acks_late=True)
def import_fail_abandoned_task() -> int:
    """The imports' periodic sweep: send the tasks of the jobs waiting for the queue (it could not be reached when
    they were uploaded or confirmed), then end the jobs left checking or importing past their time (a worker that
    died): failed, with the message, and their files removed. Safe to run at any time; returns how many it ended."""
    from measures.import_jobs import import_sweep

    _sent, ended = import_sweep()
    return ended
