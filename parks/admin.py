from django.contrib import admin

from parks.models import Park, ParkMembership, Province, ProvinceStatistic


class ProvinceStatisticInline(admin.TabularInline):
    model = ProvinceStatistic
    extra = 0


class ParkInline(admin.TabularInline):
    model = Park
    extra = 0
    fields = ["code", "name_vi", "operator", "area_ha", "programme_status"]
    show_change_link = True


@admin.register(Province)
class ProvinceAdmin(admin.ModelAdmin):
    list_display = ["name_vi", "name_en", "code"]
    search_fields = ["name_vi", "name_en", "code"]
    inlines = [ProvinceStatisticInline, ParkInline]


@admin.register(ProvinceStatistic)
class ProvinceStatisticAdmin(admin.ModelAdmin):
    list_display = ["province", "year", "operating_parks", "investment_projects", "registered_capital_usd", "source"]
    list_filter = ["province", "year"]
    search_fields = ["province__name_vi", "source"]


class ParkMembershipInline(admin.TabularInline):
    model = ParkMembership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Park)
class ParkAdmin(admin.ModelAdmin):
    list_display = ["name_vi", "province", "operator", "area_ha", "programme_status"]
    list_filter = ["province", "programme_status"]
    search_fields = ["name_vi", "name_en", "code", "operator", "district"]
    list_select_related = ["province"]
    inlines = [ParkMembershipInline]


@admin.register(ParkMembership)
class ParkMembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "park"]
    list_filter = ["park"]
    search_fields = ["user__username", "park__name_vi"]
    autocomplete_fields = ["user", "park"]
    list_select_related = ["user", "park"]
