"""The disclosure rule on generated programmes: nothing a partner can add up or subtract exposes a withheld figure.

The cells and stages are written out here, not taken from the roll-up (`tests/reports/scratch.py` does the same): an
oracle that read production's lists would agree with any mistake in them.
"""

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from reports.disclosure import Leaf, Thresholds, withheld_cells
from tests.reports.disclosure_audit import Span

LIVE = ("identified", "proposed", "accepted", "implemented", "verified")
STAGES = {"potential": set(LIVE), "realised": {"implemented", "verified"}, "verified": {"verified"}}
TECHNIQUES = ("good_housekeeping", "equipment_modification")
YEARS = (2022, 2023)


def cells_of(leaf: Leaf) -> list[tuple]:
    """Every cell a partner reads that counts the leaf's measures, the non-consenting enterprises' own included."""
    scopes = [("programme", 0), ("province", leaf.province_id), ("park", leaf.park_id)]
    scopes += [("enterprise", e) for e in (*leaf.parties, *leaf.money)]
    kinds = [("all", ""), (leaf.kind, "")] + ([("recp", leaf.technique)] if leaf.kind == "recp" else [])
    return [
        (level, scope, kind, technique, stage, year)
        for stage, statuses in STAGES.items()
        if leaf.status in statuses
        for level, scope in scopes
        for kind, technique in kinds
        for year in (0, leaf.year)
    ]


def passes(leaves: list[Leaf], thresholds: Thresholds) -> bool:
    """The rule, read off the policy: enough non-consenting enterprises, none holding the share or more."""
    enterprises = {e for leaf in leaves for e in leaf.money}
    if len(enterprises) < thresholds.min_enterprises:
        return False
    for figure in (0, 1):
        total = sum((leaf.usd_cents, leaf.vnd)[figure] for leaf in leaves)
        for e in enterprises:
            held = sum(leaf.money[e][figure] for leaf in leaves if e in leaf.money)
            if total == 0 or Decimal(held) / Decimal(total) * 100 >= thresholds.max_share:
                return False
    return True


def measure(park: int, province: int, kind: str, technique: str, status: str, year: int, participants, consents,
            usd: int, vnd: int) -> Leaf | None:  # fmt: skip
    """One closed measure as a leaf, or None for an open one (partners read its money anyway)."""
    contributors = [e for e in participants if not consents[e]]
    if not contributors:
        return None
    leaf = Leaf(park, province, kind, technique, status, year, parties=tuple(e for e in participants if consents[e]))
    leaf.add(contributors, usd, vnd, 1)
    return leaf


@st.composite
def programmes(draw):
    """Closed measures of a few enterprises in a few parks of a few provinces; RECP and exchanges."""
    parks = draw(st.lists(st.integers(1, 3), min_size=1, max_size=4))  # park i+1 lies in province parks[i]
    consents = dict(enumerate(draw(st.lists(st.booleans(), min_size=2, max_size=9)), start=1))
    home = {e: draw(st.integers(1, len(parks))) for e in consents}
    enterprise = st.sampled_from(sorted(consents))
    leaves = []
    for _ in range(draw(st.integers(1, 22))):
        kind = draw(st.sampled_from(["recp", "is"]))
        if kind == "recp":
            participants = [draw(enterprise)]
            park = home[participants[0]]
        else:  # between two enterprises, or an enterprise and an outsider, in any park
            participants = draw(st.lists(enterprise, min_size=1, max_size=2, unique=True))
            park = draw(st.integers(1, len(parks)))
        usd = draw(st.sampled_from([0, 1, 7, 100, 2500, 10**6, 10**11]) | st.integers(0, 10**9))
        leaf = measure(
            park, parks[park - 1], kind, draw(st.sampled_from(TECHNIQUES)) if kind == "recp" else "",
            draw(st.sampled_from(LIVE)), draw(st.sampled_from(YEARS)), participants, consents, usd,
            draw(st.sampled_from([usd * 245, 0, 13])),
        )  # fmt: skip
        if leaf is not None:
            leaves.append(leaf)
    thresholds = Thresholds(
        min_enterprises=draw(st.sampled_from([3, 3, 2, 4])), max_share=draw(st.sampled_from([Decimal(85), Decimal(50)]))
    )
    return leaves, {e for e, consent in consents.items() if not consent}, thresholds


@settings(max_examples=300, deadline=None)
@given(programmes())
def test_no_withheld_figure_can_be_worked_out_from_the_cells_a_partner_reads(programme):
    leaves, non_consenting, thresholds = programme
    withheld = withheld_cells(leaves, thresholds)
    members: dict[tuple, set[int]] = {}
    for i, leaf in enumerate(leaves):
        for cell in cells_of(leaf):
            members.setdefault(cell, set()).add(i)
    own = {cell for cell in members if cell[0] == "enterprise" and cell[1] in non_consenting}
    published = {cell: m for cell, m in members.items() if cell not in withheld and cell not in own}

    # Every figure a partner reads, less the money it reads in the measures list, keeps to the rule...
    for cell, m in published.items():
        assert passes([leaves[i] for i in m], thresholds), cell
    # ... and so does one figure less another it covers (a park less one of its enterprises, all years less one).
    for cell, m in published.items():
        for other, n in published.items():
            if n < m:
                assert passes([leaves[i] for i in m - n], thresholds), (cell, other)

    # No sum and difference of them gives a withheld figure: one measure's money, or one non-consenting enterprise's.
    span = Span()
    for m in published.values():
        span.add(m)
    for i in range(len(leaves)):
        assert not span.contains({i}), leaves[i]
    for cell in own:
        assert not span.contains(members[cell]), cell

    # Not a rule that hides everything: the programme's total is shown whenever it keeps to the rule by itself.
    programme_total = ("programme", 0, "all", "", "potential", 0)
    if programme_total in members and passes([leaves[i] for i in members[programme_total]], thresholds):
        assert programme_total in published


def _leaf(park: int, enterprise: int, usd: int) -> Leaf:
    """A proposed RECP measure of a non-consenting enterprise, alone in its park and province."""
    return measure(
        park, park, "recp", TECHNIQUES[0], "proposed", 2022, [enterprise], {enterprise: False}, usd, usd * 25
    )


def _park(park: int) -> tuple:
    return ("park", park, "all", "", "potential", 0)


RULE = Thresholds(min_enterprises=3, max_share=Decimal(85))


def test_a_park_of_one_non_consenting_enterprise_is_withheld_and_so_is_a_park_that_would_give_it_away():
    # Park 1: one enterprise. Parks 2 and 3: three each, of a size. The programme keeps to the rule, so it is shown;
    # then the programme less park 2 less park 3 would be park 1: one of them is held back with it.
    leaves = [_leaf(1, 1, 500), _leaf(2, 2, 400), _leaf(2, 3, 300), _leaf(2, 4, 350)]
    leaves += [_leaf(3, 5, 300), _leaf(3, 6, 300), _leaf(3, 7, 300)]
    withheld = withheld_cells(leaves, RULE)
    assert _park(1) in withheld
    assert [_park(2) in withheld, _park(3) in withheld].count(True) == 1
    assert ("programme", 0, "all", "", "potential", 0) not in withheld


def test_a_park_where_one_enterprise_holds_nearly_all_of_the_money_is_withheld():
    leaves = [_leaf(1, 1, 1500), _leaf(1, 2, 100), _leaf(1, 3, 100)]  # 88 % of it
    assert _park(1) in withheld_cells(leaves, RULE)
    leaves = [_leaf(1, 1, 1300), _leaf(1, 2, 150), _leaf(1, 3, 150)]  # 81 %
    assert _park(1) not in withheld_cells(leaves, RULE)


def test_a_park_of_two_is_withheld_whatever_their_shares():
    assert _park(1) in withheld_cells([_leaf(1, 1, 500), _leaf(1, 2, 500)], RULE)


def test_money_that_is_all_zero_is_withheld_too():
    # Zero is a figure: three enterprises with no cost saving recorded would each be seen to have none.
    assert _park(1) in withheld_cells([_leaf(1, 1, 0), _leaf(1, 2, 0), _leaf(1, 3, 0)], RULE)
