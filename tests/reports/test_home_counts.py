"""The home page's counts come from indexed queries kept until the next write: they equal a count from scratch, they
change with the first write after them, and the page costs a fixed number of queries whatever the data."""

import datetime
import re
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enterprises.models import Enterprise
from enterprises.services import enterprise_create
from measures.models import Measure, Resource
from measures.selectors import register_counts
from measures.services import SavingInput, measure_create, measure_transition
from parks.models import Park
from tests.factories import recp_measure

pytestmark = pytest.mark.django_db

PROPOSED_OR_LATER = {"proposed", "accepted", "implemented", "verified"}


def from_scratch(park_ids=None) -> dict:
    """The home page's figures counted in Python over every measure row (no SQL aggregate)."""
    rows = Measure.objects.values_list("park_id", "kind", "status", "enterprise_id")
    if park_ids is not None:
        rows = rows.filter(park_id__in=park_ids)
    parks: dict = defaultdict(lambda: {"recp": 0, "is": 0})
    recp, proposed, enterprises, enterprises_proposed, exchanges = 0, 0, set(), set(), 0
    for park_id, kind, status, enterprise_id in rows:
        parks[park_id][kind] += 1
        if kind == "recp":
            recp += 1
            enterprises.add(enterprise_id)
            if status in PROPOSED_OR_LATER:
                proposed += 1
                enterprises_proposed.add(enterprise_id)
        else:
            exchanges += 1
    return {
        "recp_identified": recp,
        "recp_proposed": proposed,
        "enterprises": len(enterprises),
        "enterprises_proposed": len(enterprises_proposed),
        "is_count": exchanges,
        "parks": dict(parks),
    }


def shown(response) -> dict:
    """The figures as the page shows them (Vietnamese digit grouping), and each park's row."""
    html = response.content.decode()
    figures = {
        name: int(re.search(rf'data-figure="{name}">([^<]*)<', html).group(1).replace(".", ""))
        for name in ("recp_identified", "recp_proposed", "enterprises", "enterprises_proposed", "is_count")
    }
    rows = {park.pk: park for parks in response.context["provinces"].values() for park in parks}
    figures["parks"] = {
        pk: {"recp": p.recp_count, "is": p.is_count} for pk, p in rows.items() if p.recp_count or p.is_count
    }
    figures["enterprise_counts"] = {pk: p.enterprise_count for pk, p in rows.items()}
    return figures


def expected_enterprise_counts(park_ids) -> dict:
    return {pk: Enterprise.objects.filter(park_id=pk).count() for pk in park_ids}


def test_staff_see_the_counts_a_count_from_scratch_gives(staff_client):
    page = shown(staff_client.get("/"))
    expected = from_scratch()
    assert {k: page[k] for k in expected} == expected
    assert page["enterprise_counts"] == expected_enterprise_counts(Park.objects.values_list("pk", flat=True))
    assert page["recp_identified"] == 612 and page["is_count"] == 62  # the seed's headline


def test_a_park_manager_sees_the_counts_of_their_parks_only(manager_client, manager_user):
    ids = list(manager_user.park_memberships.values_list("park_id", flat=True))
    page = shown(manager_client.get("/"))
    expected = from_scratch(ids)
    assert {k: page[k] for k in expected} == expected
    assert set(page["enterprise_counts"]) == set(ids)


def test_the_first_view_after_a_write_counts_it(staff_client, staff_user):
    staff_client.get("/")  # the counts are now kept
    park = Park.objects.get(code="dinh-vu")
    newcomer = enterprise_create(enterprise=Enterprise(park=park, code="t-newcomer", name="Công ty mới đến"))
    measure = measure_create(
        measure=recp_measure(newcomer, reference="t-newcomer-1"),
        savings=[SavingInput(Resource.objects.get(code="electricity"), Decimal("1000"), "kWh")],
        created_by=staff_user,
    )
    after_create = shown(staff_client.get("/"))
    assert {k: after_create[k] for k in from_scratch()} == from_scratch()
    assert after_create["enterprise_counts"][park.pk] == Enterprise.objects.filter(park=park).count()
    measure_transition(measure=measure, to_status="proposed", changed_by=staff_user,
                       effective_on=datetime.date(2022, 4, 1))  # fmt: skip
    after_step = shown(staff_client.get("/"))
    assert after_step["recp_proposed"] == after_create["recp_proposed"] + 1
    assert after_step["enterprises_proposed"] == after_create["enterprises_proposed"] + 1
    assert {k: after_step[k] for k in from_scratch()} == from_scratch()


def test_counts_of_any_set_of_measures_equal_a_count_from_scratch():
    for measures, ids in [
        (Measure.objects.all(), None),
        (
            Measure.objects.filter(park__code="dinh-vu"),
            list(Park.objects.filter(code="dinh-vu").values_list("pk", flat=True)),
        ),
        (Measure.objects.none(), []),
    ]:
        counts = register_counts(measures)
        expected = from_scratch(ids)
        assert counts.by_park == expected.pop("parks")
        assert {k: getattr(counts, k) for k in expected} == expected


def test_the_home_page_costs_the_same_queries_with_more_data(client, staff_user, manager_user):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    client.force_login(staff_user)
    before = (queries(), queries())
    park = Park.objects.get(code="dinh-vu")
    for n in range(3):
        enterprise_create(enterprise=Enterprise(park=park, code=f"t-more-{n}", name=f"Công ty thêm {n}"))
    Measure.objects.filter(pk=Measure.objects.order_by("pk").first().pk).update(status="proposed")
    from ecopark.counts import REGISTER, bump_count_version

    bump_count_version(REGISTER)  # (a raw update, as no service makes: say the register changed)
    assert (queries(), queries()) == before == (9, 6)  # first after a change: 3 counting queries; then none
