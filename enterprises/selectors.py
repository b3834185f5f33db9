"""Reads of enterprises and outside organisations, scoped to what a user may see."""

from django.db.models import QuerySet

from enterprises.models import Enterprise, Organisation
from parks.selectors import visible_park_ids


def enterprises_visible_to(user) -> QuerySet[Enterprise]:
    """The enterprises of the parks a user may see (the one place that decides it, for lists and details alike)."""
    enterprises = Enterprise.objects.select_related("park")
    ids = visible_park_ids(user)
    return enterprises if ids is None else enterprises.filter(park_id__in=ids)


def organisations_visible_to(user) -> QuerySet[Organisation]:
    """Outside organisations (city agencies, utilities) are named in exchanges: visible to anyone with a role."""
    ids = visible_park_ids(user)
    organisations = Organisation.objects.select_related("province")
    if ids is None:
        return organisations
    return organisations.filter(province__parks__in=ids).distinct() if ids else organisations.none()
