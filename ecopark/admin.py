"""The audit trail in the admin: readable and exportable, never editable."""

import csv

from django.contrib import admin
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecopark.models import AuditEntry

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    """A cell value that a spreadsheet shows as text and never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@admin.action(description=_("Export the selected entries as CSV"))
def export_csv(modeladmin, request, queryset):
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="audit-{timezone.localdate():%Y%m%d}.csv"'
    response.write("\ufeff")  # so that spreadsheet programs read UTF-8 (Vietnamese) correctly
    writer = csv.writer(response)
    writer.writerow([str(h) for h in (_("when"), _("who"), _("channel"), _("action"), _("type"), _("record"),
                                      _("field"), _("old value"), _("new value"))])  # fmt: skip
    for entry in queryset.select_related("actor", "content_type"):
        when = timezone.localtime(entry.at).isoformat(timespec="seconds")
        head = [when, entry.actor or "", entry.get_channel_display(), entry.get_action_display(),
                entry.content_type.name, entry.object_repr]  # fmt: skip
        for field, (old, new) in sorted(entry.changes.items()) or [("", (None, None))]:
            writer.writerow([spreadsheet_safe(v) for v in (*head, field, old, new)])
    return response


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["at", "actor", "channel", "action", "record_type", "object_repr"]
    list_filter = ["channel", "action", "content_type"]
    search_fields = ["object_repr", "object_id", "actor__username"]
    list_select_related = ["actor", "content_type"]
    actions = [export_csv]
    date_hierarchy = "at"

    @admin.display(description=_("type"), ordering="content_type")
    def record_type(self, entry):
        model = entry.content_type.model_class()
        return model._meta.verbose_name if model else entry.content_type.model

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
