"""The roll-up table: how a measure counts in it, incremental updates after changes, and the full rebuild.

Consistency rules (see also `RollupRow`):
- A writer of measures locks the measure row, records how the roll-up counted it (`rollup_mark_changing`), then
  writes, all in one transaction. New measures are marked after they are inserted (`rollup_mark_created`).
- `rollup_apply_pending` locks the changed measures, then their pending rows (the same order as writers, so no
  deadlock), and applies the difference between how each measure was counted and how it counts now.
- `rollup_rebuild` recomputes every row from the measures in one snapshot (REPEATABLE READ on PostgreSQL).
- Both hold one advisory lock, so two roll-ups never interleave; a worker killed half-way rolls back whole.
"""

import contextlib
import contextvars
import datetime
import io
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ecopark.counts import bump_count_version
from measures.models import Measure
from reports.models import RollupPending, RollupRow, RollupRun

logger = logging.getLogger(__name__)

Level = RollupRow.Level
Stage = RollupRow.Stage
Status = Measure.Status
ALL = "all"
ADVISORY_LOCK = 7_412_003  # any constant shared by every roll-up writer

# The statuses of each stage are the register's (`Measure`); here they are only looked up both ways.
STATUSES_OF_STAGE: dict[str, tuple[str, ...]] = {
    Stage.POTENTIAL: Measure.POTENTIAL_STATUSES,
    Stage.REALISED: Measure.REALISED_STATUSES,
    Stage.VERIFIED: Measure.VERIFIED_STATUSES,
}
STAGES_OF_STATUS: dict[str, tuple[str, ...]] = {
    status: tuple(stage for stage in Stage.values if status in STATUSES_OF_STAGE[stage]) for status in Status.values
}

# (level, scope_id, kind, technique, stage, year)
Key = tuple[str, int, str, str, str, int]
ZERO = Decimal(0)
# The figures a row sums, in the order every path of the roll-up carries them. Sums are exact (decimals); only what
# shows them rounds, once.
FIGURES = ("electricity_kwh", "water_m3", "cost_usd", "cost_vnd", "co2e_t")


def row_variants(kind: str, technique: str) -> list[tuple[str, str]]:
    """The (kind, technique) rows a measure counts in: all kinds, its kind, and its technique for RECP."""
    variants = [(ALL, ""), (kind, "")]
    if kind == Measure.Kind.RECP and technique:
        variants.append((kind, technique))
    return variants


@dataclass(frozen=True)
class Contribution:
    """How one measure counts in the roll-up: where, as what, in which year, with which figures."""

    measure_id: int
    park_id: int
    province_id: int
    kind: str
    technique: str
    status: str
    year: int
    participants: tuple[int, ...]
    kwh: Decimal
    m3: Decimal
    usd: Decimal
    vnd: Decimal
    co2: Decimal
    kwh_verified: Decimal
    m3_verified: Decimal
    co2_verified: Decimal

    def to_json(self) -> dict:
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, data: dict) -> "Contribution":
        if "vnd" not in data:  # recorded before the roll-up summed VND: only a rebuild knows what the row holds
            raise RollupInconsistent(f"measure {data.get('measure_id')} was recorded without its VND")
        values = dict(data)
        for name in ("kwh", "m3", "usd", "vnd", "co2", "kwh_verified", "m3_verified", "co2_verified"):
            values[name] = Decimal(values[name])
        values["participants"] = tuple(values["participants"])
        return cls(**values)

    def figures(self, stage: str) -> tuple[Decimal, Decimal, Decimal, Decimal, Decimal]:
        """kWh, m3, USD, VND and tCO2e (the order of `FIGURES`) as counted in a stage: estimated, or as measured for
        the verified stage. Money is as estimated in every stage, each measure at its own year's rate."""
        if stage == Stage.VERIFIED:
            return self.kwh_verified, self.m3_verified, self.usd, self.vnd, self.co2_verified
        return self.kwh, self.m3, self.usd, self.vnd, self.co2

    def rows(self) -> Iterator[tuple[Key, str]]:
        """Every roll-up row this measure counts in, with the stage of each."""
        variants = row_variants(self.kind, self.technique)
        scopes = [(Level.PROGRAMME, 0), (Level.PROVINCE, self.province_id), (Level.PARK, self.park_id)]
        for stage in STAGES_OF_STATUS[self.status]:
            for level, scope in scopes:
                for kind, technique in variants:
                    for year in (self.year, 0):
                        yield (level, scope, kind, technique, stage, year), stage


def participants_of(measure: Measure) -> tuple[int, ...]:
    """The enterprises taking part: a RECP measure's enterprise, an exchange's source and sink enterprises."""
    ids = [measure.enterprise_id, measure.source_enterprise_id, measure.sink_enterprise_id]
    return tuple(sorted({i for i in ids if i is not None}))


def contribution_of(measure: Measure) -> Contribution:
    """The measure as the roll-up counts it (the measure's park must be loaded or loadable)."""
    return Contribution(
        measure_id=measure.pk,
        park_id=measure.park_id,
        province_id=measure.park.province_id,
        kind=measure.kind,
        technique=measure.technique,
        status=measure.status,
        year=measure.reference_year,
        participants=participants_of(measure),
        kwh=measure.electricity_kwh,
        m3=measure.water_m3,
        usd=measure.cost_usd or ZERO,
        vnd=measure.cost_vnd or ZERO,
        co2=measure.co2e_t,
        kwh_verified=measure.electricity_kwh_verified or ZERO,
        m3_verified=measure.water_m3_verified or ZERO,
        co2_verified=measure.co2e_verified_t if measure.co2e_verified_t is not None else ZERO,
    )


def _lock() -> None:
    """One roll-up writer at a time (PostgreSQL); SQLite serialises writers by itself."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [ADVISORY_LOCK])


# Inside `rollup_once`, writers mark their measures but leave the scheduling of the roll-up to the block's end.
_batched: contextvars.ContextVar[list | None] = contextvars.ContextVar("rollup_batched", default=None)


@contextlib.contextmanager
def rollup_once():
    """Many writes, one roll-up: measures marked inside the block are rolled up once, after the outer commit
    (imports and other bulk writers)."""
    marks: list = []
    token = _batched.set(marks)
    try:
        yield
    finally:
        _batched.reset(token)
    if marks:
        from reports.tasks import schedule_rollup

        transaction.on_commit(schedule_rollup)


def rollup_mark_changing(measure_ids: Iterable[int]) -> None:
    """Record how these measures count now, before the caller changes or deletes them (in its transaction).

    The caller must hold the measures' row locks. A measure already pending keeps its earlier record.
    """
    measures = Measure.objects.filter(pk__in=list(measure_ids)).select_related("park")
    rows = [RollupPending(measure_id=m.pk, counted_before=contribution_of(m).to_json()) for m in measures]
    _upsert_pending(rows)


def rollup_mark_created(measure_ids: Iterable[int]) -> None:
    """Record new measures as not yet counted (in the creating transaction)."""
    _upsert_pending([RollupPending(measure_id=pk, counted_before=None) for pk in measure_ids])


def _upsert_pending(rows: list[RollupPending]) -> None:
    if not rows:
        return
    bump_count_version(Measure._meta.db_table)  # every writer of measures passes here, bulk ones included
    now = timezone.now()
    for row in rows:
        row.marked_at = now
    # On conflict only the time moves: the first record of how the measure was counted is the one that matters, and
    # touching the row makes a concurrent rebuild that is about to drop it fail and retry instead of losing it.
    RollupPending.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["measure_id"], update_fields=["marked_at"]
    )
    batched = _batched.get()
    if batched is not None:
        batched.append(len(rows))
        return
    from reports.tasks import schedule_rollup

    transaction.on_commit(schedule_rollup)


def _other_participations(enterprise_id: int, exclude: list[int]) -> set[tuple]:
    """Where else the enterprise takes part: (park, province, kind, technique, status, year) of its other measures."""
    return set(
        Measure.objects.filter(
            Q(enterprise_id=enterprise_id) | Q(source_enterprise_id=enterprise_id) | Q(sink_enterprise_id=enterprise_id)
        )
        .exclude(pk__in=exclude)
        .values_list("park_id", "park__province_id", "kind", "technique", "status", "reference_year")
        .distinct()
    )


def _counts_in(key: Key, participation: tuple) -> bool:
    """Whether a measure with this (park, province, kind, technique, status, year) counts in the row."""
    level, scope, kind, technique, stage, year = key
    park, province, m_kind, m_technique, status, m_year = participation
    return (
        (
            level == Level.PROGRAMME
            or (level == Level.PROVINCE and province == scope)
            or (level == Level.PARK and park == scope)
        )
        and kind in (ALL, m_kind)
        and technique in ("", m_technique)
        and status in STATUSES_OF_STAGE[stage]
        and year in (0, m_year)
    )


@dataclass
class _Delta:
    kwh: Decimal = ZERO
    m3: Decimal = ZERO
    usd: Decimal = ZERO
    vnd: Decimal = ZERO
    co2: Decimal = ZERO
    measures: int = 0
    enterprises: int = 0


def _rows_filter(keys: Iterable[Key]) -> Q:
    """A condition matching at least these rows, and few others (each dimension by its set of values)."""
    keys = list(keys)
    scopes: dict[str, set[int]] = defaultdict(set)
    for key in keys:
        scopes[key[0]].add(key[1])
    by_scope = Q(pk__in=[])
    for level, ids in scopes.items():
        by_scope |= Q(level=level, scope_id__in=ids)
    return by_scope & Q(
        kind__in={k[2] for k in keys},
        technique__in={k[3] for k in keys},
        stage__in={k[4] for k in keys},
        year__in={k[5] for k in keys},
    )


def _apply(deltas: dict[Key, _Delta], now: datetime.datetime) -> int:
    """Add the deltas to the rows (locked), creating and deleting rows as they fill and empty."""
    existing = {
        (r.level, r.scope_id, r.kind, r.technique, r.stage, r.year): r
        for r in RollupRow.objects.select_for_update().filter(_rows_filter(deltas))
    }
    changed, created, emptied = [], [], []
    for key, delta in deltas.items():
        row = existing.get(key)
        if row is None:
            level, scope, kind, technique, stage, year = key
            row = RollupRow(
                level=level,
                scope_id=scope,
                kind=kind,
                technique=technique,
                stage=stage,
                year=year,
                electricity_kwh=ZERO,
                water_m3=ZERO,
                cost_usd=ZERO,
                cost_vnd=ZERO,
                co2e_t=ZERO,
                measure_count=0,
                enterprise_count=0,
            )
        row.electricity_kwh += delta.kwh
        row.water_m3 += delta.m3
        row.cost_usd += delta.usd
        row.cost_vnd += delta.vnd
        row.co2e_t += delta.co2
        row.measure_count += delta.measures
        row.enterprise_count += delta.enterprises
        row.computed_at = now
        if row.measure_count < 0 or row.enterprise_count < 0:
            raise RollupInconsistent(f"row {key} would count {row.measure_count} measures")
        if row.measure_count == 0:
            if row.pk:
                emptied.append(row.pk)
        elif row.pk:
            changed.append(row)
        else:
            created.append(row)
    RollupRow.objects.filter(pk__in=emptied).delete()
    if changed:  # plain statements: bulk_update's CASE expressions cost more to build than these take to run
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {RollupRow._meta.db_table} SET electricity_kwh = %s, water_m3 = %s, cost_usd = %s, "
                "cost_vnd = %s, co2e_t = %s, measure_count = %s, enterprise_count = %s, computed_at = %s WHERE id = %s",
                [(r.electricity_kwh, r.water_m3, r.cost_usd, r.cost_vnd, r.co2e_t, r.measure_count,
                  r.enterprise_count, r.computed_at, r.pk) for r in changed],
            )  # fmt: skip
    RollupRow.objects.bulk_create(created, batch_size=500)
    return len(changed) + len(created) + len(emptied)


class RollupInconsistent(RuntimeError):
    """The table no longer matches the pending changes (a write bypassed the services): rebuild it."""


def rollup_apply_pending(*, limit: int = 5000) -> int:
    """Apply up to `limit` pending measure changes to the roll-up; returns how many were applied."""
    started = timezone.now()
    with transaction.atomic():
        _lock()
        ids = list(
            RollupPending.objects.order_by("marked_at", "measure_id").values_list("measure_id", flat=True)[:limit]
        )
        if not ids:
            return 0
        current = list(
            Measure.objects.select_for_update(of=("self",)).select_related("park").filter(pk__in=ids).order_by("pk")
        )
        pending = list(RollupPending.objects.select_for_update().filter(measure_id__in=ids).order_by("measure_id"))
        ids = [p.measure_id for p in pending]
        before = [Contribution.from_json(p.counted_before) for p in pending if p.counted_before]
        after = [contribution_of(m) for m in current if m.pk in set(ids)]
        deltas: dict[Key, _Delta] = defaultdict(_Delta)
        members_before: dict[Key, set[int]] = defaultdict(set)
        members_after: dict[Key, set[int]] = defaultdict(set)
        for sign, contributions, members in ((-1, before, members_before), (1, after, members_after)):
            for c in contributions:
                for key, stage in c.rows():
                    kwh, m3, usd, vnd, co2 = c.figures(stage)
                    delta = deltas[key]
                    delta.kwh += sign * kwh
                    delta.m3 += sign * m3
                    delta.usd += sign * usd
                    delta.vnd += sign * vnd
                    delta.co2 += sign * co2
                    delta.measures += sign
                    members[key].update(c.participants)
        elsewhere: dict[int, set[tuple]] = {}
        for key in set(members_before) | set(members_after):
            for enterprise in members_before[key] ^ members_after[key]:
                if enterprise not in elsewhere:
                    elsewhere[enterprise] = _other_participations(enterprise, exclude=ids)
                if not any(_counts_in(key, p) for p in elsewhere[enterprise]):
                    deltas[key].enterprises += 1 if enterprise in members_after[key] else -1
        deltas = {k: d for k, d in deltas.items() if d != _Delta()}
        rows = _apply(deltas, timezone.now())
        RollupPending.objects.filter(measure_id__in=ids).delete()
        RollupRun.objects.create(
            mode=RollupRun.Mode.INCREMENTAL,
            reason=f"{len(ids)} changed measures",
            started_at=started,
            finished_at=timezone.now(),
            measures=len(ids),
            rows=rows,
        )
    return len(ids)


# The full rebuild. On PostgreSQL it runs in the database in three statements (`_rebuild_in_database`): one parallel
# GROUP BY of the measures to their finest grain, one parallel pass over the participants for the distinct
# enterprises, and one INSERT that expands the finest rows to every level, kind, stage and year. On SQLite (the
# embedded default) the same figures come from plainer SQL and a loop in Python (`_rebuild_in_python`).
# The figures summed per finest group: estimated (kWh, m3, USD, VND, tCO2e), then as verified (kWh, m3, tCO2e). SUM
# skips NULLs (most measures have no verified figures), cheaper than adding zeros; an all-NULL sum is read as 0.
_SUMS = (
    "SUM(m.electricity_kwh) AS kwh, SUM(m.water_m3) AS m3, SUM(m.cost_usd) AS usd, SUM(m.cost_vnd) AS vnd, "
    "SUM(m.co2e_t) AS co2, SUM(m.electricity_kwh_verified) AS kwh_v, SUM(m.water_m3_verified) AS m3_v, "
    "SUM(m.co2e_verified_t) AS co2_v"
)
# Stages are nested (verified within realised within potential), so a status counts in the first n of them.
STAGE_ORDER = (Stage.POTENTIAL, Stage.REALISED, Stage.VERIFIED)
assert all(stages == STAGE_ORDER[: len(stages)] for stages in STAGES_OF_STATUS.values())


def _status_list(stage: str) -> str:
    return ", ".join(f"'{status}'" for status in STATUSES_OF_STAGE[stage])


def _sums_sql() -> str:
    return (
        f"SELECT m.park_id, p.province_id, m.kind, m.technique, m.status, m.reference_year, {_SUMS}, COUNT(*) "
        f"FROM measures_measure m JOIN parks_park p ON p.id = m.park_id "
        f"GROUP BY m.park_id, p.province_id, m.kind, m.technique, m.status, m.reference_year"
    )


_GROUPINGS = [  # (kind expression, technique expression, year expression, condition)
    (f"'{ALL}'", "''", "year", ""),
    (f"'{ALL}'", "''", "0", ""),
    ("kind", "''", "year", ""),
    ("kind", "''", "0", ""),
    ("kind", "technique", "year", "WHERE kind = 'recp'"),
    ("kind", "technique", "0", "WHERE kind = 'recp'"),
]
_LEVELS = [(Level.PROGRAMME, "0"), (Level.PROVINCE, "province_id"), (Level.PARK, "park_id")]


def _enterprise_counts_sql() -> str:
    """The plain way (SQLite, or data spanning many years): COUNT(DISTINCT) per level and grouping."""
    participant_columns = [("enterprise_id", "recp"), ("source_enterprise_id", "is"), ("sink_enterprise_id", "is")]
    facts = " UNION ALL ".join(
        f"SELECT m.park_id, p.province_id, m.kind, m.technique, '{stage}' AS stage, m.reference_year AS year, "
        f"m.{column} AS enterprise_id FROM measures_measure m JOIN parks_park p ON p.id = m.park_id "
        f"WHERE m.kind = '{kind}' AND m.{column} IS NOT NULL AND m.status IN ({_status_list(stage)})"
        for stage in Stage.values
        for column, kind in participant_columns
    )
    selects = []
    for level, scope in _LEVELS:
        for kind, technique, year, condition in _GROUPINGS:
            # Constants (quoted literals and 0) are not grouped by; column names are.
            group = ", ".join(e for e in (scope, kind, technique, "stage", year) if e.isidentifier())
            selects.append(
                f"SELECT '{level}', {scope}, {kind}, {technique}, stage, {year}, COUNT(DISTINCT enterprise_id) "
                f"FROM facts {condition} GROUP BY {group}"
            )
    return f"WITH facts AS ({facts}) " + " UNION ALL ".join(selects)


def _rebuild_in_python(cursor) -> tuple[list[RollupRow], int]:
    """The rows and the number of measures in the pipeline, from two queries and a loop over their results."""
    n = len(FIGURES)
    totals: dict[Key, list] = defaultdict(lambda: [ZERO] * n + [0, 0])
    measure_count = 0
    cursor.execute(_sums_sql())
    finest = cursor.fetchall()
    cursor.execute(_enterprise_counts_sql())
    counts = cursor.fetchall()
    for park, province, kind, technique, status, year, *values, count in finest:
        estimated = [Decimal(str(v or 0)) for v in values[:n]]  # kWh, m3, USD, VND, tCO2e
        kwh_v, m3_v, co2_v = (Decimal(str(v or 0)) for v in values[n:])
        verified = [kwh_v, m3_v, estimated[2], estimated[3], co2_v]  # money: as estimated
        variants = row_variants(kind, technique)
        for stage in STAGES_OF_STATUS[status]:
            figures = verified if stage == Stage.VERIFIED else estimated
            if stage == Stage.POTENTIAL:
                measure_count += count
            for level, scope in ((Level.PROGRAMME, 0), (Level.PROVINCE, province), (Level.PARK, park)):
                for variant_kind, variant_technique in variants:
                    for variant_year in (year, 0):
                        row = totals[(level, scope, variant_kind, variant_technique, stage, variant_year)]
                        for i in range(n):
                            row[i] += figures[i]
                        row[n] += count
    for level, scope, kind, technique, stage, year, count in counts:
        totals[(level, int(scope), kind, technique, stage, int(year))][n + 1] = count
    now = timezone.now()
    rows = [
        RollupRow(
            level=level,
            scope_id=scope,
            kind=kind,
            technique=technique,
            stage=stage,
            year=year,
            **dict(zip(FIGURES, figures, strict=True)),
            measure_count=measures,
            enterprise_count=enterprises,
            computed_at=now,
        )
        for (level, scope, kind, technique, stage, year), (*figures, measures, enterprises) in totals.items()
        if measures
    ]
    return rows, measure_count


# PostgreSQL. Distinct enterprises per row: per enterprise and park, one bit for each (variant, stage, year) it takes
# part in, packed in bigints and OR-ed over its measures in one parallel pass; the bits are then counted per scope
# (numpy, over about one row per enterprise). Variants: all kinds, each kind, each RECP technique. A variant takes
# 3 stages x `years` bits, so a 63-bit word holds 63 // (3 x years) variants.
_VARIANTS: list[tuple[str, str]] = [(ALL, ""), (Measure.Kind.RECP, ""), (Measure.Kind.IS, "")] + [
    (Measure.Kind.RECP, technique) for technique in Measure.Technique.values
]
_STAGE_BITS = {status: len(stages) for status, stages in STAGES_OF_STATUS.items()}


def _masks_sql(first_year: int, years: int) -> tuple[str, int, int]:
    """The per-enterprise pass into `rollup_masks`; with the number of words and of variants per word."""
    per_word = 63 // (3 * years)
    words = -(-len(_VARIANTS) // per_word)
    # b: the measure's stage bits (one per stage it counts in, `years` apart) at its year's offset
    stage_bits = " ".join(
        f"WHEN '{status}' THEN {sum(1 << (s * years) for s in range(n))}" for status, n in _STAGE_BITS.items() if n
    )
    b = f"((CASE m.status {stage_bits} END)::bigint << (m.reference_year - {first_year}))"  # once per row, below

    def case(column: str, branches: list[tuple[str, int]], word: int) -> str | None:
        """CASE over the column's values whose variant sits in this word (None when none does)."""
        placed = [
            f"WHEN '{value}' THEN x.b << {(v % per_word) * 3 * years}" for value, v in branches if v // per_word == word
        ]
        return f"CASE {column} {' '.join(placed)} ELSE 0 END" if placed else None

    kinds = [(kind, v) for v, (kind, technique) in enumerate(_VARIANTS) if v and not technique]
    techniques = [(technique, v) for v, (_, technique) in enumerate(_VARIANTS) if technique]
    columns = []
    for word in range(words):
        parts = ["x.b" if word == 0 else None, case("x.kind", kinds, word)]  # variant 0 (all kinds): at offset 0
        by_technique = case("x.technique", techniques, word)
        if by_technique:
            parts.append(f"CASE WHEN x.kind = '{Measure.Kind.RECP}' THEN {by_technique} ELSE 0 END")
        columns.append(f"BIT_OR({' | '.join(p for p in parts if p)}) AS w{word}")
    participants = " UNION ALL ".join(
        f"SELECT m.{column} AS e, m.park_id, m.kind, m.technique, {b} AS b FROM measures_measure m "
        f"WHERE m.{column} IS NOT NULL AND m.status IN ({_status_list(Stage.POTENTIAL)})"
        for column in ("enterprise_id", "source_enterprise_id", "sink_enterprise_id")
    )
    sql = (
        f"CREATE TEMP TABLE rollup_masks ON COMMIT DROP AS SELECT x.e, x.park_id, {', '.join(columns)} "
        f"FROM ({participants}) x GROUP BY x.e, x.park_id"
    )
    return sql, words, per_word


def _sum_runs(values, starts):
    """Column sums over each run of rows beginning at `starts` (rows sorted by run). Summed with the rows last:
    numpy's reduceat is several times faster along the contiguous axis."""
    import numpy as np

    return np.add.reduceat(np.ascontiguousarray(values.T), starts, axis=1, dtype=np.int32).T


def _count_bits(masks, starts, years: int, groups: int) -> tuple:
    """Per run of rows and word: how many rows have each bit set, and each group of `years` bits not empty. One word
    at a time, in bytes, so that memory stays a few bytes per row and bit."""
    import numpy as np

    by_bit, any_year = [], []
    firsts = np.arange(groups, dtype=np.uint64) * np.uint64(years)
    span = np.uint64((1 << years) - 1)
    for word in np.ascontiguousarray(masks.T):
        by_bit.append(_sum_runs(np.unpackbits(word.view(np.uint8).reshape(-1, 8), axis=1, bitorder="little"), starts))
        any_year.append(_sum_runs(((word[:, None] >> firsts) & span) != 0, starts))
    return np.stack(by_bit, axis=1), np.stack(any_year, axis=1)


def _database_counts(cursor, first_year: int, years: int) -> io.StringIO:
    """Distinct enterprises for every row that has any, as COPY text for `rollup_counts`."""
    import numpy as np

    sql, words, per_word = _masks_sql(first_year, years)
    cursor.execute(sql)
    plain = ", ".join(f"w{i}" for i in range(words))
    merged = ", ".join(f"BIT_OR(w{i})" for i in range(words))
    cursor.execute(
        f"SELECT level, scope, {plain} FROM ("
        f"SELECT '{Level.PARK}' AS level, park_id AS scope, {plain} FROM rollup_masks "
        f"UNION ALL SELECT '{Level.PROVINCE}', p.province_id, {merged} FROM rollup_masks r "
        f"JOIN parks_park p ON p.id = r.park_id GROUP BY p.province_id, r.e "
        f"UNION ALL SELECT '{Level.PROGRAMME}', 0, {merged} FROM rollup_masks GROUP BY e"
        f") s ORDER BY level, scope"
    )
    fetched = cursor.fetchall()
    out = io.StringIO()
    if not fetched:
        return out
    starts = np.flatnonzero([i == 0 or fetched[i - 1][:2] != row[:2] for i, row in enumerate(fetched)])
    scopes = [fetched[i][:2] for i in starts]  # (level, scope) of each run of rows
    masks = np.array([row[2:] for row in fetched], dtype=np.int64).view(np.uint64)  # bit 63 is never used
    # enterprises per scope and bit; and per scope and (variant, stage) in any year, i.e. with any of its bits set
    by_bit, any_year = _count_bits(masks, starts, years, per_word * 3)  # (scope, word, bit), (scope, word, group)
    for v, (kind, technique) in enumerate(_VARIANTS):
        word, slot = divmod(v, per_word)
        for s, stage in enumerate(STAGE_ORDER):
            group = slot * 3 + s
            for i, (level, scope) in enumerate(scopes):
                key = f"{level}\t{scope}\t{kind}\t{technique}\t{stage}"
                if n := any_year[i, word, group]:
                    out.write(f"{key}\t0\t{n}\n")
                for offset in range(years):
                    if n := by_bit[i, word, group * years + offset]:
                        out.write(f"{key}\t{first_year + offset}\t{n}\n")
    out.seek(0)
    return out


_FINE_SQL = (
    "CREATE TEMP TABLE rollup_fine ON COMMIT DROP AS SELECT m.park_id, m.kind, m.technique, m.status, "
    f"m.reference_year AS year, {_SUMS}, COUNT(*) AS n "
    "FROM measures_measure m GROUP BY m.park_id, m.kind, m.technique, m.status, m.reference_year"
)


def _expand_sql() -> str:
    """The finest rows counted in their stages, then at every level, kind variant, and in their year and all years
    (grouping sets: the product of the three lists)."""
    stages = ", ".join(f"('{status}', '{stage}')" for status, in_stages in STAGES_OF_STATUS.items()
                       for stage in in_stages)  # fmt: skip
    figures = ", ".join(
        f"COALESCE(CASE s.stage WHEN '{Stage.VERIFIED}' THEN f.{verified} ELSE f.{estimated} END, 0) AS {estimated}"
        for estimated, verified in (("kwh", "kwh_v"), ("m3", "m3_v"), ("usd", "usd"), ("vnd", "vnd"), ("co2", "co2_v"))
    )
    staged = (
        f"SELECT p.province_id, f.park_id, f.kind, f.technique, s.stage, f.year, {figures}, f.n "
        f"FROM rollup_fine f JOIN parks_park p ON p.id = f.park_id "
        f"JOIN (VALUES {stages}) s(status, stage) ON s.status = f.status"
    )
    grouped = (
        f"SELECT CASE WHEN GROUPING(park_id) = 0 THEN '{Level.PARK}' WHEN GROUPING(province_id) = 0 "
        f"THEN '{Level.PROVINCE}' ELSE '{Level.PROGRAMME}' END AS level, COALESCE(park_id, province_id, 0) AS scope, "
        f"CASE WHEN GROUPING(kind) = 0 THEN kind ELSE '{ALL}' END AS kind, "
        f"CASE WHEN GROUPING(technique) = 0 THEN technique ELSE '' END AS technique, stage, "
        f"CASE WHEN GROUPING(year) = 0 THEN year ELSE 0 END AS year, "
        f"SUM(kwh) AS kwh, SUM(m3) AS m3, SUM(usd) AS usd, SUM(vnd) AS vnd, SUM(co2) AS co2, SUM(n) AS n "
        f"FROM ({staged}) staged "
        f"GROUP BY stage, GROUPING SETS ((), (province_id), (park_id)), "
        f"GROUPING SETS ((), (kind), (kind, technique)), GROUPING SETS ((), (year)) "
        # the technique rows are RECP's; for the others they would repeat the kind's row
        f"HAVING GROUPING(technique) = 1 OR (kind = '{Measure.Kind.RECP}' AND technique <> '')"
    )
    key = "level, scope, kind, technique, stage, year"
    return (
        f"INSERT INTO reports_rolluprow (level, scope_id, kind, technique, stage, year, electricity_kwh, water_m3, "
        f"cost_usd, cost_vnd, co2e_t, measure_count, enterprise_count, computed_at) "
        f"SELECT a.level, a.scope, a.kind, a.technique, a.stage, a.year, a.kwh, a.m3, a.usd, a.vnd, a.co2, a.n, "
        f"COALESCE(c.n, 0), %s FROM ({grouped}) a LEFT JOIN rollup_counts c USING ({key})"
    )


def _rebuild_in_database(cursor) -> tuple[int, int] | None:
    """Writes the table in the database; returns (rows, measures in the pipeline), or None when the years span more
    than the masks hold (21 years), leaving the table as it was."""
    cursor.execute(_FINE_SQL)
    cursor.execute("ANALYZE rollup_fine")  # its size lets the planner hash the grouping sets rather than sort
    cursor.execute("SELECT MIN(year), MAX(year) FROM rollup_fine")
    low, high = cursor.fetchone()
    if low is not None and 3 * (high - low + 1) > 63:
        cursor.execute("DROP TABLE rollup_fine")
        return None
    cursor.execute(
        "CREATE TEMP TABLE rollup_counts (level text, scope bigint, kind text, technique text, stage text, "
        "year int, n int) ON COMMIT DROP"
    )
    if low is not None:
        cursor.copy_expert("COPY rollup_counts FROM STDIN", _database_counts(cursor, low, high - low + 1))
    cursor.execute("DELETE FROM reports_rolluprow")
    cursor.execute(_expand_sql(), [timezone.now()])
    rows = cursor.rowcount
    cursor.execute(f"SELECT COALESCE(SUM(n), 0) FROM rollup_fine WHERE status IN ({_status_list(Stage.POTENTIAL)})")
    measure_count = cursor.fetchone()[0]
    cursor.execute("DROP TABLE IF EXISTS rollup_fine, rollup_masks, rollup_counts")  # inside a caller's transaction
    return rows, measure_count


def rollup_rebuild(*, reason: str = "") -> int:
    """Recompute the whole table from the measures; returns the number of rows."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # Inside the caller's transaction (e.g. loading demo data) the caller's snapshot is the one that counts.
        with transaction.atomic():
            _lock()
            return _rebuild(reason)
    # The lock is taken before the transaction so that the snapshot is taken after any other roll-up committed.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_LOCK])
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            return _rebuild(reason)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_LOCK])


def _rebuild(reason: str) -> int:
    started = timezone.now()
    written = None
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL work_mem = '64MB'")  # hash aggregates in memory, not sorts on disk
            cursor.execute("SET LOCAL jit = off")  # compiling these short expressions costs more than it saves
            written = _rebuild_in_database(cursor)
        if written is None:
            rows, measure_count = _rebuild_in_python(cursor)
            RollupRow.objects.all().delete()
            RollupRow.objects.bulk_create(rows, batch_size=5000)
            written = len(rows), measure_count
    RollupPending.objects.all().delete()  # in this snapshot: changes committed later stay pending
    RollupRun.objects.create(
        mode=RollupRun.Mode.FULL,
        reason=reason[:300],
        started_at=started,
        finished_at=timezone.now(),
        measures=written[1],
        rows=written[0],
    )
    return written[0]
