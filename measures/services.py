"""Writes to the measure register: creation, edits, status transitions, deletion, and the figures of a measure.

A measure's figures (CO2e with its trail, kWh, m3, cost in USD and VND, verified values) are computed here and
nowhere else (`figures_recompute`). Every writer marks the roll-up in its own transaction (reports.services).
"""

import datetime
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ecopark.audit import record_created
from ecopark.bulk import insert_many, insert_rows
from ecopark.counts import bump_count_version
from ecopark.uploads import EVIDENCE_TYPES, check_upload, stored_name
from measures.models import (
    SINK_FIELDS,
    SOURCE_FIELDS,
    Co2eTrailLine,
    Currency,
    EmissionFactor,
    Evidence,
    ExchangeRate,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.units import UnitError, convert
from reports.services import rollup_mark_changing, rollup_mark_created

Status = Measure.Status

# The lifecycle: each live status may move to the next one, or be closed with a reason.
NEXT_STATUS: dict[str, str] = {
    Status.IDENTIFIED: Status.PROPOSED,
    Status.PROPOSED: Status.ACCEPTED,
    Status.ACCEPTED: Status.IMPLEMENTED,
    Status.IMPLEMENTED: Status.VERIFIED,
}
# Beyond any plausible annual quantity of one resource in one measure (a thousand TWh, a billion m3 or tonnes):
# almost always a unit entered wrongly. Not a domain fact that changes, so it lives here.
MAX_CANONICAL_QUANTITY = Decimal("1e12")
CO2E_PLACES = Decimal("0.001")
USD_PLACES = Decimal("0.01")
VND_PLACES = Decimal("1")
ZERO = Decimal(0)


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
    """The quantity in the resource's canonical unit; a unit that does not fit the resource, or a quantity beyond
    any plausible one, is a ValidationError."""
    try:
        canonical = convert(quantity, unit, resource.canonical_unit, density_t_per_m3=resource.density_t_per_m3)
    except UnitError as exc:
        raise ValidationError(
            _("%(resource)s: %(error)s") % {"resource": resource.name, "error": exc}, code="unit"
        ) from exc
    if abs(canonical) > MAX_CANONICAL_QUANTITY:
        raise ValidationError(
            _("%(resource)s: %(quantity)s %(unit)s per year is beyond any plausible value; check the unit.")
            % {"resource": resource.name, "quantity": quantity, "unit": unit},
            code="implausible",
        )
    return canonical


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


def align_park(measure: Measure) -> None:
    """A RECP measure counts in its enterprise's park."""
    if measure.kind == Measure.Kind.RECP and measure.enterprise_id is not None:
        measure.park_id = measure.enterprise.park_id


def record_first_status(measure: Measure, *, changed_by) -> StatusChange:
    """The first line of a new measure's status history."""
    return StatusChange.objects.create(
        measure=measure,
        from_status="",
        to_status=measure.status,
        changed_by=changed_by,
        effective_on=measure.identified_on,
        reason=measure.status_reason,
    )


def _check_shape(measure: Measure) -> None:
    """The park follows the enterprise for RECP; both kinds pass model validation."""
    align_park(measure)
    measure.full_clean()


def _check_unique_resources(lines: Iterable[SavingInput]) -> None:
    seen: set[int] = set()
    for line in lines:
        if line.resource.pk in seen:
            raise ValidationError(
                _("%(resource)s appears twice among the savings.") % {"resource": line.resource.name}, code="duplicate"
            )
        seen.add(line.resource.pk)


def _check_currency(measure: Measure, rates: "RateTable") -> None:
    for field in ("cost_currency", "investment_currency"):
        if getattr(measure, field) not in Currency.values:
            raise ValidationError({field: _("Unknown currency: %(code)s.") % {"code": getattr(measure, field)}})
    if measure.annual_cost_saving is not None and measure.cost_currency == Currency.VND and not rates.has_rates:
        raise ValidationError(
            {"cost_currency": _("No USD exchange rate is recorded yet: add one before entering costs in VND.")}
        )


def next_reference(park) -> str:
    """A free reference for a new measure in a park: `<park code>-<n>`, one more than the highest in use."""
    prefix = f"{park.code}-"
    taken = Measure.objects.filter(reference__startswith=prefix).values_list("reference", flat=True)
    numbers = [int(ref[len(prefix) :]) for ref in taken if ref[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:04d}"


@transaction.atomic
def measure_create(
    *,
    measure: Measure,
    savings: list[SavingInput],
    flows: list[FlowInput] | None = None,
    created_by=None,
) -> Measure:
    """Validate and save a new measure with its savings and flows, record its first status and compute its figures."""
    flows = flows or []
    if flows and measure.kind != Measure.Kind.IS:
        raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
    _check_unique_resources(savings)
    _check_currency(measure, RateTable())
    measure.created_by = created_by
    align_park(measure)
    if not measure.reference and measure.park_id is not None:
        measure.reference = next_reference(measure.park)
    _check_shape(measure)
    measure.save()
    record_created(MeasureSaving.objects.bulk_create([saving_line(measure, line) for line in savings]))
    record_created(ResourceFlow.objects.bulk_create([flow_line(measure, line) for line in flows]))
    record_first_status(measure, changed_by=created_by)
    figures_recompute(Measure.objects.filter(pk=measure.pk))
    rollup_mark_created([measure.pk])
    measure.refresh_from_db()
    return measure


@dataclass
class NewMeasure:
    """A measure to create in bulk, as entered: the unsaved measure (first status set) and its lines."""

    measure: Measure
    savings: list[SavingInput]
    flows: list[FlowInput]


# Not checked field by field in bulk: foreign keys the caller resolved from rows it loaded (one query each
# otherwise), and the figures, which are computed here rather than entered.
_NOT_CHECKED_IN_BULK = [
    "park", "enterprise", *SOURCE_FIELDS, *SINK_FIELDS, "created_by",
    *(f.name for f in Measure._meta.concrete_fields if not f.editable),
]  # fmt: skip


def _first_status_on(measure: Measure) -> datetime.date:
    return measure.implemented_on if measure.status in Measure.REALISED_STATUSES else measure.identified_on


def measures_create_many(
    items: list[NewMeasure], *, created_by=None, write: bool = True, batch_size: int = 1000
) -> dict[int, list]:
    """Create many new measures at once, checked as `measure_create` checks one (lines, units, currency, shape);
    the figures come from `figures_of`. A measure may start in any status but verified (which needs evidence).

    Returns the errors by item index: when there is any, nothing is written. With `write=False`, only checks (the
    database's own constraints excepted). Run inside the caller's transaction.
    """
    factors, rates = FactorTable(), RateTable()
    errors: dict[int, list] = {}
    lines: list[tuple[Measure, list[MeasureSaving], list[ResourceFlow]]] = []
    today = timezone.localdate()
    for index, item in enumerate(items):
        measure = item.measure
        try:
            if item.flows and measure.kind != Measure.Kind.IS:
                raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
            if measure.status == Status.VERIFIED:
                raise ValidationError(
                    {"status": _("A measure is verified on its page, with the measured values and the evidence.")}
                )
            if measure.implemented_on and measure.implemented_on > today:
                raise ValidationError({"implemented_on": _("The date cannot be in the future.")})
            if measure.implemented_on and measure.implemented_on < measure.identified_on:
                raise ValidationError({"implemented_on": _("The date cannot be before the measure was identified.")})
            _check_unique_resources(item.savings)
            _check_currency(measure, rates)
            align_park(measure)
            measure.created_by = created_by
            measure.clean_fields(exclude=_NOT_CHECKED_IN_BULK)
            savings = [saving_line(measure, line) for line in item.savings]
            flows = [flow_line(measure, line) for line in item.flows]
        except ValidationError as error:
            errors[index] = [error]
            continue
        fields, trail = figures_of(measure, savings, factors, rates)
        for name, value in fields.items():
            setattr(measure, name, value)
        measure.search_text = measure.search_terms()
        measure._trail = trail
        lines.append((measure, savings, flows))
    if errors or not write:
        return errors
    measures = [measure for measure, _savings, _flows in lines]
    try:
        with transaction.atomic():  # the database checks the constraints the rows above did not
            insert_many(Measure, measures, batch_size=batch_size)
    except IntegrityError:
        return _find_invalid(items)
    record_created(measures)
    savings = [saving for _measure, rows, _flows in lines for saving in rows]
    flows = [flow for _measure, _savings, rows in lines for flow in rows]
    record_created(insert_many(MeasureSaving, savings, batch_size=batch_size))
    record_created(insert_many(ResourceFlow, flows, batch_size=batch_size))
    insert_many(Co2eTrailLine, [line for m in measures for line in m._trail], batch_size=batch_size)
    changed_by_id = getattr(created_by, "pk", None)
    insert_rows(
        StatusChange,
        [
            {
                "measure_id": m.pk,
                "from_status": "",
                "to_status": m.status,
                "changed_by_id": changed_by_id,
                "effective_on": _first_status_on(m),
                "reason": m.status_reason,
            }
            for m in measures
        ],
        batch_size=batch_size,
    )
    rollup_mark_created([m.pk for m in measures])
    return {}


def _find_invalid(items: list[NewMeasure]) -> dict[int, list]:
    """After the database refused a batch: which measures break which rule, found one by one."""
    errors: dict[int, list] = {}
    for index, item in enumerate(items):
        item.measure.pk = None
        try:
            item.measure.full_clean()
        except ValidationError as error:
            errors[index] = [error]
    if not errors:  # a rule only the database knows, or a row written meanwhile by someone else
        errors[0] = [ValidationError(_("The database refused the rows; try again."), code="integrity")]
    return errors


@dataclass(frozen=True)
class Preview:
    """The figures a measure would have, computed by the same code as on saving, with nothing saved."""

    measure: Measure
    trail: list[Co2eTrailLine]


def measure_preview(*, measure: Measure, savings: list[SavingInput], flows: list[FlowInput] | None = None) -> Preview:
    """Create the measure inside a transaction that is then rolled back, and return the figures it got.

    The preview cannot differ from what saving gives: it is saving. Validation errors are raised as on saving.
    """
    with transaction.atomic():
        if measure.pk is not None or not measure.reference:
            measure.pk = None
            measure.reference = f"preview-{uuid.uuid4().hex[:12]}"
        saved = measure_create(measure=measure, savings=savings, flows=flows)
        preview = Preview(measure=saved, trail=list(saved.co2e_trail.select_related("resource", "factor")))
        transaction.set_rollback(True)
    return preview


class StaleEdit(ValidationError):
    """Someone else saved the measure since this edit began; nothing of this edit was saved."""


# Fields an edit may change; status and its dates move only through `measure_transition`.
EDITABLE_FIELDS = (
    "kind", "park", "enterprise", "technique", "exchange_type",
    *SOURCE_FIELDS, *SINK_FIELDS,
    "title_vi", "title_en", "description_vi", "description_en", "identified_on", "estimate_year",
    "investment", "investment_currency", "annual_cost_saving", "cost_currency",
    "co2e_entered_t", "co2e_method", "co2e_justification",
)  # fmt: skip


@transaction.atomic
def measure_update(
    *,
    measure_id: int,
    changes: dict,
    savings: list[SavingInput] | None = None,
    flows: list[FlowInput] | None = None,
    expected_version: int | None = None,
    changed_by=None,
) -> Measure:
    """Change a measure's fields (and replace its savings or flows when given); refuse a stale edit."""
    measure = Measure.objects.select_for_update().get(pk=measure_id)
    if expected_version is not None and measure.version != expected_version:
        raise StaleEdit(
            _("Someone else saved this measure while you were editing it. Reload it to see their changes."),
            code="stale",
        )
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    rollup_mark_changing([measure.pk])
    for field, value in changes.items():
        setattr(measure, field, value)
    _check_currency(measure, RateTable())
    _check_shape(measure)
    measure.version += 1
    measure.save()
    if savings is not None:
        _check_unique_resources(savings)
        measure.savings.all().delete()
        record_created(MeasureSaving.objects.bulk_create([saving_line(measure, line) for line in savings]))
    if flows is not None:
        if flows and measure.kind != Measure.Kind.IS:
            raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
        measure.flows.all().delete()
        record_created(ResourceFlow.objects.bulk_create([flow_line(measure, line) for line in flows]))
    figures_recompute(Measure.objects.filter(pk=measure.pk))
    measure.refresh_from_db()
    return measure


@transaction.atomic
def measure_delete(*, measure_id: int, deleted_by=None) -> None:
    """Delete a measure with its savings, flows and history; the roll-up stops counting it."""
    measure = Measure.objects.select_for_update().get(pk=measure_id)
    rollup_mark_changing([measure.pk])
    measure.delete()


@transaction.atomic
def measure_transition(
    *,
    measure: Measure,
    to_status: str,
    changed_by,
    effective_on: datetime.date,
    reason: str = "",
    verified: dict[int, Decimal] | None = None,
    evidence: list | None = None,
) -> StatusChange:
    """Move a measure along its lifecycle, recording who, when and why; refuse a step the lifecycle does not allow.

    On verification, `verified` gives the measured annual quantity of each saving (by the saving's id), and
    `evidence` the files behind them (checked uploads, kept with the status change).
    """
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
    if effective_on > timezone.localdate():
        raise ValidationError(_("The date cannot be in the future."), code="future")
    measured = _measured_savings(measure, verified or {}) if to_status == Status.VERIFIED else []
    for upload in evidence or []:  # every file is checked before anything is written
        check_upload(upload, allowed=EVIDENCE_TYPES, max_bytes=settings.EVIDENCE_MAX_BYTES)
    rollup_mark_changing([measure.pk])
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
    for saving in measured:
        saving.save(update_fields=["verified_quantity", "verified_quantity_canonical"])
    kept: list[Evidence] = []
    try:
        for upload in evidence or []:
            kept.append(evidence_add(measure=measure, upload=upload, uploaded_by=changed_by, status_change=change))
        if to_status == Status.IMPLEMENTED or measured:
            # The reference year of the factors is now the implementation year; verified values give verified figures.
            figures_recompute(Measure.objects.filter(pk=measure.pk))
    except Exception:
        for item in kept:  # the rows roll back; their files must not stay behind
            item.file.delete(save=False)
        raise
    return change


def _measured_savings(measure: Measure, verified: dict[int, Decimal]) -> list[MeasureSaving]:
    """The measure's savings with their verified quantities set (not saved yet), checked as entered quantities are."""
    measured = list(measure.savings.select_related("resource").filter(pk__in=verified))
    if len(measured) != len(verified):
        raise ValidationError(_("A verified value names a saving this measure does not have."), code="saving")
    for saving in measured:
        line = saving_line(measure, SavingInput(saving.resource, verified[saving.pk], saving.unit))
        saving.verified_quantity = line.quantity
        saving.verified_quantity_canonical = line.quantity_canonical
    return measured


def evidence_add(*, measure: Measure, upload, uploaded_by, status_change: StatusChange | None = None) -> Evidence:
    """Check an uploaded file (type by content, size) and keep it, under a random name, as evidence of the measure."""
    kind = check_upload(upload, allowed=EVIDENCE_TYPES, max_bytes=settings.EVIDENCE_MAX_BYTES)
    evidence = Evidence(
        measure=measure,
        status_change=status_change,
        original_name=(upload.name or "")[:200],
        media_type=kind.media_type,
        size=upload.size,
        uploaded_by=uploaded_by,
    )
    evidence.file.save(stored_name(kind), upload, save=False)
    evidence.save()
    return evidence


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


class RateTable:
    """The USD exchange rates, loaded once: the rate of a year, or of the nearest year (said in the note)."""

    def __init__(self) -> None:
        self._rates = dict(ExchangeRate.objects.filter(currency=Currency.USD).values_list("year", "vnd_per_unit"))

    @property
    def has_rates(self) -> bool:
        return bool(self._rates)

    def vnd_per_usd(self, year: int) -> tuple[Decimal | None, str]:
        if not self._rates:
            return None, _("No USD exchange rate is recorded: costs are shown in their own currency only.")
        if year in self._rates:
            return self._rates[year], ""
        used = min(self._rates, key=lambda y: (abs(y - year), -y))
        note = _("No USD exchange rate for %(year)s; used %(used)s.") % {"year": year, "used": used}
        return self._rates[used], note


def _costs(measure: Measure, rates: RateTable) -> tuple[Decimal | None, Decimal | None, str]:
    """The annual cost saving in USD and in VND, converted at the rate of the estimate's year."""
    amount = measure.annual_cost_saving
    if amount is None:
        return None, None, ""
    rate, note = rates.vnd_per_usd(measure.estimate_year)
    if measure.cost_currency == Currency.USD:
        return amount, None if rate is None else (amount * rate).quantize(VND_PLACES), note
    return None if rate is None else (amount / rate).quantize(USD_PLACES), amount.quantize(VND_PLACES), note


def figures_of(
    measure: Measure, savings: Iterable[MeasureSaving], factors: FactorTable, rates: RateTable
) -> tuple[dict, list[Co2eTrailLine]]:
    """The figures of a measure from its savings, the factors and the rates: the measure's computed fields and its
    CO2e trail (unsaved lines). The one place a measure's figures are worked out.

    CO2e: each saving times the factor of the reference year (fossil and biogenic apart); an entered value, when
    present, is what counts. Verified figures come from the verified quantities.
    """
    trail: list[Co2eTrailLine] = []
    fossil = biogenic = verified_fossil = ZERO
    has_verified = False
    by_category = {"electricity": [ZERO, None], "water": [ZERO, None]}
    notes: list[str] = []
    year = reference_year(measure)
    for saving in savings:
        resource = saving.resource
        if saving.verified_quantity_canonical is not None:
            has_verified = True
        if resource.category in by_category:
            totals = by_category[resource.category]
            totals[0] += saving.quantity_canonical
            if saving.verified_quantity_canonical is not None:
                totals[1] = (totals[1] or ZERO) + saving.verified_quantity_canonical
        factor, note = factors.factor_for(resource.pk, year)
        if factor is None:
            continue
        density = resource.density_t_per_m3
        quantity = convert(
            saving.quantity_canonical, resource.canonical_unit, factor.per_unit, density_t_per_m3=density
        )
        result = (quantity * factor.value).quantize(CO2E_PLACES)
        if factor.basis == EmissionFactor.Basis.BIOGENIC:
            biogenic += result
        else:
            fossil += result
            if saving.verified_quantity_canonical is not None:
                verified = convert(
                    saving.verified_quantity_canonical,
                    resource.canonical_unit,
                    factor.per_unit,
                    density_t_per_m3=density,
                )
                verified_fossil += (verified * factor.value).quantize(CO2E_PLACES)
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
    usd, vnd, cost_note = _costs(measure, rates)
    notes += [cost_note] if cost_note else []
    entered = measure.co2e_entered_t
    fields = {
        "reference_year": year,
        "co2e_t": entered if entered is not None else fossil,
        "co2e_computed_t": fossil,
        "co2e_biogenic_t": biogenic,
        "co2e_verified_t": (entered if entered is not None else verified_fossil) if has_verified else None,
        "electricity_kwh": by_category["electricity"][0],
        "water_m3": by_category["water"][0],
        "electricity_kwh_verified": by_category["electricity"][1],
        "water_m3_verified": by_category["water"][1],
        "cost_usd": usd,
        "cost_vnd": vnd,
        "figures_note": " ".join(notes),
    }
    return fields, trail


def figures_recompute(measures: QuerySet[Measure]) -> int:
    """Recompute and store the figures of these measures (`figures_of`); returns the count. Safe to run again."""
    factors = FactorTable()
    rates = RateTable()
    count = 0
    batch = measures.prefetch_related("savings__resource").order_by("pk")
    for measure in batch.iterator(chunk_size=500):
        with transaction.atomic():
            fields, trail = figures_of(measure, measure.savings.all(), factors, rates)
            Co2eTrailLine.objects.filter(measure=measure).delete()
            Co2eTrailLine.objects.bulk_create(trail)
            Measure.objects.filter(pk=measure.pk).update(**fields)
            count += 1
    if count:
        bump_count_version(Measure._meta.db_table)  # pages of measures kept in the cache show the new figures
    return count


@transaction.atomic
def measures_follow_enterprise(*, enterprise) -> int:
    """An enterprise moved to another park: its RECP measures now count there (the roll-up is told)."""
    moved = list(
        Measure.objects.filter(enterprise=enterprise, kind=Measure.Kind.RECP)
        .exclude(park_id=enterprise.park_id)
        .values_list("pk", flat=True)
    )
    if moved:
        rollup_mark_changing(moved)
        for measure in Measure.objects.filter(pk__in=moved):
            measure.park_id = enterprise.park_id
            measure.version += 1
            measure.save(update_fields=["park", "version", "updated_at"])
    return len(moved)
