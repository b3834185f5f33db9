"""One definition of each quantity, used everywhere: what the home page, the dashboards and the API show for the same
thing is the same number, equal to the measures counted from scratch here (stages written out in `scratch`).

Each test failed before its fix: the "RECP options" were 612 on the home page and 600 on the dashboard; the VND was
the USD re-converted at one rate; a park's enterprises were rounded before they were summed; "as of" was the oldest
row's time; and the stages' statuses were listed in three modules."""

import datetime
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from measures.models import Measure, Resource
from measures.services import (
    FlowInput,
    SavingInput,
    allowed_transitions,
    measure_create,
    measure_transition,
    measure_update,
)
from reports.models import ProgrammeTarget, RollupRow, RollupRun
from reports.services import STATUSES_OF_STAGE, rollup_rebuild
from tests.factories import EnterpriseFactory, ParkFactory, recp_measure
from tests.reports.scratch import STAGES

pytestmark = pytest.mark.django_db
API = reverse("api:dashboard")


@pytest.fixture
def english(staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return staff_client


def get(client, url=API, **params) -> dict:
    response = client.get(url, params)
    assert response.status_code == 200, response.content
    return response.json()


def html_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def partner(partner_user) -> Client:
    client = Client()
    client.force_login(partner_user)
    return client


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1)


def in_stage(measures, stage: str) -> list[Measure]:
    return [m for m in measures if m.status in STAGES[stage]]


def test_recp_options_enterprises_and_exchanges_are_one_count_on_the_home_page_and_the_dashboard(english):
    ProgrammeTarget.objects.create(indicator="is_options", value=100, source="test")
    measures = list(Measure.objects.all())
    recp = [m for m in measures if m.kind == "recp"]  # an option identified stays identified, whatever became of it
    expected = {
        "recp_options": len(recp),
        "recp_enterprises": len({m.enterprise_id for m in recp}),
        "is_options": len([m for m in measures if m.kind == "is"]),
    }
    assert expected["recp_options"] == 612  # the programme's published count, which the demo reproduces
    home = html_of(english, "/")
    shown_at_home = {
        "recp_options": figure(home, "recp_identified"),
        "recp_enterprises": figure(home, "enterprises"),
        "is_options": figure(home, "is_count"),
    }
    assert shown_at_home == {k: f"{v:,}" for k, v in expected.items()}
    targets = {t["indicator"]: t["actual"] for t in get(english)["targets"]}
    assert {k: targets[k] for k in expected} == expected
    page = html_of(english, reverse("reports:dashboard"))
    table = page[page.index('id="table-targets"') :]
    assert f'<td class="num">{expected["recp_options"]}</td><td class="num">612</td>' in table  # "612 of 612"


def test_the_dashboards_vnd_is_the_sum_of_the_measures_own_vnd(english, partner):
    measures = list(Measure.objects.select_related("park"))
    # Each measure's VND was converted at its own year's rate; their sum is not the USD total at any one rate.
    expected = {stage: round(sum(m.cost_vnd or 0 for m in in_stage(measures, stage))) for stage in STAGES}
    usd = sum(m.cost_usd or 0 for m in in_stage(measures, "potential"))
    assert all(expected["potential"] != round(usd * rate) for rate in (Decimal("23787.32"), Decimal("23271.21")))
    data = get(english)
    assert {stage: data["tiles"][stage]["cost_vnd"] for stage in STAGES} == expected
    page = html_of(english, reverse("reports:dashboard"))
    for stage, value in expected.items():
        assert f'<span data-vnd="{stage}">{value:,}</span>' in page
    park = Measure.objects.filter(kind="is").first().park
    province = get(english, level="province", id=park.province_id)
    in_province = in_stage([m for m in measures if m.park.province_id == park.province_id], "realised")
    assert province["tiles"]["realised"]["cost_vnd"] == round(sum(m.cost_vnd or 0 for m in in_province))
    rows = get(partner, reverse("api:rollups"), level="programme")["results"]  # the roll-up API: the same sums
    assert {row["stage"]: round(Decimal(str(row["cost_vnd"]))) for row in rows} == expected


def _three_measures_of_a_fraction_each(staff):
    """A new park whose enterprise A takes part in three measures of 0.4 kWh/yr each (its RECP measure and two
    exchanges it gives 0.04 m3/yr of water in), implemented in three quarters."""
    electricity, water = Resource.objects.get(code="electricity"), Resource.objects.get(code="water")
    park = ParkFactory()
    a, b, c = (EnterpriseFactory(park=park) for _ in range(3))
    saving = [SavingInput(electricity, Decimal("0.4"), "kWh")]
    created = [measure_create(measure=recp_measure(a), savings=saving)]
    for n, sink in enumerate((b, c)):
        exchange = Measure(
            kind="is", park=park, exchange_type="byproduct", source_enterprise=a, sink_enterprise=sink,
            reference=f"t-is-{park.pk}-{n}", title_en="Treated water", identified_on=datetime.date(2022, 3, 1),
            estimate_year=2022,
        )  # fmt: skip
        created.append(
            measure_create(measure=exchange, savings=saving, flows=[FlowInput(water, Decimal("0.04"), "m3")])
        )
    for month, measure in zip((2, 5, 8), created, strict=True):
        for _step in range(3):  # proposed, accepted, implemented
            measure.refresh_from_db()
            measure_transition(measure=measure, to_status=allowed_transitions(measure.status)[0], changed_by=staff,
                               effective_on=datetime.date(2023, month, 1), reason="test")  # fmt: skip
    assert {m.status for m in Measure.objects.filter(park=park)} == {"implemented"}
    return park, a


def test_a_parks_enterprises_flows_and_quarters_are_summed_exactly_and_rounded_once(english, staff_user):
    park, a = _three_measures_of_a_fraction_each(staff_user)
    own = [m for m in Measure.objects.all() if a.pk in (m.enterprise_id, m.source_enterprise_id, m.sink_enterprise_id)]
    kwh = sum(m.electricity_kwh for m in in_stage(own, "potential"))
    assert kwh == Decimal("1.2")
    data = get(english, level="park", id=park.pk)
    (child,) = [row for row in data["children"]["rows"] if row["id"] == a.pk]
    assert child["potential"]["electricity_kwh"] == round(kwh) == 1  # rounded before summing, it was 0
    assert child["realised"]["electricity_kwh"] == 1
    enterprise = get(english, level="enterprise", id=a.pk)  # the enterprise's own dashboard says the same
    assert enterprise["tiles"]["potential"]["electricity_kwh"] == 1
    water = [link for link in data["sankey"]["links"] if link["source"] == f"source:{a.name}"]
    given = sum(f.quantity_canonical for m in own for f in m.flows.all() if m.source_enterprise_id == a.pk)
    assert [link["value"] for link in water] == [round(float(given), 1)] == [0.1]
    in_place = sum(m.electricity_kwh for m in in_stage(Measure.objects.filter(park=park), "realised"))
    assert data["quarters"][-1]["cumulative_electricity_kwh"] == round(in_place) == 1


def _latest_change_of_an_estimate(django_capture_on_commit_callbacks) -> tuple[Measure, RollupRun]:
    """Rebuild the table, then change the estimate of an identified measure: only the potential rows move."""
    rollup_rebuild(reason="test")
    measure = Measure.objects.filter(kind="recp", status="identified").first()
    electricity = Resource.objects.get(code="electricity")
    savings = [SavingInput(s.resource, s.quantity, s.unit) for s in measure.savings.all() if s.resource != electricity]
    with django_capture_on_commit_callbacks(execute=True):
        measure_update(
            measure_id=measure.pk, changes={}, savings=[*savings, SavingInput(electricity, Decimal(123_456), "kWh")]
        )
    measure.refresh_from_db()
    run = RollupRun.objects.filter(mode="incremental").order_by("-finished_at").first()
    realised = RollupRow.objects.get(level="programme", kind="all", technique="", stage="realised", year=0)
    assert realised.computed_at < measure.updated_at <= run.finished_at  # a row the tiles read, older than the change
    return measure, run


@pytest.mark.usefixtures("eager_tasks")
def test_as_of_is_the_time_of_the_latest_change_the_figures_include(
    english, partner, django_capture_on_commit_callbacks
):
    measure, run = _latest_change_of_an_estimate(django_capture_on_commit_callbacks)
    parse = datetime.datetime.fromisoformat
    dashboard = get(english)
    assert dashboard["tiles"]["potential"]["electricity_kwh"] > 0
    page = html_of(english, reverse("reports:dashboard"))
    home = html_of(english, "/")
    shown = {
        "dashboard API": parse(dashboard["as_of"]),
        "dashboard page": parse(re.search(r'<time datetime="([^"]+)" id="as-of">', page).group(1)),
        "home page": parse(re.search(r'\(as of <time datetime="([^"]+)"', home).group(1)),
    }
    shown["roll-up API"] = parse(
        get(partner, reverse("api:rollups"), level="programme")["as_of"].replace("Z", "+00:00")
    )
    for where, at in shown.items():
        assert measure.updated_at <= at <= run.finished_at, where


def test_each_stage_is_the_registers_statuses_and_every_figure_follows_them(english):
    # The oracle's stages are written out in the test; production's are the register's, looked up, not copied.
    for stage, statuses in STAGES.items():
        assert set(getattr(Measure, f"{stage.upper()}_STATUSES")) == statuses
        assert STATUSES_OF_STAGE[stage] is getattr(Measure, f"{stage.upper()}_STATUSES")
    park = Measure.objects.filter(kind="is", status="implemented").first().park
    measures = list(Measure.objects.filter(park=park))
    data = get(english, level="park", id=park.pk)
    assert {stage: data["tiles"][stage]["measure_count"] for stage in STAGES} == {
        stage: len(in_stage(measures, stage)) for stage in STAGES
    }
    realised = in_stage(measures, "realised")
    card = {row["indicator"]: row for row in data["scorecard"]}
    assert card["symbiosis_links"]["value"] == len([m for m in realised if m.kind == "is"])
    assert sum(q["measure_count"] for q in data["quarters"]) == len([m for m in realised if m.implemented_on])


@pytest.mark.usefixtures("eager_tasks")
def test_a_half_kwh_is_rounded_the_same_way_on_the_home_page_the_dashboard_and_its_api(
    english, django_capture_on_commit_callbacks
):
    # Before: the dashboard rounded half to even (Python's round), the pages half up, so a total of N + 0.5 with N
    # even read N on the dashboard and N + 1 on the home page.
    def potential() -> Decimal:
        row = RollupRow.objects.get(level="programme", kind="all", technique="", stage="potential", year=0)
        return row.electricity_kwh

    total = potential()
    even = (int(total) // 2 + 2) * 2
    electricity = Resource.objects.get(code="electricity")
    with django_capture_on_commit_callbacks(execute=True):
        measure_create(
            measure=recp_measure(EnterpriseFactory()),
            savings=[SavingInput(electricity, Decimal(even) + Decimal("0.5") - total, "kWh")],
        )
    assert potential() == Decimal(even) + Decimal("0.5")
    shown = f"{even + 1:,}"
    assert figure(html_of(english, "/"), "electricity_kwh") == shown
    assert get(english)["tiles"]["potential"]["electricity_kwh"] == even + 1
    page = html_of(english, reverse("reports:dashboard"))
    tile = re.search(r'data-tile="electricity_kwh">.*?<dd>([^<]*)</dd>', page, re.S).group(1)
    assert tile == shown
