"""Filters of the enterprises' lists (API and pages)."""

import django_filters

from enterprises.models import Enterprise, Organisation


class EnterpriseFilterSet(django_filters.FilterSet):
    park = django_filters.CharFilter(field_name="park__code", help_text="Park code.")
    province = django_filters.CharFilter(field_name="park__province__code", help_text="Province code.")

    class Meta:
        model = Enterprise
        fields = ["code", "park", "province", "size", "joined_programme", "partner_consent"]


class OrganisationFilterSet(django_filters.FilterSet):
    province = django_filters.CharFilter(field_name="province__code", help_text="Province code.")

    class Meta:
        model = Organisation
        fields = ["province", "kind"]
