"""The roll-up table always equals a from-scratch aggregate of the measures, whatever happened before."""

import datetime
import itertools
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecopark.demo import HEADLINE
from enterprises.models import Enterprise, Organisation
from measures.models import EmissionFactor, Measure, Resource
from measures.services import (
    SavingInput,
    allowed_transitions,
    measure_create,
    measure_delete,
    measure_transition,
    measure_update,
)
from reports.models import RollupPending, RollupRow, RollupRun
from reports.selectors import enterprise_rows, totals_for_parks
from reports.services import rollup_apply_pending, rollup_rebuild
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = pytest.mark.usefixtures("eager_tasks")


@pytest.mark.django_db
def test_the_demo_programme_rolls_up_to_the_seeds_headline():
    potential = totals_for_parks(None).stages["potential"]
    assert (potential.electricity_kwh, potential.water_m3, potential.cost_usd, potential.co2e_t) == (
        HEADLINE["electricity_kwh"],
        HEADLINE["water_m3"],
        HEADLINE["cost_usd"],
        HEADLINE["co2e_t"],
    )
    programme = RollupRow.objects.get(level="programme", kind="recp", technique="", stage="potential", year=0)
    assert programme.enterprise_count == HEADLINE["enterprises"]
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_a_symbiosis_exchange_counts_once_in_its_park_and_the_programme():
    exchange = Measure.objects.filter(kind="is", source_enterprise__isnull=False, sink_enterprise__isnull=False).first()
    park = RollupRow.objects.get(
        level="park", scope_id=exchange.park_id, kind="is", technique="", stage="potential", year=0
    )
    in_park = Measure.objects.filter(park=exchange.park, kind="is").exclude(status__in=["rejected", "withdrawn"])
    assert park.measure_count == in_park.count()
    assert park.co2e_t == sum(m.co2e_t for m in in_park)
    # ... while each enterprise taking part sees it among its own figures.
    for enterprise_id in (exchange.source_enterprise_id, exchange.sink_enterprise_id):
        rows = enterprise_rows(enterprise_id)
        assert any(r["kind"] == "is" and r["stage"] == "potential" and r["year"] == 0 for r in rows)


@pytest.mark.django_db
def test_an_edit_shows_in_the_park_and_programme_rows(django_capture_on_commit_callbacks, staff_user):
    measure = Measure.objects.get(reference="demo-recp-002")
    before = totals_for_parks([measure.park_id]).stages["potential"].electricity_kwh
    programme_before = totals_for_parks(None).stages["potential"].electricity_kwh
    savings = [
        SavingInput(s.resource, s.quantity, s.unit) for s in measure.savings.all() if s.resource.code != "electricity"
    ]
    with django_capture_on_commit_callbacks(execute=True):
        measure_update(
            measure_id=measure.pk,
            changes={},
            savings=[*savings, SavingInput(Resource.objects.get(code="electricity"), Decimal(1_000_000), "kWh")],
        )
    added = Decimal(1_000_000) - measure.electricity_kwh
    assert totals_for_parks([measure.park_id]).stages["potential"].electricity_kwh == before + added
    assert totals_for_parks(None).stages["potential"].electricity_kwh == programme_before + added
    assert not RollupPending.objects.exists()
    assert RollupRun.objects.filter(mode="incremental").exists()


@pytest.mark.django_db
def test_running_the_pending_roll_up_twice_changes_nothing(django_capture_on_commit_callbacks, staff_user):
    measure = Measure.objects.get(reference="demo-recp-100")
    with django_capture_on_commit_callbacks(execute=False):
        measure_transition(measure=measure, to_status=allowed_transitions(measure.status)[0], changed_by=staff_user,
                           effective_on=datetime.date(2024, 6, 1), reason="test")  # fmt: skip
    assert rollup_apply_pending() == 1
    after_once = table_now()
    assert rollup_apply_pending() == 0
    assert table_now() == after_once
    assert differences(from_scratch(), after_once) == []


@pytest.mark.django_db
def test_a_corrected_emission_factor_recomputes_measures_and_roll_ups_and_is_recorded(
    django_capture_on_commit_callbacks,
):
    factor = EmissionFactor.objects.get(resource__code="electricity", year=2022)
    users = Measure.objects.filter(co2e_trail__factor=factor).distinct()
    measure = users.filter(co2e_entered_t__isnull=True).first()
    old = measure.co2e_t
    with django_capture_on_commit_callbacks(execute=True):
        factor.value = Decimal("0.7000")
        factor.save()
    measure.refresh_from_db()
    assert measure.co2e_t != old
    assert measure.co2e_trail.get(resource__code="electricity").factor_value == Decimal("0.7000")
    assert differences(from_scratch(), table_now()) == []
    run = RollupRun.objects.filter(mode="full").order_by("-finished_at").first()
    assert "emission factor changed" in run.reason


# Property: any sequence of creates, edits, status changes, deletes and factor corrections.
create_op = st.tuples(
    st.just("create"),
    st.sampled_from(["recp", "is", "is-city"]),
    st.integers(0, 60),  # which enterprise
    st.sampled_from(list(Measure.Technique.values)),
    st.integers(-5, 2_000_000),  # kWh (negative: electricity may rise)
    st.integers(0, 5_000),  # m3
    st.integers(2019, 2026),  # year of the estimate
)
edit_op = st.tuples(st.just("edit"), st.integers(0, 20), st.integers(0, 900_000), st.integers(2019, 2026))
step_op = st.tuples(st.just("step"), st.integers(0, 20), st.integers(0, 2))
delete_op = st.tuples(st.just("delete"), st.integers(0, 20))
factor_op = st.tuples(st.just("factor"), st.integers(2018, 2024), st.decimals("0.5", "0.95", places=4))


REFERENCES = itertools.count()


def _apply_op(op, created: list[int], user) -> None:
    electricity = Resource.objects.get(code="electricity")
    water = Resource.objects.get(code="water")
    kind = op[0]
    if kind == "create":
        _, variant, e, technique, kwh, m3, year = op
        enterprises = list(Enterprise.objects.filter(code__startswith="demo-").order_by("pk"))
        source = enterprises[e % len(enterprises)]
        values = {
            "reference": f"prop-{next(REFERENCES)}",
            "identified_on": datetime.date(2019, 1, 1),
            "estimate_year": year,
            "title_en": "property",
            "annual_cost_saving": Decimal(kwh % 1000),
        }
        if variant == "recp":
            measure = Measure(kind="recp", enterprise=source, park=source.park, technique=technique, **values)
        else:
            measure = Measure(
                kind="is", park=source.park, exchange_type="byproduct", source_enterprise=source, **values
            )
            if variant == "is-city":
                measure.sink_organisation = Organisation.objects.first()
            else:
                peers = [x for x in enterprises if x.park_id == source.park_id and x != source]
                measure.sink_enterprise = peers[e % len(peers)]
        savings = [
            SavingInput(electricity, Decimal(kwh), "kWh", negative_confirmed=kwh < 0),  # as the form confirms it
            SavingInput(water, Decimal(m3), "m3", Decimal(m3 // 2)),
        ]
        created.append(measure_create(measure=measure, savings=savings, created_by=user).pk)
    elif not created and kind != "factor":
        return
    elif kind == "edit":
        _, i, kwh, year = op
        measure_update(
            measure_id=created[i % len(created)],
            changes={"estimate_year": year},
            savings=[SavingInput(electricity, Decimal(kwh), "kWh", Decimal(kwh // 3))],
        )
    elif kind == "step":
        _, i, choice = op
        measure = Measure.objects.get(pk=created[i % len(created)])
        options = allowed_transitions(measure.status)
        if options:
            measure_transition(measure=measure, to_status=options[choice % len(options)], changed_by=user,
                               effective_on=datetime.date(2023, 3, 1), reason="property test")  # fmt: skip
    elif kind == "delete":
        _, i = op
        measure_delete(measure_id=created.pop(i % len(created)))
    elif kind == "factor":
        _, year, value = op
        factor = EmissionFactor.objects.get(resource__code="electricity", year=year)
        factor.value = value
        factor.save()


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(st.one_of(create_op, edit_op, step_op, delete_op, factor_op), min_size=1, max_size=8))
def test_after_any_sequence_of_changes_the_table_equals_a_from_scratch_aggregate(
    ops, django_capture_on_commit_callbacks, staff_user
):
    created: list[int] = []
    for op in ops:
        with django_capture_on_commit_callbacks(execute=True):
            _apply_op(op, created, staff_user)
    assert differences(from_scratch(), table_now()) == []
    rollup_rebuild(reason="property test")
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
@pytest.mark.parametrize("years", [(2019, 2025), (2000, 2090)], ids=["seven-years", "ninety-years"])
def test_a_rebuild_equals_a_from_scratch_aggregate_whatever_the_span_of_years(years, staff_user):
    # PostgreSQL packs each enterprise's years in bit masks, and falls back to plain counting past 21 years.
    from measures.models import PlausibilityWindow

    PlausibilityWindow.objects.update_or_create(
        pk=PlausibilityWindow.current().pk,
        defaults={"earliest_estimate_year": 2000, "latest_estimate_year": 2100, "source": "test: a long programme"},
    )
    created: list[int] = []
    for i, year in enumerate(years):
        _apply_op(("create", "recp", i, "good_housekeeping", 1000 + i, 10, year), created, staff_user)
        _apply_op(("create", "is-enterprise", i + 1, "", 500, 5, year), created, staff_user)
    _apply_op(("step", 0, 0), created, staff_user)
    rollup_rebuild(reason="test")
    table = table_now()
    assert differences(from_scratch(), table) == []
    assert {key[5] for key in table} >= {0, *years}
