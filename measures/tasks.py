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
