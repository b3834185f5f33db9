"""Pages built on the register's figures: the programme overview."""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from ecopark.access import page_readers
from ecopark.roles import sees_all_parks
from ecopark.text import fold
from measures.models import Measure
from measures.selectors import headline
from parks.selectors import parks_visible_to, parks_with_counts
from reports.models import ProgrammeTarget, RollupRow
from reports.selectors import totals_for_parks


@require_GET
@page_readers
def home(request):
    """The programme as the user may see it: headline figures, then provinces with their parks and counts."""
    parks = list(parks_with_counts(request.user))
    parks.sort(key=lambda park: (fold(park.province.name), fold(park.name)))
    provinces: dict = {}
    for park in parks:
        provinces.setdefault(park.province, []).append(park)
    measures = Measure.objects.filter(park__in=parks_visible_to(request.user))
    whole = sees_all_parks(request.user)
    totals = totals_for_parks(None if whole else [park.pk for park in parks])
    context = {
        "provinces": provinces,
        "headline": headline(measures),
        "stages": [(RollupRow.Stage(stage).label, figures) for stage, figures in totals.stages.items()],
        "potential": totals.stages[RollupRow.Stage.POTENTIAL],
        "as_of": totals.as_of,
        "whole_programme": whole,
        "targets": {t.indicator: t for t in ProgrammeTarget.objects.all()},
    }
    return render(request, "reports/home.html", context)
