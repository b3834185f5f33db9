"""The dashboards' figures, computed on the server from the roll-up table (and, below a park, from the park's own
measures), for the pages and for the API alike: the browser only draws them.

Levels: programme, province, park, enterprise; each names its children (provinces, parks, enterprises). A park
manager sees the programme's and their provinces' totals, with only their own provinces and parks as children, and
their parks' and enterprises' dashboards; other provinces, parks and enterprises answer 404 (`scope_for`).
"""

from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from django.core.cache import cache
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncQuarter
from django.http import Http404
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from ecopark.counts import REGISTER, version_of
from ecopark.roles import sees_all_parks
from enterprises.models import Enterprise
from enterprises.selectors import enterprises_visible_to
from measures.models import Measure, ResourceFlow
from measures.selectors import register_counts
from parks.models import Park, Province
from parks.selectors import parks_visible_to
from reports.models import EipCriterion, ProgrammeTarget, RollupRow
from reports.selectors import as_of as as_of_rows
from reports.selectors import enterprise_as_of, enterprise_measures, enterprise_rows
from reports.services import ALL, FIGURES, STATUSES_OF_STAGE

Level = RollupRow.Level
Stage = RollupRow.Stage
PLACES = {"co2e_t": 1}  # decimals shown; the others are whole numbers


@dataclass(frozen=True)
class Scope:
    """What a dashboard is about: a level, the id of its scope (0 for the programme), its name and its parent."""

    level: str
    id: int
    name: str
    parent: tuple[str, int, str] | None = None  # (level, id, name)
    park_ids: tuple[int, ...] | None = None  # a park manager's parks, for the programme's children


def dashboard_url(level: str, pk: int = 0) -> str:
    if level == Level.PROGRAMME:
        return reverse("reports:dashboard")
    return reverse("reports:dashboard_scope", kwargs={"level": level, "pk": pk})


def scope_for(user, level: str, pk: int = 0) -> Scope:
    """The scope a user asks for, or 404 when it is outside what they may see."""
    whole = sees_all_parks(user)
    park_ids = None if whole else tuple(parks_visible_to(user).values_list("pk", flat=True))
    programme = (Level.PROGRAMME, 0, _("Programme"))
    if level == Level.PROGRAMME:
        return Scope(Level.PROGRAMME, 0, _("Programme"), park_ids=park_ids)
    if level == Level.PROVINCE:
        provinces = Province.objects.all() if whole else Province.objects.filter(parks__in=park_ids).distinct()
        province = provinces.filter(pk=pk).first()
        if province:
            return Scope(Level.PROVINCE, province.pk, province.name, programme, park_ids=park_ids)
    elif level == Level.PARK:
        park = parks_visible_to(user).filter(pk=pk).first()
        if park:
            return Scope(Level.PARK, park.pk, park.name, (Level.PROVINCE, park.province_id, park.province.name))
    elif level == Level.ENTERPRISE:
        enterprise = enterprises_visible_to(user).filter(pk=pk).first()
        if enterprise:
            return Scope(Level.ENTERPRISE, enterprise.pk, enterprise.name, (Level.PARK, enterprise.park_id,
                                                                            enterprise.park.name))  # fmt: skip
    raise Http404


def _number(value, places: int = 0) -> float:
    """Rounded half up, as the pages' number filter rounds (Python's round() goes half to even: 2.5 -> 2)."""
    exact = value if isinstance(value, Decimal) else Decimal(str(value or 0))
    return float(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _figures(row: dict) -> dict:
    """A row's figures as the charts take them (numbers, rounded as shown). Rounding happens here only, once, on the
    exact sums: nothing rounded is added up again."""
    return {
        **{name: _number(row.get(name), PLACES.get(name, 0)) for name in FIGURES},
        "measure_count": int(row.get("measure_count") or 0),
        "enterprise_count": int(row.get("enterprise_count") or 0),
    }


def _scope_rows(scope: Scope, year: int) -> list:
    """Every row of the scope for the year: all kinds, techniques and stages (one query, a few dozen rows)."""
    if scope.level == Level.ENTERPRISE:
        return [row for row in enterprise_rows(scope.id) if row["year"] == year]
    rows = RollupRow.objects.filter(level=scope.level, scope_id=scope.id, year=year)
    return [
        {"kind": r.kind, "technique": r.technique, "stage": r.stage, "computed_at": r.computed_at, **_raw(r)}
        for r in rows
    ]


def _raw(row) -> dict:
    return {name: getattr(row, name) for name in (*FIGURES, "measure_count", "enterprise_count")}


def _pick(rows: list, *, kind: str, technique: str = "", stage: str) -> dict:
    for row in rows:
        if (row["kind"], row["technique"], row["stage"]) == (kind, technique, stage):
            return row
    return {}


def _children(scope: Scope, *, kind: str, year: int) -> dict:
    """The children of the scope with their potential and realised figures, for the comparison chart."""
    mine = Q() if scope.park_ids is None else Q(pk__in=scope.park_ids)  # a park manager's parks only
    if scope.level == Level.PROGRAMME:
        provinces = Province.objects.all()
        if scope.park_ids is not None:
            provinces = provinces.filter(parks__in=scope.park_ids).distinct()
        level, items = Level.PROVINCE, list(provinces.order_by("code"))
    elif scope.level == Level.PROVINCE:
        level, items = Level.PARK, list(Park.objects.filter(mine, province_id=scope.id).order_by("code"))
    else:
        return {"level": "", "rows": []}
    rows = RollupRow.objects.filter(
        level=level, scope_id__in=[i.pk for i in items], kind=kind, technique="", year=year,
        stage__in=[Stage.POTENTIAL, Stage.REALISED],
    )  # fmt: skip
    by_scope: dict = defaultdict(dict)
    for r in rows:
        by_scope[r.scope_id][r.stage] = _figures(_raw(r))
    return {
        "level": level,
        "rows": [
            {"id": item.pk, "name": item.name, "url": dashboard_url(level, item.pk),
             "potential": by_scope[item.pk].get(Stage.POTENTIAL, _figures({})),
             "realised": by_scope[item.pk].get(Stage.REALISED, _figures({}))}
            for item in items
        ],
    }  # fmt: skip


def _enterprise_children(scope: Scope, *, kind: str, year: int) -> dict:
    """A park's enterprises, summed from the park's measures: RECP by enterprise, exchanges for each party."""
    measures = Measure.objects.filter(park_id=scope.id)
    if kind != ALL:
        measures = measures.filter(kind=kind)
    if year:
        measures = measures.filter(reference_year=year)
    # exact sums per enterprise and stage, rounded once when shown
    sums: dict = defaultdict(lambda: {stage: defaultdict(Decimal) for stage in (Stage.POTENTIAL, Stage.REALISED)})
    aggregates = {
        f"{stage}_{name}": Sum(name, filter=Q(status__in=STATUSES_OF_STAGE[stage]))
        for stage in (Stage.POTENTIAL, Stage.REALISED) for name in FIGURES
    } | {f"{stage}_count": Count("pk", filter=Q(status__in=STATUSES_OF_STAGE[stage]))
         for stage in (Stage.POTENTIAL, Stage.REALISED)}  # fmt: skip
    parties = ("enterprise", "source_enterprise", "sink_enterprise")
    # One grouped query: RECP rows group by their enterprise, exchanges by their pair; each party gets the row.
    for row in measures.values(*parties).annotate(**aggregates):
        for pk in {row[party] for party in parties} - {None}:
            for stage in (Stage.POTENTIAL, Stage.REALISED):
                figures = sums[pk][stage]
                for name in FIGURES:
                    figures[name] += row[f"{stage}_{name}"] or 0
                figures["measure_count"] += row[f"{stage}_count"]
    names = dict(Enterprise.objects.filter(pk__in=sums).values_list("pk", "name"))
    rows = [{"id": pk, "name": names.get(pk, "?"), "url": dashboard_url(Level.ENTERPRISE, pk),
             "potential": _figures(figures[Stage.POTENTIAL]), "realised": _figures(figures[Stage.REALISED])}
            for pk, figures in sums.items()]  # fmt: skip
    rows.sort(key=lambda r: -r["potential"]["co2e_t"])
    return {"level": Level.ENTERPRISE, "rows": rows}


def _sankey(scope: Scope, *, year: int) -> dict:
    """A park's symbiosis exchanges as flows: source party → resource → sink party, sized by quantity per year in
    the resource's canonical unit (and tCO2e of the exchange), the city's partners included."""
    exchanges = Measure.objects.filter(
        park_id=scope.id, kind=Measure.Kind.IS, status__in=STATUSES_OF_STAGE[Stage.POTENTIAL]
    )
    if year:
        exchanges = exchanges.filter(reference_year=year)
    flows = ResourceFlow.objects.filter(measure__in=exchanges).select_related(
        "resource", "measure__source_enterprise", "measure__source_park", "measure__source_organisation",
        "measure__sink_enterprise", "measure__sink_park", "measure__sink_organisation",
    )  # fmt: skip
    links: dict = defaultdict(lambda: {"value": Decimal(0), "co2e_t": Decimal(0), "exchanges": 0})  # exact sums
    units = {}
    for flow in flows:
        m = flow.measure
        source = str(m.source_enterprise or m.source_park or m.source_organisation)
        sink = str(m.sink_enterprise or m.sink_park or m.sink_organisation)
        if flow.direction == ResourceFlow.Direction.REVERSE:
            source, sink = sink, source
        resource = flow.resource.name
        units[resource] = flow.resource.canonical_unit
        # Three columns (givers, resources, receivers), so that a party that gives and receives makes no cycle.
        given, moved, received = ("source", source), ("resource", resource), ("sink", sink)
        for pair in ((given, moved), (moved, received)):
            links[pair]["value"] += flow.quantity_canonical
            links[pair]["unit"] = units[resource]
        links[(given, moved)]["co2e_t"] += m.co2e_t
        links[(given, moved)]["exchanges"] += 1
    for values in links.values():  # rounded once, as shown
        values["value"], values["co2e_t"] = _number(values["value"], 1), _number(values["co2e_t"], 1)
    nodes = sorted({node for pair in links for node in pair})
    return {
        "nodes": [{"id": f"{layer}:{name}", "name": name, "layer": layer} for layer, name in nodes],
        "links": [{"source": f"{a[0]}:{a[1]}", "target": f"{b[0]}:{b[1]}", "from": a[1], "to": b[1], **values}
                  for (a, b), values in links.items()],
    }  # fmt: skip


def _scope_measures(scope: Scope, *, kind: str, year: int):
    measures = Measure.objects.all()
    if scope.level == Level.PROVINCE:
        measures = measures.filter(park__province_id=scope.id)
    elif scope.level == Level.PARK:
        measures = measures.filter(park_id=scope.id)
    elif scope.level == Level.ENTERPRISE:
        measures = enterprise_measures(scope.id)
    if kind != ALL:
        measures = measures.filter(kind=kind)
    if year:
        measures = measures.filter(reference_year=year)
    return measures


def _breakdowns(scope: Scope, *, kind: str, year: int, stamp) -> dict:
    """What is counted from the measures themselves: the pipeline by status, the realised savings by quarter of
    implementation, and for a park its enterprises, its flows and the counts its scorecard is measured on.

    Counted over up to a million rows, so kept in the cache until the register changes (any audited write) or the
    roll-up of the scope does.
    """
    language = translation.get_language()  # the labels and some names are in the user's language
    register = version_of(REGISTER)  # any change to the register (a name, a measure) counts them afresh
    key = (
        f"dashboard:{language}:{register}:{scope.level}:{scope.id}:{kind}:{year}:{stamp.isoformat() if stamp else '-'}"
    )
    cached = cache.get(key) if stamp else None
    if cached is not None:
        return cached
    measures = _scope_measures(scope, kind=kind, year=year)
    counts = dict(measures.order_by().values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    statuses = [{"status": status, "label": str(label), "measure_count": counts.get(status, 0)}
                for status, label in Measure.Status.choices]  # fmt: skip
    periods = (
        measures.filter(status__in=STATUSES_OF_STAGE[Stage.REALISED], implemented_on__isnull=False)
        .annotate(quarter=TruncQuarter("implemented_on"))
        .order_by("quarter")
        .values("quarter")
        .annotate(**{name: Sum(name) for name in FIGURES}, measure_count=Count("pk"))
    )
    quarters, running = [], dict.fromkeys(FIGURES, Decimal(0))  # exact running sums, rounded once each when shown
    for period in periods:
        start = period["quarter"]
        row = {"quarter": f"{start.year}-Q{(start.month - 1) // 3 + 1}", **_figures(period)}
        for name in FIGURES:
            running[name] += period[name] or 0
            row[f"cumulative_{name}"] = _number(running[name], PLACES.get(name, 0))
        quarters.append(row)
    result = {"statuses": statuses, "quarters": quarters}
    if scope.level == Level.PROGRAMME:
        result["register_counts"] = _register_counts(year)
    if scope.level == Level.PARK:
        result["park_counts"] = _park_counts(scope.id)
        result["children"] = _enterprise_children(scope, kind=kind, year=year)
        result["sankey"] = _sankey(scope, year=year)
    if stamp:
        cache.set(key, result, 24 * 60 * 60)
    return result


def _park_counts(park_id: int) -> dict:
    """What the eco-industrial park criteria are measured on: the park's enterprises, those applying RECP (an
    implemented or verified RECP measure), the symbiosis links in operation (implemented or verified exchanges
    hosted by the park) and the park's enterprises taking part in them."""
    realised = Measure.objects.filter(park_id=park_id, status__in=STATUSES_OF_STAGE[Stage.REALISED])
    enterprises = set(Enterprise.objects.filter(park_id=park_id).values_list("pk", flat=True))
    applying = set(realised.filter(kind=Measure.Kind.RECP).values_list("enterprise_id", flat=True))
    links = list(realised.filter(kind=Measure.Kind.IS).values_list("source_enterprise_id", "sink_enterprise_id"))
    taking_part = {pk for pair in links for pk in pair if pk in enterprises}
    return {"enterprises": len(enterprises), "applying_recp": len(applying & enterprises), "links": len(links),
            "in_symbiosis": len(taking_part)}  # fmt: skip


def _scorecard(counts: dict) -> list[dict]:
    """The park against each criterion (thresholds and their legal source from the admin-editable table)."""
    total = counts["enterprises"]

    def share(n: int) -> float:
        return round(100 * n / total, 1) if total else 0.0

    values = {
        EipCriterion.Indicator.RECP_APPLYING_SHARE: (share(counts["applying_recp"]), counts["applying_recp"]),
        EipCriterion.Indicator.SYMBIOSIS_LINKS: (float(counts["links"]), counts["links"]),
        EipCriterion.Indicator.SYMBIOSIS_SHARE: (share(counts["in_symbiosis"]), counts["in_symbiosis"]),
    }
    rows = []
    for criterion in EipCriterion.objects.all():
        value, count = values[criterion.indicator]
        rows.append({"indicator": criterion.indicator, "label": str(criterion.get_indicator_display()),
                     "value": value, "count": count, "of": total, "threshold": float(criterion.threshold),
                     "met": value >= float(criterion.threshold), "source": criterion.legal_source,
                     "note": criterion.note})  # fmt: skip
    return rows


def dashboard(user, scope: Scope, *, kind: str = ALL, year: int = 0) -> dict:
    """Everything a dashboard shows, as JSON-ready data: tiles, targets, pipeline, breakdowns, children, flows."""
    rows = _scope_rows(scope, year)
    tiles = {stage: _figures(_pick(rows, kind=kind, stage=stage)) for stage in Stage.values}
    stamps = [r["computed_at"] for r in rows if r.get("computed_at")]
    as_of = enterprise_as_of(scope.id) if scope.level == Level.ENTERPRISE else as_of_rows(stamps)
    technique_labels = dict(Measure.Technique.choices)
    data = {
        "scope": {"level": scope.level, "id": scope.id, "name": scope.name,
                  "parent": None if scope.parent is None else {"level": scope.parent[0], "id": scope.parent[1],
                                                               "name": scope.parent[2],
                                                               "url": dashboard_url(scope.parent[0], scope.parent[1])}},
        "filters": {"kind": kind, "year": year},
        "as_of": as_of.isoformat() if as_of else None,
        "tiles": {stage: tiles[stage] for stage in Stage.values},
        "pipeline": [{"stage": stage, "label": str(Stage(stage).label), **tiles[stage]} for stage in Stage.values],
        "by_kind": [{"kind": k, "label": str(Measure.Kind(k).label), **_figures(_pick(rows, kind=k,
                                                                                       stage=Stage.POTENTIAL))}
                    for k in (Measure.Kind.RECP, Measure.Kind.IS)],
        "by_technique": [
            {"technique": t, "label": str(technique_labels[t]),
             "potential": _figures(_pick(rows, kind=Measure.Kind.RECP, technique=t, stage=Stage.POTENTIAL)),
             "realised": _figures(_pick(rows, kind=Measure.Kind.RECP, technique=t, stage=Stage.REALISED))}
            for t in Measure.Technique.values
        ],
        "children": _children(scope, kind=kind, year=year) if scope.level != Level.PARK else None,
        **_breakdowns(scope, kind=kind, year=year, stamp=max(stamps, default=None)),
    }  # fmt: skip
    if scope.level == Level.PROGRAMME:  # (a breakdown cached by an earlier release has no counts)
        data["targets"] = _targets(rows, data.pop("register_counts", None) or _register_counts(year))
    else:
        data["targets"] = []
    if scope.level == Level.PARK:
        data["scorecard"] = _scorecard(data.pop("park_counts"))
    return data


def _register_counts(year: int) -> dict:
    """The programme's options and enterprises as the home page counts them (`measures.selectors.register_counts`, the
    one definition): every option identified, whatever became of it."""
    measures = Measure.objects.filter(reference_year=year) if year else Measure.objects.all()
    counts = register_counts(measures)
    return {
        ProgrammeTarget.Indicator.RECP_OPTIONS: counts.recp_identified,
        ProgrammeTarget.Indicator.RECP_ENTERPRISES: counts.enterprises,
        ProgrammeTarget.Indicator.IS_OPTIONS: counts.is_count,
    }


def _targets(rows: list, register_counts: dict) -> list[dict]:
    """Progress towards the programme's targets: options and enterprises counted in the register, savings from the
    live pipeline (potential stage)."""
    actual = {**{name: _pick(rows, kind=ALL, stage=Stage.POTENTIAL).get(name, 0) for name in FIGURES},
              **register_counts}  # fmt: skip
    result = []
    for target in ProgrammeTarget.objects.all():
        value = actual.get(target.indicator)
        if value is None or not target.value:
            continue
        result.append({"indicator": target.indicator, "label": target.label, "target": _number(target.value),
                       "actual": _number(value), "share": _number(Decimal(value) / target.value * 100, 1),
                       "source": target.source})  # fmt: skip
    return result


def min_year_max_year() -> tuple[int, int]:
    """The first and last reference years in the register, for the year filter (kept for ten minutes)."""
    bounds = cache.get("dashboard:years")
    if bounds is None:
        found = (
            RollupRow.objects.filter(level=Level.PROGRAMME).exclude(year=0).aggregate(lo=Min("year"), hi=Max("year"))
        )
        bounds = (found["lo"] or 0, found["hi"] or 0)
        cache.set("dashboard:years", bounds, 600)
    return bounds


@dataclass(frozen=True)
class Table:
    """A table of a dashboard, as the page shows it beside its chart and as the exports write it."""

    key: str
    title: str
    headers: list[str]
    rows: list[list]
    numeric_from: int = 1  # the columns from this one on are numbers ...
    numeric_until: int = 99  # ... up to this one (excluded)


def dashboard_tables(data: dict) -> list[Table]:
    """The dashboard's tables, in the user's language: the same numbers the charts draw."""
    figures = [_("kWh/yr"), _("m³/yr"), _("USD/yr"), _("tCO₂e/yr"), _("Measures")]

    def values(f: dict) -> list:
        return [f["electricity_kwh"], f["water_m3"], f["cost_usd"], f["co2e_t"], f["measure_count"]]

    tables = [
        Table("stages", _("Annual savings by stage"), [_("Stage"), *figures],
              [[row["label"], *values(row)] for row in data["pipeline"]]),
        Table("kinds", _("Potential by kind"), [_("Kind"), *figures],
              [[row["label"], *values(row)] for row in data["by_kind"]]),
        Table("techniques", _("RECP by technique"),
              [_("Technique"), _("Potential tCO₂e/yr"), _("Realised tCO₂e/yr"), _("Potential measures"),
               _("Realised measures")],
              [[row["label"], row["potential"]["co2e_t"], row["realised"]["co2e_t"], row["potential"]["measure_count"],
                row["realised"]["measure_count"]] for row in data["by_technique"]]),
    ]  # fmt: skip
    tables.append(
        Table(
            "statuses",
            _("Pipeline by status"),
            [_("Status"), _("Measures")],
            [[row["label"], row["measure_count"]] for row in data["statuses"]],
        )
    )
    if data["quarters"]:
        tables.append(
            Table(
                "quarters",
                _("Realised savings by quarter of implementation"),
                [
                    _("Quarter"),
                    _("tCO₂e/yr realised in the quarter"),
                    _("tCO₂e/yr in place (cumulative)"),
                    _("kWh/yr realised in the quarter"),
                    _("kWh/yr in place (cumulative)"),
                    _("Measures"),
                ],
                [
                    [
                        row["quarter"],
                        row["co2e_t"],
                        row["cumulative_co2e_t"],
                        row["electricity_kwh"],
                        row["cumulative_electricity_kwh"],
                        row["measure_count"],
                    ]
                    for row in data["quarters"]
                ],
            )
        )
    if data["children"]["rows"]:
        level = data["children"]["level"]
        title = {Level.PROVINCE: _("Provinces"), Level.PARK: _("Parks"), Level.ENTERPRISE: _("Enterprises")}[level]
        tables.append(
            Table("children", title,
                  [_("Name"), _("Potential tCO₂e/yr"), _("Realised tCO₂e/yr"), _("Potential kWh/yr"),
                   _("Potential m³/yr"), _("Potential USD/yr"), _("Potential measures")],
                  [[row["name"], row["potential"]["co2e_t"], row["realised"]["co2e_t"],
                    row["potential"]["electricity_kwh"], row["potential"]["water_m3"], row["potential"]["cost_usd"],
                    row["potential"]["measure_count"]] for row in data["children"]["rows"]])
        )  # fmt: skip
    if data["targets"]:
        tables.append(
            Table("targets", _("Progress towards the programme's targets"),
                  [_("Target"), _("Now"), _("Target value"), _("Share (%)")],
                  [[row["label"], row["actual"], row["target"], row["share"]] for row in data["targets"]])
        )  # fmt: skip
    if data.get("scorecard"):
        tables.append(
            Table("scorecard", _("Eco-industrial park criteria"),
                  [_("Criterion"), _("Park"), _("At least"), _("Met"), _("Legal source")],
                  [[row["label"], row["value"], row["threshold"], _("yes") if row["met"] else _("no"), row["source"]]
                   for row in data["scorecard"]], numeric_until=3)
        )  # fmt: skip
    if data.get("sankey", {}).get("links"):
        tables.append(
            Table("flows", _("Symbiosis flows"), [_("From"), _("To"), _("Quantity per year"), _("Unit"),
                                                  _("tCO₂e/yr")],
                  [[link["from"], link["to"], link["value"], link["unit"], link["co2e_t"]]
                   for link in data["sankey"]["links"]], numeric_from=2)
        )  # fmt: skip
    return tables
