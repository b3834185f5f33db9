"""When an emission factor or exchange rate is corrected, the figures that used it are recomputed after commit."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ecopark.counts import bump_count_version
from measures.models import EmissionFactor, ExchangeRate, Measure
from reports.tasks import enqueue, recompute_after_reference_change


@receiver([post_save, post_delete], sender=EmissionFactor, dispatch_uid="reports.factor_changed")
def factor_changed(sender, instance: EmissionFactor, **kwargs) -> None:
    reason = f"emission factor changed: {instance}"
    transaction.on_commit(lambda: _recompute(reason, resource_id=instance.resource_id))


@receiver([post_save, post_delete], sender=ExchangeRate, dispatch_uid="reports.rate_changed")
def rate_changed(sender, instance: ExchangeRate, **kwargs) -> None:
    reason = f"exchange rate changed: {instance}"
    transaction.on_commit(lambda: _recompute(reason, currency=True))


def _recompute(reason: str, **changed) -> None:
    what = f"recomputing the figures after the {reason} (they keep their old values until it is saved again)"
    enqueue(recompute_after_reference_change, what, kwargs={**changed, "reason": reason[:300]})


@receiver([post_save, post_delete], sender=Measure, dispatch_uid="reports.measure_written")
def measure_written(sender, instance: Measure, **kwargs) -> None:
    """Counts of measure lists kept in the cache are forgotten on any write (bulk writers do it themselves)."""
    bump_count_version(Measure._meta.db_table)
