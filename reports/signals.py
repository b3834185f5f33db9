"""When an emission factor or exchange rate is corrected, the figures that used it are recomputed after commit."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ecopark.counts import bump_count_version
from measures.models import EmissionFactor, ExchangeRate, Measure
from reports.tasks import recompute_after_reference_change


@receiver([post_save, post_delete], sender=EmissionFactor, dispatch_uid="reports.factor_changed")
def factor_changed(sender, instance: EmissionFactor, **kwargs) -> None:
    reason = f"emission factor changed: {instance}"
    transaction.on_commit(
        lambda: recompute_after_reference_change.delay(resource_id=instance.resource_id, reason=reason[:300])
    )


@receiver([post_save, post_delete], sender=ExchangeRate, dispatch_uid="reports.rate_changed")
def rate_changed(sender, instance: ExchangeRate, **kwargs) -> None:
    reason = f"exchange rate changed: {instance}"
    transaction.on_commit(lambda: recompute_after_reference_change.delay(currency=True, reason=reason[:300]))


@receiver([post_save, post_delete], sender=Measure, dispatch_uid="reports.measure_written")
def measure_written(sender, instance: Measure, **kwargs) -> None:
    """Counts of measure lists kept in the cache are forgotten on any write (bulk writers do it themselves)."""
    bump_count_version(Measure._meta.db_table)
