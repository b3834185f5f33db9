from django import forms
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ecopark.models import AuditEntry
from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    ExchangeRate,
    ImportJob,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
    StatusChange,
)
from measures.services import (
    FlowInput,
    SavingInput,
    align_park,
    figures_recompute,
    flow_line,
    record_first_status,
    saving_line,
)
from reports.admin import ReadOnlyAdmin
from reports.services import rollup_mark_changing, rollup_mark_created


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
    def line(self, resource, quantity, unit, cleaned):
        data = SavingInput(resource, quantity, unit, cleaned.get("verified_quantity"))
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


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = ["from_status", "to_status", "changed_by", "changed_at", "effective_on", "reason"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Measure)
class MeasureAdmin(admin.ModelAdmin):
    """Measures are read here and corrected by an administrator; status moves through the lifecycle actions."""

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

    def save_model(self, request, obj, form, change):
        """The admin's change view runs in one transaction: record how the roll-up counted the measure first."""
        if change:
            Measure.objects.select_for_update().filter(pk=obj.pk).first()
            rollup_mark_changing([obj.pk])
            obj.version += 1
        else:
            obj.created_by = request.user
        align_park(obj)
        super().save_model(request, obj, form, change)
        if not change:
            record_first_status(obj, changed_by=request.user)
            rollup_mark_created([obj.pk])

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        figures_recompute(Measure.objects.filter(pk=form.instance.pk))


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
