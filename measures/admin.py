from django.contrib import admin

from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    ExchangeRate,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
    StatusChange,
)


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


class MeasureSavingInline(admin.TabularInline):
    model = MeasureSaving
    extra = 0
    readonly_fields = ["quantity_canonical", "verified_quantity_canonical"]


class ResourceFlowInline(admin.TabularInline):
    model = ResourceFlow
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
    readonly_fields = ["status", "co2e_t", "co2e_computed_t", "co2e_biogenic_t", "version", "created_by", "created_at"]
    inlines = [MeasureSavingInline, ResourceFlowInline, Co2eTrailLineInline, StatusChangeInline]


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
