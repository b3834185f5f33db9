"""When an emission factor or exchange rate is corrected, the figures that used it are recomputed after commit.

The correction leaves a mark (FiguresPending) in its own transaction; the task sent after the commit does the work and
removes it. A task that is lost (the queue down when it was sent, a worker killed) leaves the mark for the periodic
sweep (`rollup_pending`), so the figures never stay on the old value.
"""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone

from ecopark.counts import bump_count_version
from measures.models import EmissionFactor, ExchangeRate, Measure
from reports.models import FiguresPending
from reports.tasks import enqueue, recompute_pending_figures


@receiver([post_save, post_delete], sender=EmissionFactor, dispatch_uid="reports.factor_changed")
def factor_changed(sender, instance: EmissionFactor, **kwargs) -> None:
    _mark(f"resource:{instance.resource_id}", instance.resource_id, f"emission factor changed: {instance}")


@receiver([post_save, post_delete], sender=ExchangeRate, dispatch_uid="reports.rate_changed")
def rate_changed(sender, instance: ExchangeRate, **kwargs) -> None:
    _mark("rates", None, f"exchange rate changed: {instance}")


def _mark(key: str, resource_id: int | None, reason: str) -> None:
    """Record, in the caller's transaction, that these figures are to be recomputed; ask for it after the commit. A
    mark already there is moved to now (a run that read it before keeps it for the next run)."""
    FiguresPending.objects.bulk_create(
        [FiguresPending(key=key, resource_id=resource_id, reason=reason[:300], marked_at=timezone.now())],
        update_conflicts=True,
        unique_fields=["key"],
        update_fields=["reason", "marked_at"],
    )
    what = f"recomputing the figures after the {reason} (the periodic sweep does it later)"
    transaction.on_commit(lambda: enqueue(recompute_pending_figures, what))


@receiver([post_save, post_delete], sender=Measure, dispatch_uid="reports.measure_written")
def measure_written(sender, instance: Measure, **kwargs) -> None:
    """Counts of measure lists kept in the cache are forgotten on any write (bulk writers do it themselves)."""
    bump_count_version(Measure._meta.db_table)
