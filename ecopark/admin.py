"""The audit trail in the admin: readable and exportable, never editable."""

import csv
import datetime

from django.contrib import admin, messages
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecopark.models import ApiKey, AuditEntry
from ecopark.services import DEFAULT_KEY_DAYS, apikey_revoke

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


@admin.action(description=_("Revoke the selected keys"))
def revoke_keys(modeladmin, request, queryset):
    for api_key in queryset:
        apikey_revoke(api_key=api_key)
    modeladmin.message_user(request, _("The selected keys no longer work."), messages.SUCCESS)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff make keys for partners here; the key is shown once, on saving, and only its digest is kept."""

    list_display = ["name", "owner", "prefix", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "owner__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at"]
    actions = [revoke_keys]

    def get_changeform_initial_data(self, request):
        return {"expires_at": timezone.now() + datetime.timedelta(days=DEFAULT_KEY_DAYS)}

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key, prefix = ApiKey.new_secret()
        obj.set_key(key, prefix)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        self.message_user(
            request,
            _("Give this key to its owner now; it is not stored and cannot be shown again: %(key)s") % {"key": key},
            messages.WARNING,
        )
