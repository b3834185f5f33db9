"""Filters of the parks' lists (API and pages)."""

import django_filters

from parks.models import Park, Province


class ProvinceFilterSet(django_filters.FilterSet):
    class Meta:
        model = Province
        fields = ["code"]


class ParkFilterSet(django_filters.FilterSet):
    province = django_filters.CharFilter(field_name="province__code", help_text="Province code, e.g. hai-phong.")

    class Meta:
        model = Park
        fields = ["code", "province", "programme_status"]
