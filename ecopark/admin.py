"""The audit trail in the admin: readable and exportable, never editable."""

import csv
import datetime

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecopark.admin_writes import ServiceAdmin
from ecopark.models import ApiKey, AuditEntry
from ecopark.roles import Role, role_of
from ecopark.services import DEFAULT_KEY_DAYS, apikey_issue, apikey_revoke

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
class ApiKeyAdmin(ServiceAdmin):
    """Keys are made here (through `apikey_issue`); the key is shown once, on saving, and only its digest is kept.

    An administrator makes keys for anyone; anyone else only for themselves (the owner field offers only them). A
    key's owner never changes, and a revocation is final.
    """

    list_display = ["name", "owner", "prefix", "created_by", "created_at", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at", "expires_at"]
    search_fields = ["name", "owner__username", "prefix"]
    readonly_fields = ["prefix", "created_at", "created_by", "last_used_at"]
    list_select_related = ["owner", "created_by"]
    actions = [revoke_keys]

    def get_changeform_initial_data(self, request):
        initial = {"expires_at": timezone.now() + datetime.timedelta(days=DEFAULT_KEY_DAYS)}
        if role_of(request.user) != Role.ADMINISTRATOR:
            initial["owner"] = request.user.pk
        return initial

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            fields.append("owner")
            if obj.revoked_at is not None:
                fields.append("revoked_at")
        return fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "owner" and role_of(request.user) != Role.ADMINISTRATOR:
            kwargs["queryset"] = get_user_model().objects.filter(pk=request.user.pk)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        key = apikey_issue(api_key=obj, created_by=request.user)
        self.message_user(
            request,
            _("Give this key to its owner now; it is not stored and cannot be shown again: %(key)s") % {"key": key},
            messages.WARNING,
        )
