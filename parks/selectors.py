"""Reads of provinces and parks, scoped to what a user may see."""

from django.db.models import Count, Q, QuerySet

from ecopark.roles import Role, role_of, sees_all_parks
from measures.models import Measure
from parks.models import Park


def parks_visible_to(user) -> QuerySet[Park]:
    """The parks a user may see: all for staff, their memberships for a park manager, none otherwise."""
    parks = Park.objects.select_related("province")
    if sees_all_parks(user):
        return parks
    if role_of(user) == Role.PARK_MANAGER:
        return parks.filter(memberships__user=user)
    return parks.none()


def parks_with_counts(user) -> QuerySet[Park]:
    """Visible parks annotated with their counts of enterprises, RECP measures and symbiosis exchanges."""
    return parks_visible_to(user).annotate(
        enterprise_count=Count("enterprises", distinct=True),
        recp_count=Count("measures", filter=Q(measures__kind=Measure.Kind.RECP), distinct=True),
        is_count=Count("measures", filter=Q(measures__kind=Measure.Kind.IS), distinct=True),
    )
