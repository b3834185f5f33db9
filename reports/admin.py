from django.contrib import admin

from reports.models import ProgrammeTarget


@admin.register(ProgrammeTarget)
class ProgrammeTargetAdmin(admin.ModelAdmin):
    list_display = ["indicator", "value", "year", "source"]
    search_fields = ["indicator", "name_vi", "name_en", "source"]
