from django.contrib import admin

from reports.models import DisclosureRule, EipCriterion, ProgrammeTarget, RollupRow, RollupRun


@admin.register(ProgrammeTarget)
class ProgrammeTargetAdmin(admin.ModelAdmin):
    list_display = ["indicator", "value", "year", "source"]
    search_fields = ["indicator", "name_vi", "name_en", "source"]


@admin.register(EipCriterion)
class EipCriterionAdmin(admin.ModelAdmin):
    list_display = ["indicator", "threshold", "legal_source"]


@admin.register(DisclosureRule)
class DisclosureRuleAdmin(admin.ModelAdmin):
    """What partners may read of totals that include non-consenting enterprises: one row, changed here, never
    removed (without it the defaults apply)."""

    list_display = ["min_enterprises", "max_share", "source", "updated_at"]

    def has_add_permission(self, request):
        return not DisclosureRule.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by the app (roll-up tasks, imports): visible in the admin, never edited by hand."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(RollupRow)
class RollupRowAdmin(ReadOnlyAdmin):
    list_display = ["level", "scope_id", "kind", "technique", "stage", "year", "electricity_kwh", "co2e_t",
                    "measure_count", "enterprise_count", "computed_at"]  # fmt: skip
    list_filter = ["level", "kind", "stage", "year"]


@admin.register(RollupRun)
class RollupRunAdmin(ReadOnlyAdmin):
    list_display = ["finished_at", "mode", "reason", "measures", "rows", "started_at"]
    list_filter = ["mode"]
    search_fields = ["reason"]
