"""What partners may read of the roll-up's money: the disclosure rule.

Partners do not see the money (cost saving in USD and VND) of a measure in which an enterprise that did not consent
takes part (a *closed* measure); they see every other measure's money in the measures list. A roll-up cell sums both,
so a partner can take away what it reads and keep the closed part, and can take one cell from another (a park from
its province, RECP from all kinds, realised from potential, one year from all years, an enterprise from its park).
Whatever it works out that way is a sum over *atoms*: the sets of closed measures that lie in exactly the same
published cells. So a cell's money is published only if, once it is, every atom still holds the measures of at least
`min_enterprises` non-consenting enterprises and no single one of them takes `max_share` per cent or more of the atom's
USD or VND (absolute amounts, so that a negative saving cannot hide another; `DisclosureRule`). Any union of such atoms
keeps both properties, so no figure a partner can derive comes nearer one enterprise than the rule allows. A cell with
no closed measure is always published (the partner could add it up from the measures list), and a non-consenting
enterprise's own cells never are.

Cells are tried in a fixed order, coarse before fine (`_priority`: all kinds and all years first, the programme before
its provinces, parks and enterprises, potential before realised and verified), and each is published only if every
atom stays safe; so the answer never depends on what was asked before. The rule is conservative: it may withhold a
cell that no subtraction would have exposed, never the other way round.

Only money is protected: a measure's savings (kWh, m3, tCO2e) are shown to partners whatever the consent, in the
measures list and in an enterprise's own roll-up, so withholding them in a total would hide nothing.

The decision is made on the measures as the table counts them (`RollupPending` holds how each changed measure is
still counted there), so it changes only with a roll-up run, a consent or the rule, and is kept in the cache under
those. An enterprise's own cells are computed from its measures as they are: while a measure it takes part in waits
for the table, partners get none of its money (`catching_up`).
"""

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.cache import cache
from django.db.models import BigIntegerField, Count, Exists, OuterRef, Q, Sum, Value
from django.db.models.functions import Abs, Cast, Coalesce, Round

from enterprises.models import Enterprise
from measures.models import Measure
from reports.models import DisclosureRule, RollupPending, RollupRow, RollupRun
from reports.selectors import enterprise_measures
from reports.services import ALL, STAGES_OF_STATUS, Key, row_variants

Level = RollupRow.Level
Stage = RollupRow.Stage
# The roll-up figures withheld from partners where a non-consenting enterprise takes part, as in the measures list.
PROTECTED = ("cost_usd", "cost_vnd")
UNOBSERVED = 0  # the atom of closed measures in no published cell: nothing a partner reads sums it
ZERO = Value(Decimal(0))
PLACE = ("park_id", "park__province_id", "kind", "technique", "status", "reference_year")  # where a measure counts
CACHE_SECONDS = 24 * 3600  # a decision is kept until the next roll-up run, consent or rule makes another key


@dataclass
class Leaf:
    """Closed measures that count in exactly the same cells: one place, kind, technique, status and year, and the
    same consenting enterprises taking part (whose own cells count them too).

    Money is absolute, USD in cents and VND in dong (exact integer comparisons); `money` holds, for each
    non-consenting enterprise taking part, the money of its measures among these (an exchange counts for both
    parties, once in the total).
    """

    park_id: int
    province_id: int
    kind: str
    technique: str
    status: str
    year: int
    parties: tuple[int, ...] = ()
    usd_cents: int = 0
    vnd: int = 0
    money: dict[int, tuple[int, int]] = field(default_factory=dict)
    measures: int = 0

    def add(self, contributors: Iterable[int], usd_cents: int, vnd: int, measures: int) -> None:
        self.usd_cents += usd_cents
        self.vnd += vnd
        self.measures += measures
        for enterprise in contributors:
            usd, dong = self.money.get(enterprise, (0, 0))
            self.money[enterprise] = (usd + usd_cents, dong + vnd)

    def cells(self) -> list[Key]:
        """Every cell a partner can read that counts these measures (not the non-consenting enterprises' own)."""
        scopes = [(Level.PROGRAMME, 0), (Level.PROVINCE, self.province_id), (Level.PARK, self.park_id)]
        scopes += [(Level.ENTERPRISE, enterprise) for enterprise in self.parties]
        return [
            (level, scope, kind, technique, stage, year)
            for stage in STAGES_OF_STATUS[self.status]
            for level, scope in scopes
            for kind, technique in row_variants(self.kind, self.technique)
            for year in (self.year, 0)
        ]


@dataclass(frozen=True)
class Thresholds:
    """The rule's numbers: at least `min_enterprises` non-consenting enterprises, none with `max_share` % or more."""

    min_enterprises: int
    max_share: Decimal

    @classmethod
    def of(cls, rule: DisclosureRule) -> "Thresholds":
        return cls(min_enterprises=rule.min_enterprises, max_share=Decimal(rule.max_share))


class _Atoms:
    """The partition of the closed measures by the published cells they lie in."""

    def __init__(self, leaves: Sequence[Leaf], thresholds: Thresholds):
        self.leaves = leaves
        self.min_enterprises = thresholds.min_enterprises
        # `share >= max_share` compared in integers: max_share / 100 = num / den.
        self.num, self.den = (thresholds.max_share / 100).as_integer_ratio()
        self.atom_of = [UNOBSERVED] * len(leaves)
        self.members: dict[int, set[int]] = {UNOBSERVED: set(range(len(leaves)))}
        self.totals: dict[int, tuple[int, int]] = {UNOBSERVED: (0, 0)}  # kept only for observed atoms
        self.next_atom = UNOBSERVED + 1
        # No enterprise holds more anywhere than in the whole programme: a bound that spares most exact counts.
        whole: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for leaf in leaves:
            for enterprise, (usd, vnd) in leaf.money.items():
                whole[enterprise][0] += usd
                whole[enterprise][1] += vnd
        self.largest = (max((m[0] for m in whole.values()), default=0), max((m[1] for m in whole.values()), default=0))

    def _totals(self, indices: Iterable[int]) -> tuple[int, int]:
        usd = vnd = 0
        for i in indices:
            usd += self.leaves[i].usd_cents
            vnd += self.leaves[i].vnd
        return usd, vnd

    def safe(self, indices: Iterable[int], totals: tuple[int, int]) -> bool:
        """Whether these closed measures may be learnt as one sum: enough enterprises, none holding the share."""
        if 0 in totals:  # all of it zero: each enterprise would be seen to have none
            return False
        indices = list(indices)
        seen: set[int] = set()
        for i in indices:
            seen.update(self.leaves[i].money)
            if len(seen) >= self.min_enterprises:
                break
        else:
            return False
        if all(largest * self.den < total * self.num for largest, total in zip(self.largest, totals, strict=True)):
            return True
        held: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for i in indices:
            for enterprise, (usd, vnd) in self.leaves[i].money.items():
                held[enterprise][0] += usd
                held[enterprise][1] += vnd
        return all(
            max(amounts[figure] for amounts in held.values()) * self.den < total * self.num
            for figure, total in enumerate(totals)
        )

    def publish_if_safe(self, indices: Sequence[int]) -> bool:
        """Publish the cell of these leaves if every part it splits off stays safe; returns whether it did."""
        touched: dict[int, list[int]] = defaultdict(list)
        for i in indices:
            touched[self.atom_of[i]].append(i)
        splits = []
        for atom, inside in touched.items():
            if atom != UNOBSERVED and len(inside) == len(self.members[atom]):
                continue  # the cell adds nothing a partner did not already read of this atom
            inside_totals = self._totals(inside)
            if not self.safe(inside, inside_totals):
                return False
            if atom != UNOBSERVED:
                outside = self.members[atom].difference(inside)
                atom_totals = self.totals[atom]
                outside_totals = (atom_totals[0] - inside_totals[0], atom_totals[1] - inside_totals[1])
                if not self.safe(outside, outside_totals):
                    return False
            splits.append((atom, inside, inside_totals))
        for atom, inside, inside_totals in splits:
            new = self.next_atom
            self.next_atom += 1
            for i in inside:
                self.atom_of[i] = new
            self.members[new] = set(inside)
            self.totals[new] = inside_totals
            self.members[atom].difference_update(inside)
            if atom != UNOBSERVED:
                left = self.totals[atom]
                self.totals[atom] = (left[0] - inside_totals[0], left[1] - inside_totals[1])
        return True


LEVEL_DEPTH = {Level.PROGRAMME: 0, Level.PROVINCE: 1, Level.PARK: 2, Level.ENTERPRISE: 3}
STAGE_DEPTH = {Stage.POTENTIAL: 0, Stage.REALISED: 1, Stage.VERIFIED: 2}


def _priority(cell: Key, measures: int) -> tuple:
    """The order cells are tried in: the table partners read first (all kinds, all years: the programme, provinces,
    parks, enterprises, each stage), then each step of detail (a kind, a technique, a year); larger cells first."""
    level, scope, kind, technique, stage, year = cell
    detail = (kind != ALL) + bool(technique) + bool(year)
    return detail, LEVEL_DEPTH[level], STAGE_DEPTH[stage], -measures, level, scope, kind, technique, year


def withheld_cells(leaves: Sequence[Leaf], thresholds: Thresholds) -> set[Key]:
    """The cells holding closed measures whose money partners may not read (besides non-consenting enterprises'
    own cells, which they never read)."""
    members: dict[Key, list[int]] = defaultdict(list)
    counts: dict[Key, int] = defaultdict(int)
    for i, leaf in enumerate(leaves):
        for cell in leaf.cells():
            members[cell].append(i)
            counts[cell] += leaf.measures
    atoms = _Atoms(leaves, thresholds)
    return {
        cell
        for cell in sorted(members, key=lambda c: _priority(c, counts[c]))
        if not atoms.publish_if_safe(members[cell])
    }


def closed_leaves(non_consenting: set[int]) -> list[Leaf]:
    """The closed measures as the roll-up table counts them (two queries): as they are, or, for those changed since
    the last run, as they were counted then."""
    leaves: dict[tuple, Leaf] = {}

    def leaf_of(place: tuple, parties: tuple[int, ...]) -> Leaf:
        leaf = leaves.get((place, parties))
        if leaf is None:
            leaf = leaves[(place, parties)] = Leaf(*place, parties=parties)
        return leaf

    def count(place: tuple, participants: Iterable[int | None], usd_cents: int, vnd: int, measures: int) -> None:
        participants = set(participants) - {None}
        contributors = participants & non_consenting
        if contributors and STAGES_OF_STATUS[place[4]]:
            leaf_of(place, tuple(sorted(participants - contributors))).add(contributors, usd_cents, vnd, measures)

    closed = (
        Q(enterprise__partner_consent=False)
        | Q(source_enterprise__partner_consent=False)
        | Q(sink_enterprise__partner_consent=False)
    )
    counted = (
        Measure.objects.filter(closed, status__in=Measure.POTENTIAL_STATUSES)
        .exclude(Exists(RollupPending.objects.filter(measure_id=OuterRef("pk"))))
        .values_list(*PLACE, "enterprise_id", "source_enterprise_id", "sink_enterprise_id")
        .annotate(
            usd=Cast(Round(Coalesce(Sum(Abs("cost_usd")), ZERO) * Value(Decimal(100))), BigIntegerField()),
            vnd=Cast(Round(Coalesce(Sum(Abs("cost_vnd")), ZERO)), BigIntegerField()),
            n=Count("pk"),
        )
        .order_by()
    )
    # Read whole: a server-side cursor (iterator) would keep PostgreSQL from scanning in parallel.
    for park, province, kind, technique, status, year, enterprise, source, sink, usd, vnd, n in counted:
        place = (park, province, kind, technique, status, year)
        if source is None and sink is None:  # a RECP measure: its enterprise is the one that did not consent
            leaf_of(place, ()).add((enterprise,), usd, vnd, n)
        else:
            count(place, (enterprise, source, sink), usd, vnd, n)
    waiting = RollupPending.objects.exclude(counted_before=None).order_by().values_list("counted_before", flat=True)
    for before in waiting:
        place = tuple(before[k] for k in ("park_id", "province_id", "kind", "technique", "status", "year"))
        # Recorded before the table summed VND, a measure's VND is unknown here; the table needs a rebuild anyway.
        usd, vnd = abs(Decimal(before["usd"])), abs(Decimal(before.get("vnd", "0")))
        count(place, before["participants"], int(usd * 100), int(vnd), 1)
    return list(leaves.values())


def withheld_for_partners() -> frozenset[Key]:
    """The roll-up cells whose money a partner may not read now, by the rule in force (kept in the cache until the
    next roll-up run, a change of consent or of the rule; five queries when computed, three when kept)."""
    thresholds = Thresholds.of(DisclosureRule.current())
    non_consenting = set(Enterprise.objects.filter(partner_consent=False).order_by().values_list("pk", flat=True))
    # The run's time as well as its id: an id can come back after a rolled-back run (SQLite).
    run = RollupRun.objects.order_by("-pk").values_list("pk", "finished_at").first()
    state = f"{run}|{sorted(non_consenting)}|{thresholds.min_enterprises}|{thresholds.max_share}"
    key = f"disclosure:{hashlib.sha256(state.encode()).hexdigest()}"
    withheld = cache.get(key)
    if withheld is None:
        leaves = closed_leaves(non_consenting) if non_consenting else []
        withheld = frozenset(withheld_cells(leaves, thresholds))
        cache.set(key, withheld, CACHE_SECONDS)
    return withheld


def catching_up(enterprise_id: int) -> bool:
    """Whether a measure the enterprise takes part in (now, or as the table still counts it) waits for the table:
    until it is counted there, the enterprise's own figures are not those the decision was made on."""
    waiting = RollupPending.objects.filter(measure_id=OuterRef("pk"))
    if enterprise_measures(enterprise_id).filter(Exists(waiting)).exists():
        return True
    before = RollupPending.objects.exclude(counted_before=None).order_by().values_list("counted_before", flat=True)
    return any(enterprise_id in counted["participants"] for counted in before)
