"""Filters of the enterprises' lists (API and pages)."""

import django_filters
from django.utils.translation import gettext_lazy as _

from ecopark.api.filters import StrictFilterSet
from enterprises.models import Enterprise, Organisation
from enterprises.selectors import enterprises_visible_to
from parks.filtersets import visible_parks, visible_provinces


class EnterpriseFilterSet(StrictFilterSet):
    park = django_filters.CharFilter(field_name="park__code", help_text="Park code.")
    province = django_filters.CharFilter(field_name="park__province__code", help_text="Province code.")

    class Meta:
        model = Enterprise
        fields = ["code", "park", "province", "size", "joined_programme", "partner_consent"]


class OrganisationFilterSet(StrictFilterSet):
    province = django_filters.CharFilter(field_name="province__code", help_text="Province code.")

    class Meta:
        model = Organisation
        fields = ["province", "kind"]


def visible_enterprises(request):
    return enterprises_visible_to(request.user).order_by("name")


class EnterprisePageFilterSet(django_filters.FilterSet):
    """The enterprises page's filters, with choices limited to what the user may see."""

    province = django_filters.ModelChoiceFilter(
        field_name="park__province", queryset=visible_provinces, to_field_name="code", label=_("Province")
    )
    park = django_filters.ModelChoiceFilter(queryset=visible_parks, to_field_name="code", label=_("Park"))
    size = django_filters.ChoiceFilter(choices=Enterprise.Size.choices, label=_("Size"))

    class Meta:
        model = Enterprise
        fields = ["province", "park", "size"]
