"""Reads of enterprises and outside organisations, scoped to what a user may see."""

from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from enterprises.models import Enterprise, Organisation
from measures.models import Measure
from parks.selectors import visible_park_ids


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    """The enterprises of the parks a user may see (the one place that decides it, for lists and details alike)."""
    enterprises = Enterprise.objects.select_related("park")
    ids = visible_park_ids(user)
    return enterprises if ids is None else enterprises.filter(park_id__in=ids)


def recp_counts() -> Coalesce:
    """Each enterprise's count of RECP measures (every status), for `annotate()`: one index lookup per enterprise.

    A subquery per row, not a count over a join of enterprises and measures: a page of 25 enterprises probes the index
    25 times (PostgreSQL computes it after the LIMIT); sorting by it counts each enterprise's measures once. Only RECP
    measures have an `enterprise` (constraints `measure_recp_has_enterprise_and_technique` and
    `measure_is_has_one_source_and_one_sink`), so the count needs no `kind` and reads the index alone.
    """
    measures = (
        Measure.objects.order_by()
        .filter(enterprise=OuterRef("pk"))
        .values("enterprise")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(measures, output_field=IntegerField()), 0)


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Outside organisations (city agencies, utilities) are named in exchanges: visible to anyone with a role."""
    ids = visible_park_ids(user)
    organisations = Organisation.objects.select_related("province")
    if ids is None:
        return organisations
    return organisations.filter(province__parks__in=ids).distinct() if ids else organisations.none()
