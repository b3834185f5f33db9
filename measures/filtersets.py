"""Filters of the measures' lists (API and pages)."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ecopark.api.filters import IntegerFilter, StrictFilterSet, TimestampFilter
from enterprises.filtersets import visible_enterprises
from measures.models import Measure
from parks.filtersets import visible_parks, visible_provinces


class MeasureFilterSet(StrictFilterSet):
    park = django_filters.CharFilter(field_name="park__code", help_text="Code of the park the measure counts in.")
    province = django_filters.CharFilter(field_name="park__province__code", help_text="Province code.")
    enterprise = django_filters.CharFilter(
        method="filter_enterprise", help_text="Enterprise code: its RECP measures and the exchanges it takes part in."
    )
    status = django_filters.MultipleChoiceFilter(choices=Measure.Status.choices, help_text="One or more statuses.")
    year = IntegerFilter(
        field_name="reference_year",
        min_value=0,
        max_value=32767,
        help_text="Reference year: of implementation, or of the estimate.",
    )
    updated_after = TimestampFilter(
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


def _years():
    """Years to choose from, newest first, after an empty choice (django-filter adds none to callable choices)."""
    year = timezone.localdate().year
    return [("", "---------"), *((str(y), str(y)) for y in range(year + 1, 2014, -1))]


class MeasurePageFilterSet(django_filters.FilterSet):
    """The measures page's filters: choices limited to what the user may see (the enterprise typed as its code)."""

    province = django_filters.ModelChoiceFilter(
        field_name="park__province", queryset=visible_provinces, to_field_name="code", label=_("Province")
    )
    park = django_filters.ModelChoiceFilter(queryset=visible_parks, to_field_name="code", label=_("Park"))
    # Typed as the enterprise's code: a list of every enterprise would put tens of thousands of options in each page
    # (seconds to render at 20,000 enterprises). A code the user may not see, or none's, matches nothing.
    enterprise = django_filters.CharFilter(
        method="filter_enterprise",
        label=_("Enterprise"),
        widget=forms.TextInput(attrs={"placeholder": _("Enterprise code"), "size": 14}),
    )
    kind = django_filters.ChoiceFilter(choices=Measure.Kind.choices, label=_("Kind"))
    technique = django_filters.ChoiceFilter(choices=Measure.Technique.choices, label=_("Technique"))
    status = django_filters.ChoiceFilter(choices=Measure.Status.choices, label=_("Status"))
    year = django_filters.TypedChoiceFilter(field_name="reference_year", choices=_years, coerce=int, label=_("Year"))

    class Meta:
        model = Measure
        fields = ["province", "park", "enterprise", "kind", "technique", "status", "year"]

    def filter_enterprise(self, queryset, name, value):
        # The enterprise first, then its measures: three index lookups rather than an OR across three joins.
        found = visible_enterprises(self.request).filter(code=value.strip()).values_list("pk", flat=True).first()
        if found is None:
            return queryset.none()
        return queryset.filter(Q(enterprise=found) | Q(source_enterprise=found) | Q(sink_enterprise=found))
