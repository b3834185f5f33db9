"""Merging an edit made on an older version of a measure with what was saved since, three ways: what the form was
opened on (base), what is stored now (theirs) and what was posted (mine), field by field and line by line.

A line is known by its resource (a saving) or its resource and direction (a flow): a measure has one saving per
resource, and the same resource flows at most once each way in practice (several are merged as one group).
"""

import json
from collections.abc import Callable, Iterable
from decimal import Decimal

LINE_PLACES = Decimal("0.0001")


def _q(value) -> str | None:
    return None if value is None else str(Decimal(value).quantize(LINE_PLACES))


def _resource_id(line) -> int:
    return line.resource.pk if getattr(line, "resource", None) is not None else line.resource_id


def saving_entry(line) -> list:
    """A saving (stored row or service input) as a comparable value."""
    return [_resource_id(line), _q(line.quantity), line.unit, _q(line.verified_quantity)]


def flow_entry(line) -> list:
    """A flow (stored row or service input) as a comparable value."""
    return [_resource_id(line), _q(line.quantity), line.unit, line.direction]


def saving_key(entry: list):
    return entry[0]


def flow_key(entry: list):
    return entry[0], entry[3]


LINES = {"savings": (saving_entry, saving_key), "flows": (flow_entry, flow_key)}


def lines_state(savings: Iterable, flows: Iterable) -> dict:
    """Lines as comparable values: stored rows and service inputs give the same state for the same lines."""
    return {
        "savings": sorted((saving_entry(s) for s in savings), key=json.dumps),
        "flows": sorted((flow_entry(f) for f in flows), key=json.dumps),
    }


def _grouped(pairs: Iterable[tuple[list, object]], key: Callable) -> dict:
    groups: dict = {}
    for entry, row in pairs:
        groups.setdefault(key(entry), []).append((json.dumps(list(entry)), row))
    return groups


def merge_lines(which: str, *, base: list, mine: list, theirs: list) -> tuple[list, list]:
    """The lines of `which` ("savings" or "flows") after merging: for each line, this person's when they changed it
    (or both made the same change), the stored one when only the other editor changed it (removed stays removed,
    added is kept). A line both changed differently keeps this person's and is returned among the clashes, as the
    row to name (theirs if this person removed it). `mine` and `theirs` are rows (service inputs, stored lines);
    `base` is the opened state's entries."""
    entry_of, key = LINES[which]
    base_groups = _grouped(((entry, None) for entry in base), key)
    mine_groups = _grouped(((entry_of(row), row) for row in mine), key)
    theirs_groups = _grouped(((entry_of(row), row) for row in theirs), key)
    rows, clashes = [], []
    for group in dict.fromkeys([*theirs_groups, *mine_groups]):
        old, my, new = (
            sorted(entry for entry, _ in groups.get(group, [])) for groups in (base_groups, mine_groups, theirs_groups)
        )
        take = mine_groups
        if my != new and my == old:
            take = theirs_groups
        elif my != new and new != old:
            clashes.append((mine_groups.get(group) or theirs_groups[group])[0][1])
        rows.extend(row for _, row in take.get(group, []))
    return rows, clashes


def merge_fields(names: dict[str, tuple[str, ...]], *, base: dict, mine: dict, theirs: dict) -> tuple[list, list]:
    """Which form fields take the stored value (only the other editor changed them) and which both changed
    differently (this person's input is kept), from the fields' attnames in each state."""
    take_theirs, clashes = [], []
    for name, attnames in names.items():
        old, my, new = ([state.get(a) for a in attnames] for state in (base, mine, theirs))
        if new == old or my == new:
            continue
        if my == old:
            take_theirs.append(name)
        else:
            clashes.append(name)
    return take_theirs, clashes
