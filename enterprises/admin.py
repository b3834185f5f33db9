from django.contrib import admin

from enterprises.models import Enterprise, Organisation


@admin.register(Enterprise)
class EnterpriseAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "park", "sector_code", "size", "joined_programme", "partner_consent"]
    list_filter = ["park__province", "park", "size", "joined_programme", "partner_consent"]
    search_fields = ["name", "code", "sector_code"]
    list_select_related = ["park", "park__province"]
    autocomplete_fields = ["park"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name_vi", "name_en", "kind", "province"]
    list_filter = ["kind", "province"]
    search_fields = ["name_vi", "name_en"]
    list_select_related = ["province"]
