"""Reads of provinces and parks, scoped to what a user may see."""

from django.db.models import Case, Count, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from ecopark.roles import Role, role_of, sees_all_parks
from measures.models import Measure
from parks.models import Park, ParkMembership, Province


def parks_visible_to(user) -> QuerySet[Park]:
    """The parks a user may see: all for staff and partners (who read through the API), their memberships for a
    park manager, none otherwise. Every scoped read of the register starts here."""
    parks = Park.objects.select_related("province")
    if role_of(user) == Role.PARK_MANAGER:
        return parks.filter(memberships__user=user)  # the rows of visible_park_ids, joined rather than asked first
    return parks if visible_park_ids(user) is None else parks.none()


def visible_park_ids(user) -> list[int] | None:
    """The ids of the parks a user may see, or None for all of them (asked once per request)."""
    role = role_of(user)
    if sees_all_parks(user) or role == Role.PARTNER:
        return None
    if role != Role.PARK_MANAGER:
        return []
    if not hasattr(user, "_ecopark_park_ids"):
        user._ecopark_park_ids = list(ParkMembership.objects.filter(user=user).values_list("park_id", flat=True))
    return user._ecopark_park_ids


def provinces_visible_to(user) -> QuerySet[Province]:
    """Provinces are public reference data for anyone with a role; a park manager sees those of their parks."""
    ids = visible_park_ids(user)
    if ids is None:
        return Province.objects.all()
    return Province.objects.filter(parks__in=ids).distinct()


def parks_with_counts(user) -> QuerySet[Park]:
    """Visible parks annotated with their counts of enterprises, RECP measures and symbiosis exchanges (every status).

    The enterprises are counted per park in the query (an index lookup of a few hundred rows each); the measures come
    from the register's counts (`measures.selectors.register_counts_for`: one pass over an index, kept until the next
    write), set on each park as a constant so that the list still filters, sorts and pages in the database.
    """
    from enterprises.models import Enterprise
    from measures.selectors import register_counts_for  # measures.selectors reads parks.selectors: import when asked

    by_park = register_counts_for(user).by_park
    enterprises = (
        Enterprise.objects.order_by().filter(park=OuterRef("pk")).values("park").annotate(n=Count("*")).values("n")
    )
    return parks_visible_to(user).annotate(
        enterprise_count=Coalesce(Subquery(enterprises, output_field=IntegerField()), 0),
        recp_count=_per_park(by_park, Measure.Kind.RECP),
        is_count=_per_park(by_park, Measure.Kind.IS),
    )


def _per_park(by_park: dict[int, dict[str, int]], kind: str):
    """A park's count of one kind, as an SQL constant per park (0 for a park with none)."""
    cases = [When(pk=pk, then=Value(counts[kind])) for pk, counts in sorted(by_park.items()) if counts[kind]]
    return Case(*cases, default=Value(0), output_field=IntegerField())
