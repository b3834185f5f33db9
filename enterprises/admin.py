from django.contrib import admin

from ecopark.admin_writes import ServiceAdmin
from ecopark.transactions import retry_on_deadlock
from enterprises.models import Enterprise, Organisation
from enterprises.services import EDITABLE_FIELDS, enterprise_create, enterprise_update


@admin.register(Enterprise)
class EnterpriseAdmin(ServiceAdmin):
    """Enterprises corrected by an administrator, through the same services as the pages and the API: an enterprise
    moved to another park takes its RECP measures with it."""

    list_display = ["name", "code", "park", "sector_code", "size", "joined_programme", "partner_consent"]
    list_filter = ["park__province", "park", "size", "joined_programme", "partner_consent"]
    search_fields = ["name", "code", "sector_code"]
    list_select_related = ["park", "park__province"]
    autocomplete_fields = ["park"]

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The page's transaction is the move's: a deadlock all the same runs the whole save again, once.
        return retry_on_deadlock(super().changeform_view)(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            enterprise_create(enterprise=obj)
            return
        changes = {field: form.cleaned_data[field] for field in form.changed_data if field in EDITABLE_FIELDS}
        if changes:
            enterprise_update(enterprise_id=obj.pk, changes=changes)
            obj.refresh_from_db()


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name_vi", "name_en", "kind", "province"]
    list_filter = ["kind", "province"]
    search_fields = ["name_vi", "name_en"]
    list_select_related = ["province"]
