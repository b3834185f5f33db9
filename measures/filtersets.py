"""Filters of the measures' lists (API and pages)."""

import django_filters
from django.db.models import Q

from measures.models import Measure


class MeasureFilterSet(django_filters.FilterSet):
    park = django_filters.CharFilter(field_name="park__code", help_text="Code of the park the measure counts in.")
    province = django_filters.CharFilter(field_name="park__province__code", help_text="Province code.")
    enterprise = django_filters.CharFilter(
        method="filter_enterprise", help_text="Enterprise code: its RECP measures and the exchanges it takes part in."
    )
    status = django_filters.MultipleChoiceFilter(choices=Measure.Status.choices, help_text="One or more statuses.")
    year = django_filters.NumberFilter(
        field_name="reference_year", help_text="Reference year: of implementation, or of the estimate."
    )
    updated_after = django_filters.IsoDateTimeFilter(
        field_name="updated_at", lookup_expr="gt", help_text="Only measures changed after this time (ISO 8601)."
    )

    class Meta:
        model = Measure
        fields = [
            "reference", "kind", "technique", "exchange_type", "park", "province", "enterprise", "status",
            "estimate_year", "year", "updated_after",
        ]  # fmt: skip

    def filter_enterprise(self, queryset, name, value):
        return queryset.filter(
            Q(enterprise__code=value) | Q(source_enterprise__code=value) | Q(sink_enterprise__code=value)
        )
