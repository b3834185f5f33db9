"""The measure pages: the list (filter, search, sort, export), a measure's page, its forms and its status steps.

Views answer HTTP: rows come from the selectors (scoped to the user, so an unseen measure is a 404), writes go
through the measure services, and the forms only shape input.
"""

import datetime
from decimal import Decimal

from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ecopark.access import may_write_measures, measure_writers, page_readers
from ecopark.audit import history_of, snapshot
from ecopark.counts import REGISTER, kept_count
from ecopark.forms import add_service_errors
from ecopark.listing import Column, ListPage
from enterprises.models import Enterprise
from measures.edit_merge import lines_state, merge_fields, merge_lines
from measures.filtersets import MeasurePageFilterSet
from measures.forms import (
    ExchangeForm,
    FlowFormSet,
    RecpMeasureForm,
    SavingFormSet,
    TransitionForm,
    lines_of,
    party_value,
)
from measures.history import measure_history
from measures.models import SINK_FIELDS, SOURCE_FIELDS, Co2eTrailLine, Evidence, Measure, MeasureSaving, ResourceFlow
from measures.selectors import changes_since, measures_visible_to
from measures.services import (
    EDITABLE_FIELDS,
    FlowInput,
    SavingInput,
    StaleEdit,
    allowed_transitions,
    measure_create,
    measure_preview,
    measure_transition,
    measure_update,
)

PARTIES = ("park", "enterprise", *SOURCE_FIELDS, *SINK_FIELDS)
# The buttons of the status steps, by the status they lead to.
STEP_ACTIONS = {
    Measure.Status.PROPOSED: gettext_lazy("Propose"),
    Measure.Status.ACCEPTED: gettext_lazy("Accept"),
    Measure.Status.IMPLEMENTED: gettext_lazy("Mark implemented"),
    Measure.Status.VERIFIED: gettext_lazy("Verify"),
    Measure.Status.REJECTED: gettext_lazy("Reject"),
    Measure.Status.WITHDRAWN: gettext_lazy("Withdraw"),
}
FORMS = {Measure.Kind.RECP: RecpMeasureForm, Measure.Kind.IS: ExchangeForm}


def parties_of(measure: Measure) -> str:
    """Who takes part: the enterprise of an RECP measure, or source → sink of an exchange."""
    if measure.kind == Measure.Kind.RECP:
        return measure.enterprise.name if measure.enterprise else ""
    source = measure.source_enterprise or measure.source_park or measure.source_organisation
    sink = measure.sink_enterprise or measure.sink_park or measure.sink_organisation
    return f"{source or '?'} → {sink or '?'}"


COLUMNS = [
    Column("reference", gettext_lazy("Reference"), lambda m: m.reference, ("reference",)),
    Column("title", gettext_lazy("Title"), lambda m: m.title, ("title_vi",)),
    Column("kind", gettext_lazy("Kind"), lambda m: m.get_kind_display(), ("kind",), listed=False),
    Column("park", gettext_lazy("Park"), lambda m: m.park.name, ("park__name_vi",)),
    Column("parties", gettext_lazy("Enterprise or parties"), parties_of),
    Column("technique", gettext_lazy("Technique or type"),
           lambda m: m.get_technique_display() or m.get_exchange_type_display(), listed=False),
    Column("status", gettext_lazy("Status"), lambda m: m.get_status_display(), ("status",)),
    Column("year", gettext_lazy("Year"), lambda m: m.reference_year, ("reference_year",), numeric=True),
    Column("electricity_kwh", gettext_lazy("kWh/yr"), lambda m: m.electricity_kwh, ("electricity_kwh",), True),
    Column("water_m3", gettext_lazy("m³/yr"), lambda m: m.water_m3, ("water_m3",), True),
    Column("cost_usd", gettext_lazy("USD/yr"), lambda m: m.cost_usd, ("cost_usd",), True),
    Column("co2e_t", gettext_lazy("tCO₂e/yr"), lambda m: m.co2e_t, ("co2e_t",), True),
    Column("increase", gettext_lazy("Increases use of a resource"),
           lambda m: _("yes") if m.has_increase else _("no"), listed=False),
]  # fmt: skip


def search_measures(measures, words: list[str]):
    """Every word in the measure's reference or titles, or in the name of its enterprise.

    The enterprises a word names are looked up first, so that each word is a lookup in the measures' search index or
    in their enterprise index (an OR across the join would read every measure with its enterprise).
    """
    for word in words:
        named = Enterprise.objects.order_by().filter(search_text__contains=word).values_list("pk", flat=True)
        ids = list(named[: ENTERPRISES_NAMED + 1])
        enterprises = named if len(ids) > ENTERPRISES_NAMED else ids  # a word most names share: the database joins
        measures = measures.filter(Q(search_text__contains=word) | Q(enterprise_id__in=enterprises))
    return measures


ENTERPRISES_NAMED = 1000


@require_GET
@page_readers
def measure_list(request):
    """The register: filters, accent-insensitive search, sorting, pages of 10 to 100, and CSV or XLSX export."""
    measures = (
        measures_visible_to(request.user)
        .select_related(*PARTIES)
        .defer("description_vi", "description_en", "search_text", "co2e_justification", "figures_note")
        .annotate(
            has_increase=Exists(  # as MeasureSaving.is_increase: estimated or measured below zero
                MeasureSaving.objects.filter(Q(quantity__lt=0) | Q(verified_quantity__lt=0), measure=OuterRef("pk"))
            )
        )
    )
    listing = ListPage(
        request,
        queryset=measures,
        filterset_class=MeasurePageFilterSet,
        columns=COLUMNS,
        default_sort="reference",
        search=search_measures,
        count=kept_count(REGISTER, Measure._meta.db_table),  # counted again only after a write
        by_id=True,  # the page's 25 ids from the indexes, then their rows with the six parties
    )
    if listing.export_format:
        return listing.export(name=_("measures"))
    page = listing.page()
    return render(
        request,
        "measures/measure_list.html",
        {
            "listing": listing,
            "page": page,
            "rows": [(m, parties_of(m)) for m in page],
            "may_write": may_write_measures(request.user),
        },
    )


def _visible_measure(request, pk: int) -> Measure:
    return get_object_or_404(measures_visible_to(request.user).select_related(*PARTIES, "park__province"), pk=pk)


@require_GET
@page_readers
def measure_detail(request, pk: int):
    """Everything about a measure: parties, figures, savings, flows, CO2e trail, status and change history."""
    measure = _visible_measure(request, pk)
    writer = may_write_measures(request.user)
    context = {
        "measure": measure,
        "parties": parties_of(measure),
        "savings": MeasureSaving.objects.filter(measure=measure).select_related("resource"),
        "flows": ResourceFlow.objects.filter(measure=measure).select_related("resource"),
        "trail": Co2eTrailLine.objects.filter(measure=measure).select_related("resource", "factor"),
        "statuses": measure.status_changes.select_related("changed_by").prefetch_related(
            Prefetch("evidence", Evidence.objects.order_by("id"))
        ),
        "evidence": measure.evidence.select_related("uploaded_by"),
        "history": measure_history(history_of(measure)[:200]),
        "steps": [
            (status, STEP_ACTIONS[status], status in Measure.CLOSED_STATUSES)
            for status in allowed_transitions(measure.status)
        ]
        if writer
        else [],
        "may_write": writer,
    }
    return render(request, "measures/measure_detail.html", context)


def _plain(quantity):
    """250000.0000 as 250000: a stored quantity shown as it was typed."""
    return None if quantity is None else quantity.normalize()


def _confirmed(saving) -> bool:
    """Whether a saving's row shows its negative quantity as confirmed: a stored increase, or an input confirmed."""
    return saving.negative_confirmed if isinstance(saving, SavingInput) else saving.is_increase


def _line_name(lines: str, line) -> str:
    """A line as a person names it: its resource with the unit it is counted in (and a flow's direction)."""
    name = f"{lines}: {line.resource.name} ({line.resource.canonical_unit})"
    if isinstance(line, FlowInput | ResourceFlow):
        name += f", {ResourceFlow.Direction(line.direction).label}"
    return name


def _formsets(kind: str, data=None, *, savings=(), flows=()):
    """The savings (and flows) rows of the form: bound to what was posted, or showing the lines given (stored
    lines or service inputs)."""
    saving_rows = [{"resource": s.resource, "quantity": _plain(s.quantity), "unit": s.unit,
                    "verified_quantity": _plain(s.verified_quantity),
                    "negative_confirmed": _confirmed(s)} for s in savings]  # fmt: skip
    flow_rows = [{"resource": f.resource, "quantity": _plain(f.quantity), "unit": f.unit, "direction": f.direction}
                 for f in flows]  # fmt: skip
    saving_set = SavingFormSet(data, prefix="savings", initial=saving_rows or None)
    if data is None and not saving_rows:
        saving_set.extra = 1
    flow_set = None
    if kind == Measure.Kind.IS:
        flow_set = FlowFormSet(data, prefix="flows", initial=flow_rows or None)
        if data is None and not flow_rows:
            flow_set.extra = 1
    return saving_set, flow_set


def _all_valid(form, saving_set, flow_set) -> bool:
    valid = form.is_valid()
    valid = saving_set.is_valid() and valid
    return (flow_set is None or flow_set.is_valid()) and valid


def _kind_or_404(kind: str) -> str:
    if kind not in Measure.Kind.values:
        raise Http404
    return kind


@require_http_methods(["GET", "POST"])
@measure_writers
def measure_new(request, kind: str):
    """A new RECP measure or symbiosis exchange with its savings (and flows), saved only when all of it is valid."""
    kind = _kind_or_404(kind)
    data = request.POST if request.method == "POST" else None
    initial = {"enterprise": request.GET.get("enterprise")} if kind == Measure.Kind.RECP else {}
    form = FORMS[kind](data, user=request.user, initial=initial)
    saving_set, flow_set = _formsets(kind, data)
    if data is not None and _all_valid(form, saving_set, flow_set):
        measure = form.save(commit=False)
        try:
            measure = measure_create(
                measure=measure,
                savings=lines_of(saving_set),
                flows=lines_of(flow_set) if flow_set is not None else None,
                created_by=request.user,
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, _("Measure %(reference)s saved.") % {"reference": measure.reference})
            return redirect("measures:detail", pk=measure.pk)
    return _render_form(request, form, saving_set, flow_set, kind=kind, measure=None)


def _render_form(request, form, saving_set, flow_set, *, kind, measure, conflict=None, status=200):
    preview_url = (
        reverse("measures:preview_edit", kwargs={"pk": measure.pk})
        if measure
        else reverse("measures:preview_new", kwargs={"kind": kind})
    )
    context = {
        "form": form,
        "saving_set": saving_set,
        "flow_set": flow_set,
        "kind": Measure.Kind(kind),
        "measure": measure,
        "conflict": conflict,
        "preview_url": preview_url,
        "show_verified": measure is not None and measure.status == Measure.Status.VERIFIED,
    }
    if form.is_bound:  # a form refused on saving: its preview says why from the start, not the hint of an empty form
        problems, missing = _preview_problems(form, saving_set, flow_set)
        if problems or missing:
            context["preview_problems"] = {"problems": problems, "missing": missing}
    return render(request, "measures/measure_form.html", context, status=status)


def _changes(form, kind: str) -> dict:
    """The fields the form changed (the services move an RECP measure to its enterprise's park)."""
    changes = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE_FIELDS}
    if kind == Measure.Kind.IS:
        changes.update(form.party_changes())
    return changes


OPENED_SALT = "measures.edit.opened"


def _state(measure: Measure, savings, flows) -> dict:
    return {"fields": snapshot(measure), **lines_state(savings, flows)}


def _stored_lines(measure: Measure) -> tuple[list, list]:
    return list(measure.savings.select_related("resource")), list(measure.flows.select_related("resource"))


def _form_attnames(form, kind: str) -> dict[str, tuple[str, ...]]:
    """The form's fields that hold the measure's values, by the attnames they set."""
    names = {}
    for name in form.fields:
        if name in EDITABLE_FIELDS:
            names[name] = (Measure._meta.get_field(name).attname,)
    if kind == Measure.Kind.IS:
        names["source"] = tuple(f"{f}_id" for f in SOURCE_FIELDS)
        names["sink"] = tuple(f"{f}_id" for f in SINK_FIELDS)
    return names


def _form_value(current: Measure, name: str):
    """The current value of a form field, as the form would post it."""
    if name == "source":
        return party_value(current, SOURCE_FIELDS)
    if name == "sink":
        return party_value(current, SINK_FIELDS)
    field = Measure._meta.get_field(name)
    value = getattr(current, field.attname)
    if value is None:
        return ""
    if isinstance(value, Decimal):
        value = value.normalize()
    return str(value) if field.is_relation else formats.localize_input(value)


@require_http_methods(["GET", "POST"])
@measure_writers
def measure_edit(request, pk: int):
    """Change a measure. Every stored line is shown and posted back, so what is not touched stays as it is. A save
    made on a version someone else has saved since (another person, or the same one in another tab) is refused, shows
    what was saved since, and keeps both: fields this person did not touch take the newer values, theirs stay."""
    measure = _visible_measure(request, pk)
    kind = measure.kind
    savings, flows = _stored_lines(measure)
    if request.method == "GET":
        opened = signing.dumps(_state(measure, savings, flows), salt=OPENED_SALT)
        form = FORMS[kind](instance=measure, user=request.user, initial={"opened": opened})
        saving_set, flow_set = _formsets(kind, savings=savings, flows=flows)
        return _render_form(request, form, saving_set, flow_set, kind=kind, measure=measure)
    form = FORMS[kind](request.POST, instance=measure, user=request.user)
    saving_set, flow_set = _formsets(kind, request.POST, savings=savings, flows=flows)
    if _all_valid(form, saving_set, flow_set):
        new_savings = lines_of(saving_set)
        new_flows = lines_of(flow_set) if flow_set is not None else None
        try:
            saved = measure_update(
                measure_id=measure.pk,
                changes=_changes(form, kind),
                savings=new_savings,
                flows=new_flows,
                expected_version=form.cleaned_data.get("version"),
                changed_by=request.user,
            )
        except StaleEdit as error:
            return _conflict(request, form, saving_set, flow_set, error, new_savings, new_flows or [])
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if saved.version == form.cleaned_data.get("version"):
                messages.info(request, _("Nothing was changed, so nothing was saved."))
            else:
                messages.success(request, _("Measure %(reference)s saved.") % {"reference": measure.reference})
            return redirect("measures:detail", pk=measure.pk)
    return _render_form(request, form, saving_set, flow_set, kind=kind, measure=measure)


def _conflict(request, form, saving_set, flow_set, error: StaleEdit, new_savings, new_flows):
    """The edit form again on the current version, with what was saved since the version this person opened and
    their input merged in, field by field and line by line: what they left as it was takes the newer value (a line
    removed since stays removed, one added since is added); what they changed keeps theirs; what both changed
    differently keeps theirs and is named, so that they can choose."""
    current = Measure.objects.select_related(*PARTIES).get(pk=form.instance.pk)
    kind = current.kind
    stored_savings, stored_flows = _stored_lines(current)
    theirs = _state(current, stored_savings, stored_flows)
    try:
        base = signing.loads(form.cleaned_data.get("opened") or "", salt=OPENED_SALT)
    except signing.BadSignature:
        base = None  # a form from before this was recorded: keep everything this person typed
    data = form.data.copy()
    both: list[str] = []
    if base is not None:
        mine = _state(form.instance, new_savings, new_flows)
        take_theirs, clashes = merge_fields(
            _form_attnames(form, kind), base=base["fields"], mine=mine["fields"], theirs=theirs["fields"]
        )
        for name in take_theirs:
            data[name] = _form_value(current, name)
        both.extend(str(form.fields[name].label) for name in clashes)
        savings, clashing = merge_lines("savings", base=base["savings"], mine=new_savings, theirs=stored_savings)
        both.extend(_line_name(_("Annual savings"), line) for line in clashing)
        flows = []
        if flow_set is not None:
            flows, clashing = merge_lines("flows", base=base["flows"], mine=new_flows, theirs=stored_flows)
            both.extend(_line_name(_("Exchanged flows"), line) for line in clashing)
        saving_set, flow_set = _formsets(kind, savings=savings, flows=flows)
    data["version"] = str(current.version)
    data["editing_since"] = timezone.now().isoformat()
    data["opened"] = signing.dumps(theirs, salt=OPENED_SALT)
    merged = FORMS[kind](data, instance=current, user=request.user)
    merged.is_valid()
    version = form.cleaned_data.get("version")
    entries = changes_since(current, version) if version is not None else None
    if entries is None:  # the trail does not record versions that old: what was saved since the form was opened
        since = form.cleaned_data.get("editing_since") or (timezone.now() - datetime.timedelta(hours=1))
        entries = list(history_of(current).filter(at__gte=since).order_by("at", "id"))
    conflict = {
        "message": _("You saved this measure in another window or tab while you were editing it here.")
        if entries and all(entry.actor_id == request.user.pk for entry in entries)
        else _("Someone else saved this measure while you were editing it."),
        "changes": measure_history(entries),
        "version": current.version,
        "both": both,
    }
    return _render_form(request, merged, saving_set, flow_set, kind=kind, measure=current,
                        conflict=conflict, status=409)  # fmt: skip


@require_POST
@measure_writers
def measure_figures_preview(request, kind: str | None = None, pk: int | None = None):
    """The figures the form's measure would get (CO2e with its trail, kWh, m3, cost), computed by saving it in a
    transaction that is rolled back; or, when the form cannot be saved, what stops it, field by field. Answers a
    fragment of the page (htmx)."""
    measure = _visible_measure(request, pk) if pk is not None else None
    kind = measure.kind if measure else _kind_or_404(kind)
    form = FORMS[kind](request.POST, instance=measure, user=request.user)
    saving_set, flow_set = _formsets(kind, request.POST)
    preview = None
    if _all_valid(form, saving_set, flow_set):
        try:
            preview = measure_preview(
                measure=form.save(commit=False),
                savings=lines_of(saving_set),
                flows=lines_of(flow_set) if flow_set is not None else None,
            )
        except ValidationError as error:
            add_service_errors(form, error)
    problems, missing = _preview_problems(form, saving_set, flow_set) if preview is None else ([], [])
    context = {"preview": preview, "problems": problems, "missing": missing}
    return render(request, "measures/_figures_preview.html", context)


def _preview_problems(form, saving_set, flow_set) -> tuple[list[tuple[str, str]], list[str]]:
    """What keeps the form from being saved, as (where, message) pairs, and apart from them the required fields
    still empty, by label: a person sees why there are no figures yet."""
    problems: list[tuple[str, str]] = []
    missing: list[str] = []

    def collect(where: str, bound) -> None:
        for name, items in bound.errors.as_data().items():
            field = bound.fields.get(name)
            # A row's confirmation box is named by its own message; its long label would only repeat it.
            label = str(field.label) if field is not None and name != "negative_confirmed" else ""
            place = " · ".join(part for part in (where, label) if part)
            for item in items:
                if item.code == "required":
                    missing.append(place)
                else:
                    problems.extend((place, message) for message in item.messages)

    collect("", form)
    for formset, lines in ((saving_set, _("Annual savings")), (flow_set, _("Exchanged flows"))):
        if formset is None:
            continue
        problems.extend((str(lines), message) for message in formset.non_form_errors())
        number = 0
        for row in formset.forms:
            if getattr(row, "cleaned_data", {}).get("DELETE"):
                continue  # removed: neither counted nor checked
            number += 1
            collect(_("%(lines)s, row %(number)s") % {"lines": lines, "number": number}, row)
    return problems, list(dict.fromkeys(missing))


TRANSITION_ERRORS = {"date": "effective_on", "future": "effective_on", "reason": "reason", "too_large": "evidence",
                     "empty": "evidence", "type": "evidence", "extension": "evidence"}  # fmt: skip


@require_http_methods(["GET", "POST"])
@measure_writers
def measure_status(request, pk: int):
    """A status step (propose, accept, implement, verify, reject, withdraw): its date, reason, measured values and
    evidence, asked for on a page of its own."""
    measure = _visible_measure(request, pk)
    to_status = request.POST.get("to") or request.GET.get("to", "")
    if to_status not in allowed_transitions(measure.status):
        messages.error(request, _("This measure cannot take that step now."))
        return redirect("measures:detail", pk=measure.pk)
    data, files = (request.POST, request.FILES) if request.method == "POST" else (None, None)
    form = TransitionForm(data, files, measure=measure, to_status=to_status)
    if data is not None and form.is_valid():
        upload = form.cleaned_data.get("evidence")
        try:
            measure_transition(
                measure=measure,
                to_status=to_status,
                changed_by=request.user,
                effective_on=form.cleaned_data["effective_on"],
                reason=form.cleaned_data["reason"],
                verified=form.verified() if to_status == Measure.Status.VERIFIED else None,
                evidence=[upload] if upload else None,
            )
        except ValidationError as error:
            add_service_errors(form, error, fields_by_code=TRANSITION_ERRORS)
        else:
            messages.success(
                request,
                _("%(reference)s is now %(status)s.")
                % {"reference": measure.reference, "status": Measure.Status(to_status).label},
            )
            return redirect("measures:detail", pk=measure.pk)
    context = {"measure": measure, "form": form, "to_status": Measure.Status(to_status)}
    return render(request, "measures/measure_status.html", context)


@require_GET
@page_readers
def evidence_file(request, pk: int):
    """An evidence file, only to those who may see its measure (anyone else: 404), always as a download."""
    evidence = get_object_or_404(
        Evidence.objects.filter(measure__in=measures_visible_to(request.user).values("pk")), pk=pk
    )
    response = FileResponse(
        evidence.file.open("rb"), as_attachment=True, filename=evidence.original_name, content_type=evidence.media_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
