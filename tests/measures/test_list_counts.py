"""The measures page at scale: its count equals a count from scratch and is kept until the next write, the last
pages (read from the end) hold the rows the ordering puts there, a search finds an enterprise's measures by its name,
and the enterprise is typed as its code."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enterprises.models import Enterprise
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create
from tests.factories import recp_measure

PARTIES = ("enterprise", "source_enterprise", "sink_enterprise")

pytestmark = pytest.mark.django_db


def shown(client, query: str) -> tuple[int, list[str]]:
    response = client.get(f"/measures/?{query}")
    assert response.status_code == 200
    return response.context["page"].paginator.count, [m.reference for m, _parties in response.context["rows"]]


@pytest.mark.parametrize(
    ("query", "rows"),
    [
        ("", Measure.objects.all),
        ("kind=is&status=identified", lambda: Measure.objects.filter(kind="is", status="identified")),
        ("park=dinh-vu&year=2022", lambda: Measure.objects.filter(park__code="dinh-vu", reference_year=2022)),
        ("enterprise=demo-01", lambda: [m for m in Measure.objects.select_related(*PARTIES)
                                        if "demo-01" in {getattr(m, p).code for p in PARTIES if getattr(m, p)}]),
        ("enterprise=no-such-code", Measure.objects.none),
    ],
)  # fmt: skip
def test_the_count_equals_a_count_from_scratch(staff_client, query, rows):
    count, _references = shown(staff_client, query)
    assert count == len(list(rows()))


def test_a_search_finds_the_measures_of_an_enterprise_by_its_name(staff_client):
    enterprise = Enterprise.objects.get(code="demo-01")
    word = enterprise.search_text.split()[-1]  # a word of its folded name
    named = {e.pk for e in Enterprise.objects.all() if word in e.search_text}
    expected = {m.reference for m in Measure.objects.all() if word in m.search_text or m.enterprise_id in named}
    count, references = shown(staff_client, f"q={word}&per_page=100")
    assert count == len(expected) and set(references) <= expected
    assert {m.reference for m in Measure.objects.filter(enterprise=enterprise)} <= expected


@pytest.mark.parametrize("sort", ["reference", "-co2e_t", "park", "-park", "status", "-year", "cost_usd", "title"])
def test_every_page_holds_the_rows_the_ordering_puts_there(staff_client, sort):
    first_count, _ = shown(staff_client, f"sort={sort}&per_page=100")
    every = []
    pages = -(-first_count // 100)
    for number in range(1, pages + 1):  # the later pages are read from the end, in reverse
        count, references = shown(staff_client, f"sort={sort}&per_page=100&page={number}")
        assert count == first_count
        every += references
    assert len(every) == len(set(every)) == Measure.objects.count()
    keys = {"reference": "reference", "co2e_t": "co2e_t", "park": "park__name_vi", "status": "status",
            "year": "reference_year", "cost_usd": "cost_usd", "title": "title_vi"}  # fmt: skip
    order = ("-" if sort.startswith("-") else "") + keys[sort.removeprefix("-")]
    assert every == list(Measure.objects.order_by(order, ("-" if "-" in order else "") + "pk")
                         .values_list("reference", flat=True))  # fmt: skip


def test_the_count_is_kept_until_the_next_write(staff_client, staff_user):
    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            staff_client.get(f"/measures/?{query}")
        return len(captured)

    # session, user, role, count, the page's ids, its rows, provinces and parks (filters): 8; then 7.
    assert [queries("status=proposed"), queries("status=proposed"), queries("status=proposed&per_page=100")] == [
        8, 7, 7]  # fmt: skip
    before, _ = shown(staff_client, "status=identified")
    measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01"), reference="t-kept-count"),
        savings=[SavingInput(Resource.objects.get(code="electricity"), Decimal("10"), "kWh")],
        created_by=staff_user,
    )
    _count, references = shown(staff_client, "status=identified&q=t-kept-count")
    assert references == ["t-kept-count"]
    assert shown(staff_client, "status=identified")[0] == before + 1


def test_the_enterprise_is_typed_as_its_code_and_another_parks_code_matches_nothing(manager_client):
    html = manager_client.get("/measures/?enterprise=demo-01").content.decode()
    assert 'name="enterprise" value="demo-01"' in html
    assert "<option" not in html.split('name="enterprise"')[1].split(">")[0]  # a text field, not a list
    elsewhere = Enterprise.objects.exclude(park__code="dinh-vu").first()
    count, _references = shown(manager_client, f"enterprise={elsewhere.code}")
    assert count == 0


def test_a_park_manager_without_parks_sees_an_empty_list(client):
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from ecopark.roles import Role

    user = get_user_model().objects.create_user("t-no-parks")
    user.groups.add(Group.objects.get(name=Role.PARK_MANAGER.value))
    client.force_login(user)
    assert shown(client, "") == (0, [])
    assert shown(client, "q=demo&sort=-co2e_t") == (0, [])
