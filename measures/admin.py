from django import forms
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ecopark.admin_writes import ServiceAdmin
from ecopark.models import AuditEntry
from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    ExchangeRate,
    ImportJob,
    Measure,
    MeasureSaving,
    PlausibilityWindow,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.services import (
    EDITABLE_FIELDS,
    FlowInput,
    SavingInput,
    flow_line,
    measure_create,
    measure_delete,
    measure_update,
    saving_line,
)
from reports.admin import ReadOnlyAdmin


@admin.register(Resource)
class ResourceAdmin(admin.ModelAdmin):
    list_display = ["code", "name_vi", "name_en", "category", "canonical_unit", "density_t_per_m3"]
    list_filter = ["category", "canonical_unit"]
    search_fields = ["code", "name_vi", "name_en"]


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    list_display = ["resource", "region", "year", "value", "per_unit", "basis", "is_official", "source"]
    list_filter = ["region", "basis", "is_official", "resource"]
    search_fields = ["resource__code", "resource__name_vi", "source"]
    list_select_related = ["resource"]


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    list_display = ["currency", "year", "vnd_per_unit", "is_official", "source"]
    list_filter = ["currency", "is_official"]


class QuantityLineForm(forms.ModelForm):
    """An admin row of savings or flows, validated and converted by the same code as every other write."""

    def clean(self):
        cleaned = super().clean()
        resource, quantity, unit = cleaned.get("resource"), cleaned.get("quantity"), cleaned.get("unit")
        if resource is None or quantity is None or not unit:
            return cleaned
        try:
            line = self.line(resource, quantity, unit, cleaned)
        except ValidationError as error:
            raise forms.ValidationError(error.messages) from error
        for field in ("quantity_canonical", "verified_quantity_canonical"):
            if hasattr(line, field):
                setattr(self.instance, field, getattr(line, field))
        return cleaned


class SavingLineForm(QuantityLineForm):
    """A saving row; a negative one (a measure that raises the use of a resource) is saved only when confirmed."""

    negative_confirmed = forms.BooleanField(
        label=_("I confirm this saving is negative (the measure increases use)"), required=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["negative_confirmed"].initial = self.instance.is_increase

    def line(self, resource, quantity, unit, cleaned):
        data = SavingInput(resource, quantity, unit, cleaned.get("verified_quantity"),
                           negative_confirmed=bool(cleaned.get("negative_confirmed")))  # fmt: skip
        return saving_line(Measure(), data)


class FlowLineForm(QuantityLineForm):
    def line(self, resource, quantity, unit, cleaned):
        data = FlowInput(resource, quantity, unit, cleaned.get("direction") or ResourceFlow.Direction.FORWARD)
        return flow_line(Measure(), data)


class MeasureSavingInline(admin.TabularInline):
    model = MeasureSaving
    form = SavingLineForm
    extra = 0
    readonly_fields = ["quantity_canonical", "verified_quantity_canonical"]


class ResourceFlowInline(admin.TabularInline):
    model = ResourceFlow
    form = FlowLineForm
    extra = 0
    readonly_fields = ["quantity_canonical"]


class Co2eTrailLineInline(admin.TabularInline):
    model = Co2eTrailLine
    extra = 0
    can_delete = False
    readonly_fields = [
        "resource",
        "quantity",
        "unit",
        "factor",
        "factor_value",
        "factor_unit",
        "basis",
        "result_t",
        "note",
    ]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Shown, never posted back: a save elsewhere that recomputed these rows must not invalidate an open page.
        return False


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "effective_on", "reason"]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        # Shown, never posted back: a save elsewhere that recomputed these rows must not invalidate an open page.
        return False


class MeasureAdminForm(forms.ModelForm):
    """The admin's measure form. It carries the version the page was opened at: a save over someone else's since is
    refused, as on the measure's own page."""

    opened_at_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["opened_at_version"].initial = self.instance.version


def _kept_rows(formset) -> list[dict]:
    """The cleaned rows of a lines inline that the measure keeps: stored rows not marked for removal, and new rows
    filled in."""
    removed = formset.deleted_forms
    kept = [form for form in formset.forms if form not in removed]
    return [form.cleaned_data for form in kept if form.instance.pk is not None or form.has_changed()]


def _saving_inputs(formset) -> list[SavingInput] | None:
    """The savings as posted, for the services; None when the page had no savings inline (they stay as they are)."""
    if formset is None:
        return None
    rows = _kept_rows(formset)
    return [
        SavingInput(r["resource"], r["quantity"], r["unit"], r.get("verified_quantity"),
                    negative_confirmed=bool(r.get("negative_confirmed")))
        for r in rows
    ]  # fmt: skip


def _flow_inputs(formset) -> list[FlowInput] | None:
    """The flows as posted, for the services; None when the page had no flows inline."""
    if formset is None:
        return None
    forward = ResourceFlow.Direction.FORWARD
    rows = _kept_rows(formset)
    return [FlowInput(r["resource"], r["quantity"], r["unit"], r.get("direction") or forward) for r in rows]


def _note_lines(formset) -> None:
    """What the inline's rows became, for the admin's change message (the services saved them, not the formset)."""
    removed = formset.deleted_forms
    changed = [form for form in formset.forms if form not in removed and form.has_changed()]
    formset.deleted_objects = [form.instance for form in removed if form.instance.pk is not None]
    formset.changed_objects = [(form.instance, form.changed_data) for form in changed if form.instance.pk is not None]
    formset.new_objects = [form.instance for form in changed if form.instance.pk is None]


@admin.register(Measure)
class MeasureAdmin(ServiceAdmin):
    """Measures are read here and corrected by an administrator, through the same services as every other channel;
    status moves through the lifecycle's steps on the measure's page."""

    form = MeasureAdminForm

    list_display = ["reference", "title_vi", "kind", "park", "enterprise", "status", "estimate_year", "co2e_t"]
    list_filter = ["kind", "status", "technique", "exchange_type", "park__province", "park", "estimate_year"]
    search_fields = ["reference", "title_vi", "title_en", "enterprise__name"]
    list_select_related = ["park", "enterprise"]
    autocomplete_fields = [
        "park",
        "enterprise",
        "source_enterprise",
        "source_park",
        "source_organisation",
        "sink_enterprise",
        "sink_park",
        "sink_organisation",
    ]
    readonly_fields = ["status", "co2e_t", "co2e_computed_t", "co2e_biogenic_t", "version", "created_by",
                       "created_at", "change_history"]  # fmt: skip
    inlines = [MeasureSavingInline, ResourceFlowInline, Co2eTrailLineInline, StatusChangeInline]

    @admin.display(description=_("change history"))
    def change_history(self, obj):
        """The measure's audit entries (its own fields; its lines have entries of their own)."""
        if obj.pk is None:
            return "-"
        entries = AuditEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Measure), object_id=str(obj.pk)
        ).select_related("actor")[:50]
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (date_format(timezone.localtime(e.at), "SHORT_DATETIME_FORMAT"), e.actor or "-",
                 e.get_channel_display(), "; ".join(f"{k}: {o} → {n}" for k, (o, n) in sorted(e.changes.items())))
                for e in entries
            ),
        )  # fmt: skip
        return format_html("<table>{}</table>", rows) if entries else "-"

    def get_readonly_fields(self, request, obj=None):
        """An administrator changes what an edit may change (`EDITABLE_FIELDS`), and names a new measure."""
        editable = {*EDITABLE_FIELDS, *([] if obj is not None else ["reference"])}
        fields = [f.name for f in Measure._meta.concrete_fields if f.editable and not f.primary_key]
        return [*self.readonly_fields, *(f for f in fields if f not in editable and f not in self.readonly_fields)]

    def save_model(self, request, obj, form, change):
        """Nothing yet: the measure and its lines are written together, by the services, in `save_related`."""

    def save_related(self, request, form, formsets, change):
        """Write the measure with its savings and flows as every other channel does (`measure_create`,
        `measure_update`): the same validation, figures, audit entries and roll-up marks."""
        inlines = {formset.model: formset for formset in formsets}
        savings, flows = _saving_inputs(inlines.get(MeasureSaving)), _flow_inputs(inlines.get(ResourceFlow))
        measure = form.instance
        if change:
            measure_update(
                measure_id=measure.pk,
                changes={field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE_FIELDS},
                savings=savings,
                flows=flows,
                expected_version=form.cleaned_data.get("opened_at_version"),
                changed_by=request.user,
            )
            measure.refresh_from_db()
        else:
            measure_create(measure=measure, savings=savings or [], flows=flows, created_by=request.user)
        for formset in formsets:
            _note_lines(formset)

    def delete_model(self, request, obj):
        measure_delete(measure_id=obj.pk, deleted_by=request.user)

    def delete_queryset(self, request, queryset):
        """The bulk action: every selected measure deleted as one would be, all or none (locked in one order)."""
        with transaction.atomic():
            for pk in queryset.order_by("pk").values_list("pk", flat=True):
                measure_delete(measure_id=pk, deleted_by=request.user)


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ["measure", "from_status", "to_status", "changed_by", "changed_at", "effective_on"]
    list_filter = ["to_status"]
    search_fields = ["measure__reference", "reason"]
    list_select_related = ["measure", "changed_by"]

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """The import log: read-only (an import is made and confirmed on the import page)."""

    list_display = ["uploaded_at", "uploaded_by", "original_name", "row_count", "state", "committed_at"]
    list_filter = ["state"]
    search_fields = ["original_name", "uploaded_by__username"]
    exclude = ["file"]  # kept for the task that reads it; never served back


@admin.register(PlausibilityWindow)
class PlausibilityWindowAdmin(admin.ModelAdmin):
    """The register's window of estimate years: one row, changed here, never removed (the checks need it)."""

    list_display = ["earliest_estimate_year", "latest_estimate_year", "years_ahead", "source", "updated_at"]

    def has_add_permission(self, request):
        return not PlausibilityWindow.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
