"""Reads of the measure register: headline counts and potential savings, summed from scratch over the measures."""

from dataclasses import dataclass
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from ecopark.counts import REGISTER, ProcessMemo, cached_value, versions_of
from measures.models import Measure, MeasureSaving, Resource
from measures.services import CO2E_PLACES
from parks.selectors import visible_park_ids

LIVE = Q(status__in=Measure.POTENTIAL_STATUSES)  # the live pipeline: the potential stage
# Options proposed to their enterprise: the live pipeline past identification (the seed's "295 of 612").
PROPOSED_OR_LATER = Q(status__in=[s for s in Measure.POTENTIAL_STATUSES if s != Measure.Status.IDENTIFIED])


QUANTITY_PLACES = Decimal("0.0001")
MONEY_PLACES = Decimal("0.01")


def exact_sum(total, places: Decimal) -> Decimal:
    """A database sum back at the precision of its column (SQLite sums decimals as floating point)."""
    return Decimal(str(total or 0)).quantize(places)


@dataclass(frozen=True)
class Headline:
    """What the programme reports: options, enterprises, exchanges and potential annual savings."""

    recp_identified: int
    recp_proposed: int
    enterprises: int
    enterprises_proposed: int
    is_count: int
    electricity_kwh: Decimal
    water_m3: Decimal
    cost_usd: Decimal
    co2e_t: Decimal


def headline(measures: QuerySet[Measure]) -> Headline:
    """Counts over all the measures, and potential savings over the live pipeline (not rejected or withdrawn)."""
    counts = register_counts(measures)
    live = measures.filter(LIVE)
    by_category = dict(
        MeasureSaving.objects.filter(measure__in=live)
        .values_list("resource__category")
        .annotate(total=Sum("quantity_canonical"))
        .values_list("resource__category", "total")
    )
    sums = live.aggregate(cost_usd=Sum("cost_usd"), co2e_t=Sum("co2e_t"))
    return Headline(
        recp_identified=counts.recp_identified,
        recp_proposed=counts.recp_proposed,
        enterprises=counts.enterprises,
        enterprises_proposed=counts.enterprises_proposed,
        is_count=counts.is_count,
        electricity_kwh=exact_sum(by_category.get(Resource.Category.ELECTRICITY), QUANTITY_PLACES),
        water_m3=exact_sum(by_category.get(Resource.Category.WATER), QUANTITY_PLACES),
        cost_usd=exact_sum(sums["cost_usd"], MONEY_PLACES),
        co2e_t=exact_sum(sums["co2e_t"], CO2E_PLACES),
    )


@dataclass(frozen=True)
class RegisterCounts:
    """What a set of measures holds, whatever became of each: RECP options (all, and proposed or later), the
    enterprises they are for, symbiosis exchanges; and per park, its RECP measures and exchanges."""

    recp_identified: int
    recp_proposed: int
    enterprises: int
    enterprises_proposed: int
    is_count: int
    by_park: dict[int, dict[str, int]]  # park id -> {"recp": n, "is": n}


def register_counts(measures: QuerySet[Measure]) -> RegisterCounts:
    """The counts of a set of measures (the one definition the home page, the parks page and the dashboards show).

    Three queries that read indexes: the measures by park, kind and status (an index-only pass over
    `measure_park_kind_status`), and the enterprises that have an RECP measure, and one proposed or later (each a
    semi-join probing `measure_enterprise_status` once per enterprise). Never a count of distinct rows over a join
    of enterprises and measures. At a million measures they take a few hundred ms: callers keep the result under the
    register's version (`register_counts_for`).
    """
    from enterprises.models import Enterprise

    by_park: dict[int, dict[str, int]] = {}
    recp_identified = recp_proposed = is_count = 0
    proposed_or_later = {s for s in Measure.POTENTIAL_STATUSES if s != Measure.Status.IDENTIFIED}
    rows = measures.order_by().values_list("park_id", "kind", "status").annotate(n=Count("*"))
    for park_id, kind, status, n in rows:
        park = by_park.setdefault(park_id, {"recp": 0, "is": 0})
        park[str(kind)] += n
        if kind == Measure.Kind.RECP:
            recp_identified += n
            recp_proposed += n if status in proposed_or_later else 0
        else:
            is_count += n
    recp = measures.order_by().filter(kind=Measure.Kind.RECP)
    enterprises = Enterprise.objects.filter(Exists(recp.filter(enterprise=OuterRef("pk"))))
    proposed = Enterprise.objects.filter(Exists(recp.filter(PROPOSED_OR_LATER, enterprise=OuterRef("pk"))))
    return RegisterCounts(
        recp_identified=recp_identified,
        recp_proposed=recp_proposed,
        enterprises=enterprises.order_by().count(),
        enterprises_proposed=proposed.order_by().count(),
        is_count=is_count,
        by_park=by_park,
    )


def register_counts_for(user) -> RegisterCounts:
    """The counts of the measures a user may see, computed once per version of the register and of the measures
    (every write changes one of them), so they are never stale and a page that shows them costs no count."""
    ids = visible_park_ids(user)
    scope = "all" if ids is None else ",".join(map(str, sorted(ids)))
    version = ":".join(versions_of(REGISTER, Measure._meta.db_table))
    return cached_value(
        f"register-counts:{scope}", lambda: register_counts(measures_visible_to(user)), version=version, memo=_counted
    )


_counted = ProcessMemo(limit=1_000)


def measures_visible_to(user) -> QuerySet[Measure]:
    """The measures a user may see: those counted in the parks they may see (lists and details alike)."""
    ids = visible_park_ids(user)
    return Measure.objects.all() if ids is None else Measure.objects.filter(park_id__in=ids)


PARK_PARTIES = ("park", "source_park", "sink_park")
ENTERPRISE_PARTIES = ("enterprise", "source_enterprise", "sink_enterprise")
# The columns a list page shows (all but the long descriptions).
LIST_COLUMNS = [
    f.attname
    for f in Measure._meta.concrete_fields
    if f.attname not in ("description_vi", "description_en", "search_text")
]


class MeasureRow(SimpleNamespace):
    """A measure of a list page, read with `.values()`: attributes as on the model, parties as small records.

    A page of 500 measures with their parks and enterprises costs a third of building model instances.
    """


# The parks and enterprises that pages name, kept in the process under the register's version (see measure_rows).
_parties = ProcessMemo(limit=50_000)


def _parties_of(model, ids: set, fields: tuple[str, ...], kept: dict) -> dict:
    """Records of `model` by id: those `kept` has, the others read in one query (and kept)."""
    label = model._meta.label_lower
    missing = {pk for pk in ids if (label, pk) not in kept}
    if missing:
        for row in model.objects.order_by().filter(pk__in=missing).values(*fields):
            kept[label, row["id"]] = SimpleNamespace(**row)
    return {pk: kept[label, pk] for pk in ids if (label, pk) in kept}


def measure_rows(rows: list[dict], *, register_version: str | None = None) -> list[MeasureRow]:
    """The rows of a page with the parks and enterprises they name, in two queries whatever the page size.

    Cheaper than joining six tables per page: PostgreSQL spends longer planning such a join than running it.
    With the register's version (ecopark.counts.versions_of), parks and enterprises read for earlier pages are
    taken from the process instead: every audited write, a change of a name or of a consent included, changes that
    version, so they are never stale. A script paging through the register then reads mostly the measures.
    """
    from enterprises.models import Enterprise
    from parks.models import Park

    park_ids = {row[f"{f}_id"] for row in rows for f in PARK_PARTIES} - {None}
    enterprise_ids = {row[f"{f}_id"] for row in rows for f in ENTERPRISE_PARTIES} - {None}
    kept = {} if register_version is None else _parties.under(register_version)
    parks = _parties_of(Park, park_ids, ("id", "code"), kept)
    enterprises = _parties_of(Enterprise, enterprise_ids, ("id", "code", "name", "partner_consent"), kept)
    page = []
    for row in rows:
        measure = MeasureRow(**row)
        for field in PARK_PARTIES:
            setattr(measure, field, parks.get(row[f"{field}_id"]))
        for field in ENTERPRISE_PARTIES:
            setattr(measure, field, enterprises.get(row[f"{field}_id"]))
        page.append(measure)
    return page


def changes_since(measure: Measure, version: int | None) -> list | None:
    """What was saved to the measure and its lines since `version` (audit entries, oldest first): everything from the
    save that moved the version on from `version`. None when the trail does not say (entries older than the
    version's recording)."""
    from ecopark.audit import VERSION_FIELD, history_of

    if version is None:
        return None
    since = []
    for entry in history_of(measure).order_by("-id"):
        since.append(entry)
        moved = entry.changes.get(VERSION_FIELD)
        if entry.content_type.model_class() is Measure and moved and moved[0] is not None and moved[0] <= version:
            return since[::-1]
    return None
