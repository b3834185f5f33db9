"""Writes to the measure register: creation, edits, status transitions, deletion, and the figures of a measure.

A measure's figures (CO2e with its trail, kWh, m3, cost in USD and VND, verified values) are computed here and
nowhere else (`figures_recompute`). Every writer marks the roll-up in its own transaction (reports.services).
"""

import datetime
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
from ecopark.constraints import refusals, too_large
from ecopark.counts import bump_count_version
from ecopark.locks import hold_until_commit
from ecopark.uploads import EVIDENCE_TYPES, check_upload, stored_name
from enterprises.models import Enterprise
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
    PlausibilityWindow,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.units import UnitError, convert, uses_density
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
# The same for money (a measure's investment or annual saving, in its currency); the years a measure's dates fall in.
MAX_MONEY = {Currency.USD: Decimal("1e12"), Currency.VND: Decimal("1e16")}
MEASURE_YEARS = (2000, 2100)
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
    # A negative quantity (the measure raises the use, e.g. electricity after a fuel switch) is taken only when the
    # person entering it said so: a minus typed by mistake would lower every total silently.
    negative_confirmed: bool = False


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
    _check_stored_precision(resource, quantity, unit, canonical)
    return canonical


def _check_stored_precision(resource: Resource, quantity: Decimal, unit: str, canonical: Decimal) -> None:
    """A quantity is refused rather than rounded when the columns cannot hold it: more decimals than are kept
    (0.000000001 kWh would be stored as 0), more digits than the column has, or a non-zero quantity whose canonical
    value rounds to nothing."""
    quantity, canonical = (v if isinstance(v, Decimal) else Decimal(str(v)) for v in (quantity, canonical))
    entered, converted = (MeasureSaving._meta.get_field(name) for name in ("quantity", "quantity_canonical"))
    names = {"resource": resource.name, "quantity": quantity, "unit": unit}
    if abs(quantity) >= Decimal(10) ** (entered.max_digits - entered.decimal_places):
        raise ValidationError(
            _("%(resource)s: %(quantity)s %(unit)s per year is beyond any plausible value; check the unit.") % names,
            code="implausible",
        )
    if quantity != quantity.quantize(Decimal(1).scaleb(-entered.decimal_places)):
        raise ValidationError(
            _(
                "%(resource)s: %(quantity)s %(unit)s has more decimals than are kept: a quantity keeps %(places)s "
                "decimal places."
            )
            % {**names, "places": entered.decimal_places},
            code="precision",
        )
    smallest = Decimal(1).scaleb(-converted.decimal_places)
    if canonical and not canonical.quantize(smallest):
        raise ValidationError(
            _("%(resource)s: %(quantity)s %(unit)s is below the smallest quantity kept (%(smallest)s %(canonical)s).")
            % {**names, "smallest": smallest, "canonical": resource.canonical_unit},
            code="precision",
        )


def saving_line(measure: Measure, line: SavingInput) -> MeasureSaving:
    """An unsaved saving row for the measure, validated and converted to the canonical unit. A negative quantity
    (estimated or verified) needs a resource that allows it and the entrant's confirmation."""
    verified = line.verified_quantity
    if line.quantity < 0 or (verified is not None and verified < 0):
        if not line.resource.allows_negative_saving:
            raise ValidationError(
                _("%(resource)s: a saving cannot be negative.") % {"resource": line.resource.name}, code="negative"
            )
        if not line.negative_confirmed:
            raise ValidationError(
                _(
                    "%(resource)s: the saving is negative, so the measure increases its use. If that is right, tick "
                    "the confirmation; otherwise remove the minus sign."
                )
                % {"resource": line.resource.name},
                code="negative_unconfirmed",
            )
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


def _lock_enterprise(measure: Measure) -> None:
    """Lock the enterprise of an RECP measure and read its park under the lock: an enterprise moving meanwhile either
    finishes first (and the measure goes to its new park) or waits and takes the measure along. The enterprise is
    locked before its measures, as a move locks them."""
    if measure.kind == Measure.Kind.RECP and measure.enterprise_id is not None:
        measure.enterprise = Enterprise.objects.select_for_update(no_key=True).get(pk=measure.enterprise_id)


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
    """The park follows the enterprise for RECP; both kinds pass model validation and are plausible."""
    align_park(measure)
    measure.full_clean()
    _check_plausible(measure)


def _check_bounds(measure: Measure) -> None:
    """Dates outside MEASURE_YEARS and amounts beyond MAX_MONEY (in their currency) are refused by field, at every
    door (pages, API, admin, import): values no measure can have, which the columns would otherwise take."""
    errors: dict[str, str] = {}
    earliest, latest = MEASURE_YEARS
    for field in ("identified_on", "implemented_on", "verified_on"):
        value = getattr(measure, field)
        if value is not None and not earliest <= value.year <= latest:
            errors[field] = _("The year must be between %(earliest)s and %(latest)s.") % {
                "earliest": earliest,
                "latest": latest,
            }
    for field, currency_field in (("investment", "investment_currency"), ("annual_cost_saving", "cost_currency")):
        amount, currency = getattr(measure, field), getattr(measure, currency_field)
        limit = MAX_MONEY.get(currency)
        if amount is not None and limit is not None and abs(amount) > limit:
            errors[field] = _(
                "At most %(limit)s %(currency)s, in absolute value, is accepted; check the amount and the currency."
            ) % {"limit": f"{limit:,.0f}", "currency": currency}
    if errors:
        raise ValidationError(errors)


def _check_plausible(measure: Measure, window: PlausibilityWindow | None = None) -> None:
    """Dates that cannot be known yet (in the future) and estimate years outside the register's window are refused,
    by field. On an edit only values that change are checked: a measure saved before the window was narrowed keeps
    its year until someone changes it."""
    _check_bounds(measure)
    window = window or PlausibilityWindow.current()
    today = timezone.localdate()
    stored = {}
    if measure.pk is not None:
        fields = ("identified_on", "estimate_year", "implemented_on", "verified_on")
        stored = Measure.objects.filter(pk=measure.pk).values(*fields).first() or {}
    errors: dict[str, str] = {}
    for field in ("identified_on", "implemented_on", "verified_on"):
        value = getattr(measure, field)
        if value is not None and value > today and stored.get(field) != value:
            errors[field] = _("The date cannot be in the future.")
    year, earliest, latest = measure.estimate_year, window.earliest_estimate_year, window.latest_year(today)
    if year is not None and stored.get("estimate_year") != year and not earliest <= year <= latest:
        errors["estimate_year"] = _(
            "The year of the estimate must be between %(earliest)s and %(latest)s (the register's plausibility "
            "window, which an administrator can change)."
        ) % {"earliest": earliest, "latest": latest}
    if errors:
        raise ValidationError(errors)


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
    """A free reference for a new measure in a park: `<park code>-<n>`, one more than the highest in use.

    Holds the park's numbering lock until the transaction ends, so that two measures created at the same moment
    never draw the same number (the second waits until the first is saved, then counts it).
    """
    hold_until_commit(f"measures.reference:{park.pk}")
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
    _lock_enterprise(measure)
    align_park(measure)
    numbered = not measure.reference and measure.park_id is not None
    if numbered:
        measure.reference = next_reference(measure.park)
    _check_shape(measure)
    for attempt in range(3):
        try:
            with transaction.atomic():  # a savepoint: a reference taken meanwhile is answered, the transaction kept
                measure.save()
            break
        except IntegrityError:
            if not Measure.objects.filter(reference=measure.reference).exists():
                raise  # another constraint: a programming error, not something the person can correct
            if not numbered or attempt == 2:
                raise ValidationError(
                    {"reference": _("Another measure was saved with this reference a moment ago; choose another.")}
                ) from None
            # Numbered here, but taken by a writer that does not number (an import, a typed reference): count again.
            measure.reference = next_reference(measure.park)
    record_created(MeasureSaving.objects.bulk_create([saving_line(measure, line) for line in savings]))
    record_created(ResourceFlow.objects.bulk_create([flow_line(measure, line) for line in flows]))
    record_first_status(measure, changed_by=created_by)
    figures_recompute(Measure.objects.filter(pk=measure.pk), refuse_too_large=True)
    rollup_mark_created([measure.pk])
    measure.refresh_from_db()
    return measure


@dataclass
class NewMeasure:
    """A measure to create in bulk, as entered: the unsaved measure (first status set) and its lines.

    `history` is for a register carried over whole (the demo programme): the status steps the measure already took,
    as (status, effective date, reason), oldest first; such a measure may arrive verified, its measured values in its
    savings. Without it, the measure's first status is its history.
    """

    measure: Measure
    savings: list[SavingInput]
    flows: list[FlowInput]
    history: list[tuple[str, datetime.date, str]] | None = None


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

    Returns the errors by item index: when there is any, nothing is written. With `write=False`, only checks: the
    same ones, the database's check constraints included (`ecopark.constraints`). Run inside the caller's transaction.
    """
    factors, rates, window = FactorTable(), RateTable(), PlausibilityWindow.current()
    errors: dict[int, list] = {}
    lines: list[tuple[Measure, list[MeasureSaving], list[ResourceFlow]]] = []
    checked: list[int] = []  # the item index of each entry of `lines`
    today = timezone.localdate()
    for index, item in enumerate(items):
        measure = item.measure
        try:
            if item.flows and measure.kind != Measure.Kind.IS:
                raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
            if measure.status == Status.VERIFIED and item.history is None:
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
            _check_plausible(measure, window)
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
        checked.append(index)
    # What the insert would refuse, found without writing: a check finds every error the write would.
    for position, error in refusals(Measure, [measure for measure, _savings, _flows in lines]).items():
        errors[checked[position]] = [error]
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
    steps = []
    for item in items:
        m = item.measure
        history = item.history or [(m.status, _first_status_on(m), m.status_reason)]
        previous = ""
        for to_status, effective_on, reason in history:
            steps.append({"measure_id": m.pk, "from_status": previous, "to_status": to_status,
                          "changed_by_id": changed_by_id, "effective_on": effective_on, "reason": reason})  # fmt: skip
            previous = to_status
    insert_rows(StatusChange, steps, batch_size=batch_size)
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
    """The figures the measure would get, checked as `measure_create` checks it and worked out by the one figures
    engine (`figures_of`) on the unsaved lines; nothing is written, so a preview never waits for a save or holds one
    up (SQLite takes one writer at a time). Validation errors are raised as on saving."""
    flows = flows or []
    if flows and measure.kind != Measure.Kind.IS:
        raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
    _check_unique_resources(savings)
    rates = RateTable()
    _check_currency(measure, rates)
    reference = measure.reference
    measure.reference = reference or "preview"  # numbered on saving
    try:
        _check_shape(measure)
    finally:
        measure.reference = reference
    lines = [saving_line(measure, line) for line in savings]
    for line in flows:
        flow_line(measure, line)
    fields, trail = figures_of(measure, lines, FactorTable(), rates)
    for name, value in fields.items():
        setattr(measure, name, value)
    return Preview(measure=measure, trail=trail)


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


def _differs(measure: Measure, name: str, value) -> bool:
    """Whether setting the field `name` to `value` would change what is stored (1.0 and 1.0000 are the same)."""
    field = Measure._meta.get_field(name)
    current = getattr(measure, field.attname)
    if field.is_relation:
        value = getattr(value, "pk", value)
    elif value is not None and current is not None:
        value = field.to_python(value)
    if value in ("", None) and current in ("", None):
        return False
    return current != value


@dataclass
class LinePlan:
    """How a measure's stored lines become the lines given: which stay untouched, change, go or come."""

    updates: list
    deletes: list
    creates: list

    @property
    def changes(self) -> bool:
        return bool(self.updates or self.deletes or self.creates)


def _plan_lines(stored: list, wanted: list, *, key, values) -> LinePlan:
    """Match each wanted line to a stored one: an equal line stays as it is (same row, no audit entry); a line of the
    same key with other values is changed in place; the rest are removed or added."""
    unmatched = list(stored)
    pending = []
    for row in wanted:
        twin = next((s for s in unmatched if key(s) == key(row) and values(s) == values(row)), None)
        if twin is None:
            pending.append(row)
        else:
            unmatched.remove(twin)
    updates, creates = [], []
    for row in pending:
        twin = next((s for s in unmatched if key(s) == key(row)), None)
        if twin is None:
            creates.append(row)
        else:
            unmatched.remove(twin)
            updates.append((twin, row))
    return LinePlan(updates=updates, deletes=unmatched, creates=creates)


def _saving_values(line: MeasureSaving) -> tuple:
    return line.quantity, line.unit, line.verified_quantity


def _flow_values(line: ResourceFlow) -> tuple:
    return line.quantity, line.unit, line.direction


SAVING_VALUE_FIELDS = ["quantity", "unit", "quantity_canonical", "verified_quantity", "verified_quantity_canonical"]
FLOW_VALUE_FIELDS = ["quantity", "unit", "quantity_canonical", "direction"]


def _apply_lines(model, plan: LinePlan, fields: list[str]) -> None:
    for stored, row in plan.updates:
        for name in fields:
            setattr(stored, name, getattr(row, name))
        stored.save(update_fields=fields)
    for stored in plan.deletes:
        stored.delete()
    if plan.creates:
        record_created(model.objects.bulk_create(plan.creates))


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
    """Change a measure's fields and lines (the savings or flows given are what the measure has afterwards); refuse a
    stale edit. Lines given as they are stored stay untouched; a save that changes nothing writes nothing (no audit
    entry, the version stays)."""
    if changes.get("enterprise") is not None:  # locks in one order: the enterprise, then its measures
        changes = {**changes, "enterprise": Enterprise.objects.select_for_update(no_key=True).get(
            pk=getattr(changes["enterprise"], "pk", changes["enterprise"]))}  # fmt: skip
    measure = Measure.objects.select_for_update().get(pk=measure_id)
    if expected_version is not None and measure.version != expected_version:
        raise StaleEdit(
            _(
                "This measure was saved again after you opened it, so this change was not saved. Read it again (the "
                "version now stored) and apply your change to it."
            ),
            code="stale",
        )
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValidationError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    changed = {field: value for field, value in changes.items() if _differs(measure, field, value)}
    for field, value in changed.items():
        setattr(measure, field, value)
    if changed:
        _check_currency(measure, RateTable())
        _check_shape(measure)
    saving_plan = flow_plan = LinePlan([], [], [])
    if savings is not None:
        _check_unique_resources(savings)
        saving_plan = _plan_lines(
            list(measure.savings.order_by("pk")),
            [saving_line(measure, line) for line in savings],
            key=lambda line: line.resource_id,
            values=_saving_values,
        )
    if flows is not None:
        if flows and measure.kind != Measure.Kind.IS:
            raise ValidationError(_("Only a symbiosis exchange has resource flows."), code="flows")
        flow_plan = _plan_lines(
            list(measure.flows.order_by("pk")),
            [flow_line(measure, line) for line in flows],
            key=lambda line: (line.resource_id, line.direction),
            values=_flow_values,
        )
    if not (changed or saving_plan.changes or flow_plan.changes):
        return measure
    rollup_mark_changing([measure.pk])
    measure.version += 1
    measure.save()
    _apply_lines(MeasureSaving, saving_plan, SAVING_VALUE_FIELDS)
    _apply_lines(ResourceFlow, flow_plan, FLOW_VALUE_FIELDS)
    figures_recompute(Measure.objects.filter(pk=measure.pk), refuse_too_large=True)
    measure.refresh_from_db()
    return measure


@transaction.atomic
def measure_delete(*, measure_id: int, deleted_by=None) -> None:
    """Delete a measure with its savings, flows and history; the roll-up stops counting it. Every channel deletes
    through here (pages, API, the admin's delete and bulk delete). A measure deleted a moment earlier by someone else
    is gone as asked: nothing to do."""
    measure = Measure.objects.select_for_update().filter(pk=measure_id).first()
    if measure is None:
        return
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
            figures_recompute(Measure.objects.filter(pk=measure.pk), refuse_too_large=True)
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
        # A measured value is what the meter says: a measured increase needs no tick on the estimate's form.
        line = saving_line(measure, SavingInput(saving.resource, verified[saving.pk], saving.unit, None, True))
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
        # The trail starts from the saving as entered (10,000 L of diesel), with the density that took it to the
        # factor's unit (0.84 t/m3, and where that figure comes from), so that every step can be checked by hand.
        density_used = density if uses_density(saving.unit, factor.per_unit) else None
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
                entered_quantity=saving.quantity,
                entered_unit=saving.unit,
                density_t_per_m3=density_used,
                density_source=resource.density_source if density_used is not None else "",
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


def figures_recompute(measures: QuerySet[Measure], *, refuse_too_large: bool = False) -> int:
    """Recompute and store the figures of these measures (`figures_of`); returns the count. Safe to run again.

    `refuse_too_large`: for a measure being saved, figures too large for their columns are a ValidationError (the
    caller's transaction undoes the save) rather than a write PostgreSQL refuses with an error no one can act on,
    or SQLite keeps."""
    factors = FactorTable()
    rates = RateTable()
    count = 0
    batch = measures.prefetch_related("savings__resource").order_by("pk")
    for measure in batch.iterator(chunk_size=500):
        with transaction.atomic():
            fields, trail = figures_of(measure, measure.savings.all(), factors, rates)
            if refuse_too_large:
                _refuse_too_large(measure, fields, trail)
            Co2eTrailLine.objects.filter(measure=measure).delete()
            Co2eTrailLine.objects.bulk_create(trail)
            Measure.objects.filter(pk=measure.pk).update(**fields)
            count += 1
    if count:
        bump_count_version(Measure._meta.db_table)  # pages of measures kept in the cache show the new figures
    return count


def _refuse_too_large(measure: Measure, fields: dict, trail: list[Co2eTrailLine]) -> None:
    for name, value in fields.items():
        setattr(measure, name, value)
    for model, rows in ((Measure, [measure]), (Co2eTrailLine, trail)):
        if found := too_large(model, rows):
            raise next(iter(found.values()))


@transaction.atomic
def measures_follow_enterprise(*, enterprise) -> int:
    """An enterprise moved to another park: its RECP measures now count there (the roll-up is told).

    The caller holds the enterprise's row lock (and writes the row afterwards, see `enterprise_update`); the measures
    are locked next, in pk order, and only then are the roll-up's marks written: the order every writer of measures
    takes its locks in, so that none waits in a circle.
    """
    moving = list(
        Measure.objects.select_for_update()
        .filter(enterprise=enterprise, kind=Measure.Kind.RECP)
        .exclude(park_id=enterprise.park_id)
        .order_by("pk")
    )
    if moving:
        rollup_mark_changing([measure.pk for measure in moving])
        for measure in moving:
            measure.park_id = enterprise.park_id
            measure.version += 1
            measure.save(update_fields=["park", "version", "updated_at"])
    return len(moving)
