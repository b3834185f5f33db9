"""Reads of the roll-up: rows by scope, totals for a user's parks, enterprise figures, and "as of"."""

import datetime
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max, Q, QuerySet

from measures.models import Measure
from reports.models import RollupRow, RollupRun
from reports.services import ALL, FIGURES, STAGES_OF_STATUS, contribution_of, row_variants

Stage = RollupRow.Stage
ZERO = Decimal(0)


@dataclass
class StageTotals:
    """Annual savings of one stage."""

    electricity_kwh: Decimal = ZERO
    water_m3: Decimal = ZERO
    cost_usd: Decimal = ZERO
    cost_vnd: Decimal = ZERO
    co2e_t: Decimal = ZERO
    measure_count: int = 0


@dataclass
class Totals:
    """Potential, realised and verified savings of a set of parks, and the time of the latest change they include."""

    stages: dict[str, StageTotals] = field(default_factory=lambda: {s: StageTotals() for s in Stage.values})
    as_of: datetime.datetime | None = None


def last_rebuild() -> datetime.datetime | None:
    """When the table was last brought up to date by any run."""
    return RollupRun.objects.aggregate(at=Max("finished_at"))["at"]


def as_of(stamps: Iterable[datetime.datetime | None]) -> datetime.datetime | None:
    """The "as of" of figures made of rows written at these times: the latest, since each row holds every change up to
    when it was written (the rows not written since had nothing to change). With no row, the last run."""
    return max((stamp for stamp in stamps if stamp is not None), default=None) or last_rebuild()


def enterprise_as_of(enterprise_id: int) -> datetime.datetime | None:
    """The "as of" of an enterprise's figures, computed from its measures when asked: its latest change."""
    return as_of([enterprise_measures(enterprise_id).aggregate(at=Max("updated_at"))["at"]])


def enterprise_measures(enterprise_id: int) -> QuerySet[Measure]:
    """The measures an enterprise takes part in: its RECP measures and the exchanges it gives or receives in."""
    return Measure.objects.filter(
        Q(enterprise_id=enterprise_id) | Q(source_enterprise_id=enterprise_id) | Q(sink_enterprise_id=enterprise_id)
    )


def rollup_rows(
    *, level: str, scope_ids: list[int] | None = None, kind: str = ALL, technique: str = "", year: int = 0
) -> QuerySet[RollupRow]:
    """Rows of a level (optionally some scopes), for one kind, technique and year (0: all years)."""
    rows = RollupRow.objects.filter(level=level, kind=kind, technique=technique, year=year)
    if scope_ids is not None:
        rows = rows.filter(scope_id__in=scope_ids)
    return rows


def totals_for_parks(park_ids: list[int] | None, *, kind: str = ALL, year: int = 0) -> Totals:
    """Stage totals for the whole programme (None) or a set of parks (summed: an exchange counts in one park)."""
    if park_ids is None:
        rows = rollup_rows(level=RollupRow.Level.PROGRAMME, kind=kind, year=year)
    else:
        rows = rollup_rows(level=RollupRow.Level.PARK, scope_ids=park_ids, kind=kind, year=year)
    totals = Totals()
    rows = list(rows)
    for row in rows:
        stage = totals.stages[row.stage]
        for name in FIGURES:
            setattr(stage, name, getattr(stage, name) + getattr(row, name))
        stage.measure_count += row.measure_count
    totals.as_of = as_of(row.computed_at for row in rows)
    return totals


def enterprise_rows(enterprise_id: int) -> list[dict]:
    """An enterprise's roll-up rows, computed from its measures when asked (it has few), in the table's shape.

    Its symbiosis exchanges count in full for each enterprise that takes part.
    """
    measures = enterprise_measures(enterprise_id).select_related("park")
    rows: dict[tuple, dict] = defaultdict(lambda: {**dict.fromkeys(FIGURES, ZERO), "measure_count": 0})
    for measure in measures:
        c = contribution_of(measure)
        variants = row_variants(c.kind, c.technique)
        for stage in STAGES_OF_STATUS[c.status]:
            figures = c.figures(stage)
            for kind, technique in variants:
                for year in (c.year, 0):
                    row = rows[(kind, technique, stage, year)]
                    for name, value in zip(FIGURES, figures, strict=True):
                        row[name] += value
                    row["measure_count"] += 1
    return [
        {"level": "enterprise", "scope_id": enterprise_id, "kind": k, "technique": t, "stage": s, "year": y,
         **values, "enterprise_count": 1}
        for (k, t, s, y), values in sorted(rows.items())
    ]  # fmt: skip
