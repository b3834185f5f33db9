"""Pages built on the register's figures: the programme overview and the dashboards."""

from urllib.parse import urlencode

from django.shortcuts import render
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ecopark.access import page_readers
from ecopark.roles import sees_all_parks
from ecopark.text import fold
from measures.models import Measure
from measures.selectors import register_counts_for
from parks.selectors import parks_with_counts
from reports.api.serializers import DashboardQuerySerializer
from reports.dashboards import dashboard, dashboard_tables, min_year_max_year, scope_for
from reports.exports import export_tables
from reports.models import ProgrammeTarget, RollupRow
from reports.selectors import totals_for_parks
from reports.services import ALL


@require_GET
@page_readers
def home(request):
    """The programme as the user may see it: headline figures, then provinces with their parks and counts."""
    parks = list(parks_with_counts(request.user))
    parks.sort(key=lambda park: (fold(park.province.name), fold(park.name)))
    provinces: dict = {}
    for park in parks:
        provinces.setdefault(park.province, []).append(park)
    whole = sees_all_parks(request.user)
    totals = totals_for_parks(None if whole else [park.pk for park in parks])
    context = {
        "provinces": provinces,
        "headline": register_counts_for(request.user),  # the same counts as the parks' rows, kept until a write
        "stages": [(RollupRow.Stage(stage).label, figures) for stage, figures in totals.stages.items()],
        "potential": totals.stages[RollupRow.Stage.POTENTIAL],
        "as_of": totals.as_of,
        "whole_programme": whole,
        "targets": {t.indicator: t for t in ProgrammeTarget.objects.all()},
    }
    return render(request, "reports/home.html", context)


def _dashboard_filters(request) -> tuple[str, int]:
    """The kind and year asked for, checked as the API checks them; anything else shows everything."""
    params = DashboardQuerySerializer(
        data={"kind": request.GET.get("kind") or ALL, "year": request.GET.get("year") or 0}
    )
    if not params.is_valid():
        return ALL, 0
    return params.validated_data["kind"], params.validated_data["year"]


@require_GET
@page_readers
def dashboard_page(request, level: str = RollupRow.Level.PROGRAMME, pk: int = 0):
    """A dashboard: tiles, progress, pipeline, breakdowns, children, flows; charts drawn from the API's data."""
    scope = scope_for(request.user, level, pk)
    kind, year = _dashboard_filters(request)
    data = dashboard(request.user, scope, kind=kind, year=year)
    tables = dashboard_tables(data)
    fmt = request.GET.get("export")
    if fmt in ("csv", "xlsx"):
        return export_tables(tables, fmt=fmt, table=request.GET.get("table"), name=_("dashboard"))
    query = {"level": scope.level, "kind": kind, "year": year, **({"id": scope.id} if scope.id else {})}
    low, high = min_year_max_year()
    context = {
        "scope": scope,
        "data": data,
        "as_of": parse_datetime(data["as_of"]) if data["as_of"] else None,
        "tables": tables,
        "tiles": [(RollupRow.Stage(stage).label, figures) for stage, figures in data["tiles"].items()],
        "api_url": reverse("api:dashboard") + "?" + urlencode(query),
        "kind": kind,
        "year": year,
        "kinds": [(ALL, _("All kinds")), *Measure.Kind.choices],
        "years": list(range(high, low - 1, -1)) if low else [],
        "filters_query": urlencode({"kind": kind, "year": year}),
        "chart_labels": {
            "co2e": _("tCO₂e/yr"),
            "measures": _("Measures"),
            "potential": _("Potential"),
            "realised": _("Realised"),
            "share": _("Share of the target (%)"),
        },
    }
    return render(request, "reports/dashboard.html", context)
