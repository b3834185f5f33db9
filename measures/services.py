"""Writes to the measure register: creation with savings and flows, status transitions, and CO2e.

CO2e is computed here and nowhere else (`co2e_recompute`).
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.units import UnitError, convert

Status = Measure.Status

# The lifecycle: each live status may move to the next one, or be closed with a reason.
NEXT_STATUS: dict[str, str] = {
    Status.IDENTIFIED: Status.PROPOSED,
    Status.PROPOSED: Status.ACCEPTED,
    Status.ACCEPTED: Status.IMPLEMENTED,
    Status.IMPLEMENTED: Status.VERIFIED,
}
CO2E_PLACES = Decimal("0.001")


def allowed_transitions(status: str) -> list[str]:
    """The statuses a measure in `status` may move to."""
    if status in Measure.CLOSED_STATUSES:
        return []
    nexts = [NEXT_STATUS[status]] if status in NEXT_STATUS else []
    return [*nexts, Status.REJECTED, Status.WITHDRAWN]


@dataclass(frozen=True)
class SavingInput:
    """An estimated annual saving as entered: resource, quantity and unit (and the verified value, if measured)."""

    resource: Resource
    quantity: Decimal
    unit: str
    verified_quantity: Decimal | None = None


@dataclass(frozen=True)
class FlowInput:
    """A resource flow of a symbiosis exchange as entered."""

    resource: Resource
    quantity: Decimal
    unit: str
    direction: str = ResourceFlow.Direction.FORWARD


def to_canonical(resource: Resource, quantity: Decimal, unit: str) -> Decimal:
    """The quantity in the resource's canonical unit; a unit that does not fit the resource is a ValidationError."""
    try:
        return convert(quantity, unit, resource.canonical_unit, density_t_per_m3=resource.density_t_per_m3)
    except UnitError as exc:
        raise ValidationError(
            _("%(resource)s: %(error)s") % {"resource": resource.name, "error": exc}, code="unit"
        ) from exc


def saving_line(measure: Measure, line: SavingInput) -> MeasureSaving:
    """An unsaved saving row for the measure, validated and converted to the canonical unit."""
    if line.quantity < 0 and not line.resource.allows_negative_saving:
        raise ValidationError(
            _("%(resource)s: a saving cannot be negative.") % {"resource": line.resource.name}, code="negative"
        )
    verified = line.verified_quantity
    return MeasureSaving(
        measure=measure,
        resource=line.resource,
        quantity=line.quantity,
        unit=line.unit,
        quantity_canonical=to_canonical(line.resource, line.quantity, line.unit),
        verified_quantity=verified,
        verified_quantity_canonical=None if verified is None else to_canonical(line.resource, verified, line.unit),
    )


def flow_line(measure: Measure, line: FlowInput) -> ResourceFlow:
    """An unsaved flow row for the measure, validated and converted to the canonical unit."""
    if line.quantity <= 0:
        raise ValidationError(
            _("%(resource)s: an exchanged quantity must be greater than zero.") % {"resource": line.resource.name},
            code="not_positive",
        )
    return ResourceFlow(
        measure=measure,
        resource=line.resource,
        quantity=line.quantity,
        unit=line.unit,
        quantity_canonical=to_canonical(line.resource, line.quantity, line.unit),
        direction=line.direction,
    )


def _check_shape(measure: Measure) -> None:
    """The park a measure counts in follows its enterprise for RECP; both kinds pass model validation."""
    if measure.kind == Measure.Kind.RECP and measure.enterprise_id is not None:
        measure.park_id = measure.enterprise.park_id
    measure.full_clean()


def _check_unique_resources(lines: Iterable[SavingInput]) -> None:
    seen: set[int] = set()
    for line in lines:
        if line.resource.pk in seen:
            raise ValidationError(
                _("%(resource)s appears twice among the savings.") % {"resource": line.resource.name}, code="duplicate"
            )
        seen.add(line.resource.pk)


@transaction.atomic
def measure_create(
    *,
    measure: Measure,
    savings: list[SavingInput],
    flows: list[FlowInput] | None = None,
    created_by=None,
) -> Measure:
    """Validate and save a new measure with its savings and flows, record its first status and compute its CO2e."""
    flows = flows or []
    if flows and measure.kind != Measure.Kind.IS:
        raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
    _check_unique_resources(savings)
    measure.created_by = created_by
    _check_shape(measure)
    measure.save()
    MeasureSaving.objects.bulk_create([saving_line(measure, line) for line in savings])
    ResourceFlow.objects.bulk_create([flow_line(measure, line) for line in flows])
    StatusChange.objects.create(
        measure=measure,
        from_status="",
        to_status=measure.status,
        changed_by=created_by,
        effective_on=measure.identified_on,
        reason=measure.status_reason,
    )
    co2e_recompute(Measure.objects.filter(pk=measure.pk))
    measure.refresh_from_db()
    return measure


@transaction.atomic
def measure_transition(
    *,
    measure: Measure,
    to_status: str,
    changed_by,
    effective_on: datetime.date,
    reason: str = "",
) -> StatusChange:
    """Move a measure along its lifecycle, recording who, when and why; refuse a step the lifecycle does not allow."""
    measure = Measure.objects.select_for_update().get(pk=measure.pk)
    if to_status not in allowed_transitions(measure.status):
        raise ValidationError(
            _("A measure that is %(from)s cannot become %(to)s.")
            % {"from": Status(measure.status).label, "to": Status(to_status).label},
            code="transition",
        )
    reason = reason.strip()
    if to_status in Measure.CLOSED_STATUSES and not reason:
        raise ValidationError(_("Give the reason for rejecting or withdrawing the measure."), code="reason")
    if effective_on < measure.identified_on:
        raise ValidationError(_("The date cannot be before the measure was identified."), code="date")
    change = StatusChange.objects.create(
        measure=measure,
        from_status=measure.status,
        to_status=to_status,
        changed_by=changed_by,
        effective_on=effective_on,
        reason=reason,
    )
    measure.status = to_status
    measure.status_reason = reason
    if to_status == Status.IMPLEMENTED:
        measure.implemented_on = effective_on
    elif to_status == Status.VERIFIED:
        measure.verified_on = effective_on
    measure.version += 1
    measure.save(update_fields=["status", "status_reason", "implemented_on", "verified_on", "version", "updated_at"])
    if to_status == Status.IMPLEMENTED:
        # The reference year of the grid factor is now the implementation year.
        co2e_recompute(Measure.objects.filter(pk=measure.pk))
    return change


def reference_year(measure: Measure) -> int:
    """The year whose factors apply: the implementation year, or the estimate's year while not implemented."""
    return measure.implemented_on.year if measure.implemented_on else measure.estimate_year


class FactorTable:
    """All emission factors, loaded once, answering 'which factor applies to this resource in this year'."""

    def __init__(self) -> None:
        self._by_resource: dict[int, list[EmissionFactor]] = {}
        for factor in EmissionFactor.objects.order_by("year"):
            self._by_resource.setdefault(factor.resource_id, []).append(factor)

    def factor_for(self, resource_id: int, year: int) -> tuple[EmissionFactor | None, str]:
        """The factor of that year; else the nearest published year (said in the note); else one for any year."""
        factors = self._by_resource.get(resource_id, [])
        dated = [f for f in factors if f.year is not None]
        if dated:
            nearest = min(dated, key=lambda f: (abs(f.year - year), -f.year))
            if nearest.year == year:
                return nearest, ""
            note = _("No factor published for %(year)s; used the nearest year, %(used)s.") % {
                "year": year,
                "used": nearest.year,
            }
            return nearest, note
        undated = [f for f in factors if f.year is None]
        return (undated[0], "") if undated else (None, "")


def co2e_recompute(measures: QuerySet[Measure]) -> int:
    """Recompute the CO2e and its trail for these measures from their savings and the factors; returns the count.

    Fossil and biogenic CO2 are kept apart. An entered value, when present, is what counts, marked as entered.
    """
    factors = FactorTable()
    count = 0
    batch = measures.prefetch_related("savings__resource").order_by("pk")
    for measure in batch.iterator(chunk_size=500):
        with transaction.atomic():
            trail: list[Co2eTrailLine] = []
            fossil = biogenic = Decimal(0)
            year = reference_year(measure)
            for saving in measure.savings.all():
                factor, note = factors.factor_for(saving.resource_id, year)
                if factor is None:
                    continue
                resource = saving.resource
                quantity = convert(
                    saving.quantity_canonical,
                    resource.canonical_unit,
                    factor.per_unit,
                    density_t_per_m3=resource.density_t_per_m3,
                )
                result = (quantity * factor.value).quantize(CO2E_PLACES)
                if factor.basis == EmissionFactor.Basis.BIOGENIC:
                    biogenic += result
                else:
                    fossil += result
                trail.append(
                    Co2eTrailLine(
                        measure=measure,
                        resource=resource,
                        quantity=quantity,
                        unit=factor.per_unit,
                        factor=factor,
                        factor_value=factor.value,
                        factor_unit=f"tCO2/{factor.per_unit}",
                        basis=factor.basis,
                        result_t=result,
                        note=note,
                    )
                )
            Co2eTrailLine.objects.filter(measure=measure).delete()
            Co2eTrailLine.objects.bulk_create(trail)
            counted = measure.co2e_entered_t if measure.co2e_entered_t is not None else fossil
            Measure.objects.filter(pk=measure.pk).update(
                co2e_t=counted, co2e_computed_t=fossil, co2e_biogenic_t=biogenic
            )
            count += 1
    return count
