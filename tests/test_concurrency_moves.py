"""Enterprises moved to another park while their measures are edited, at the same moment (PostgreSQL: real concurrent
writers): nobody waits in a circle, every measure ends in its enterprise's park, and the roll-up equals a count from
scratch."""

import logging
import threading
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.db import connection, connections

from enterprises.models import Enterprise
from enterprises.services import enterprise_update
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create, measure_update
from reports.models import RollupPending
from tests.factories import EnterpriseFactory, ParkFactory, recp_measure
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers and row locks need PostgreSQL"),
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("eager_tasks"),  # each writer's roll-up runs in its own thread, after its commit
]

MOVES = EDITS = 10


def at_once(jobs: list[Callable[[], object]]) -> list[BaseException]:
    """Run the jobs in as many threads, released together, each with its own connection; the exceptions raised."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def run(job) -> None:
        try:
            barrier.wait(timeout=30)
            job()
        except BaseException as exc:  # reported by the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a writer never finished"
    return errors


def test_moves_and_edits_at_once_neither_deadlock_nor_leave_a_measure_behind(reference_data, caplog):
    electricity = Resource.objects.get(code="electricity")
    parks = [ParkFactory(), ParkFactory()]
    enterprises = [EnterpriseFactory(park=parks[0]) for _ in range(3)]
    measures = [
        measure_create(
            measure=recp_measure(enterprise, reference=f"move-{enterprise.pk}-{n}"),
            savings=[SavingInput(electricity, Decimal(10_000 * (n + 1)), "kWh")],
        ).pk
        for enterprise in enterprises
        for n in range(4)
    ]

    def move(i: int):
        return lambda: enterprise_update(
            enterprise_id=enterprises[i % len(enterprises)].pk, changes={"park": parks[(i // len(enterprises) + 1) % 2]}
        )

    def edit(i: int):
        return lambda: measure_update(
            measure_id=measures[i % len(measures)],
            changes={"title_en": f"edited {i}", "estimate_year": 2020 + i % 4},
            savings=[SavingInput(electricity, Decimal(5_000 + i), "kWh")],
        )

    jobs = [job for i in range(max(MOVES, EDITS)) for job in (move(i), edit(i))]
    with caplog.at_level(logging.WARNING, logger="ecopark.transactions"):
        errors = at_once(jobs)

    assert errors == [], "\n".join(map(str, errors))
    gave_way = [r.getMessage() for r in caplog.records if r.name == "ecopark.transactions"]
    assert gave_way == [], "\n".join(gave_way)  # one lock order: no move had to give way
    for enterprise in Enterprise.objects.filter(pk__in=[e.pk for e in enterprises]):
        assert set(Measure.objects.filter(enterprise=enterprise).values_list("park", flat=True)) == {enterprise.park_id}
    assert not RollupPending.objects.exists()
    assert differences(from_scratch(), table_now()) == []


def test_measures_moved_to_an_enterprise_that_is_moving_follow_it(reference_data):
    """An edit that gives a measure another enterprise reads that enterprise's park under its lock, so a move of that
    enterprise at the same moment either comes first (the measure goes to the new park) or takes the measure along."""
    electricity = Resource.objects.get(code="electricity")
    parks = [ParkFactory(), ParkFactory()]
    target = EnterpriseFactory(park=parks[0])
    others = [EnterpriseFactory(park=parks[0]) for _ in range(EDITS)]
    measures = [
        measure_create(
            measure=recp_measure(enterprise, reference=f"switch-{enterprise.pk}"),
            savings=[SavingInput(electricity, Decimal(1_000), "kWh")],
        ).pk
        for enterprise in others
    ]

    def move(i: int):
        return lambda: enterprise_update(enterprise_id=target.pk, changes={"park": parks[(i + 1) % 2]})

    def switch(i: int):
        return lambda: measure_update(measure_id=measures[i], changes={"enterprise": target})

    errors = at_once([job for i in range(EDITS) for job in (move(i), switch(i))])
    assert errors == [], "\n".join(map(str, errors))
    target.refresh_from_db()
    assert set(Measure.objects.filter(enterprise=target).values_list("park", flat=True)) == {target.park_id}
    assert Measure.objects.filter(enterprise=target).count() == EDITS
    assert differences(from_scratch(), table_now()) == []
