"""Filters of the parks' lists (API and pages)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from ecopark.api.filters import StrictFilterSet
from parks.models import Park, Province
from parks.selectors import parks_visible_to, provinces_visible_to


class ProvinceFilterSet(StrictFilterSet):
    class Meta:
        model = Province
        fields = ["code"]


class ParkFilterSet(StrictFilterSet):
    province = django_filters.CharFilter(field_name="province__code", help_text="Province code, e.g. hai-phong.")

    class Meta:
        model = Park
        fields = ["code", "province", "programme_status"]


# Choices of the pages' filters, limited to what the request's user may see (django-filter calls them per request).
def visible_provinces(request):
    return provinces_visible_to(request.user)


def visible_parks(request):
    return parks_visible_to(request.user)


class ParkPageFilterSet(django_filters.FilterSet):
    """The parks page's filters."""

    province = django_filters.ModelChoiceFilter(queryset=visible_provinces, to_field_name="code", label=_("Province"))
    programme_status = django_filters.ChoiceFilter(
        choices=Park.ProgrammeStatus.choices, label=_("Status in the programme")
    )

    class Meta:
        model = Park
        fields = ["province", "programme_status"]
