"""The parks page: the user's parks with their counts, filtered, searched, sorted and exportable."""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ecopark.access import page_readers
from ecopark.listing import Column, ListPage, search_text_matches
from parks.filtersets import ParkPageFilterSet
from parks.selectors import parks_with_counts

COLUMNS = [
    Column("name", gettext_lazy("Industrial park"), lambda p: p.name, ("name_vi",)),
    Column("province", gettext_lazy("Province"), lambda p: p.province.name, ("province__name_vi",)),
    Column("operator", gettext_lazy("Operator"), lambda p: p.operator, ("operator",)),
    Column("area_ha", gettext_lazy("Area (ha)"), lambda p: p.area_ha, ("area_ha",), numeric=True),
    Column("status", gettext_lazy("Status in the programme"), lambda p: p.get_programme_status_display(),
           ("programme_status",)),
    Column("enterprise_count", gettext_lazy("Enterprises"), lambda p: p.enterprise_count, ("enterprise_count",), True),
    Column("recp_count", gettext_lazy("RECP measures"), lambda p: p.recp_count, ("recp_count",), True),
    Column("is_count", gettext_lazy("Symbiosis exchanges"), lambda p: p.is_count, ("is_count",), True),
]  # fmt: skip


@require_GET
@page_readers
def park_list(request):
    listing = ListPage(
        request,
        queryset=parks_with_counts(request.user),
        filterset_class=ParkPageFilterSet,
        columns=COLUMNS,
        default_sort="name",
        search=search_text_matches,
    )
    if listing.export_format:
        return listing.export(name=_("parks"))
    return render(request, "parks/park_list.html", {"listing": listing, "page": listing.page()})
