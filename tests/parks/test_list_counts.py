"""The parks page's counts: equal to a count from scratch for every park the user sees, sortable, never stale after a
write, and read in a fixed number of queries (the measures counted once per version of the register)."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enterprises.models import Enterprise
from enterprises.services import enterprise_create
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create, measure_transition
from parks.models import Park
from tests.factories import recp_measure

pytestmark = pytest.mark.django_db


def rows(client, query: str = "per_page=100") -> dict[str, tuple[int, int, int]]:
    page = client.get(f"/parks/?{query}").context["page"]
    return {park.code: (park.enterprise_count, park.recp_count, park.is_count) for park in page}


def from_scratch(parks) -> dict[str, tuple[int, int, int]]:
    counted = {}
    for park in parks:
        kinds = list(Measure.objects.filter(park=park).values_list("kind", flat=True))
        counted[park.code] = (len(Enterprise.objects.filter(park=park)), kinds.count("recp"), kinds.count("is"))
    return counted


def test_every_parks_counts_equal_a_count_from_scratch(staff_client):
    assert rows(staff_client) == from_scratch(Park.objects.all())
    html = staff_client.get("/parks/?q=dinh+vu").content.decode()
    enterprises, recp, exchanges = from_scratch(Park.objects.filter(code="dinh-vu"))["dinh-vu"]
    assert f'?park=dinh-vu">{enterprises}</a>' in html
    assert f'?park=dinh-vu&amp;kind=recp">{recp}</a>' in html and f'kind=is">{exchanges}</a>' in html


def test_a_park_manager_sees_their_parks_counts(manager_client, manager_user):
    mine = Park.objects.filter(memberships__user=manager_user)
    assert rows(manager_client) == from_scratch(mine)


@pytest.mark.parametrize("column", ["enterprise_count", "recp_count", "is_count"])
def test_the_counts_sort_the_list(staff_client, column):
    index = ["enterprise_count", "recp_count", "is_count"].index(column)
    shown = [counts[index] for counts in rows(staff_client, f"sort=-{column}&per_page=100").values()]
    assert shown == sorted(shown, reverse=True) and shown[0] > shown[-1]


def test_the_first_page_after_a_write_counts_it(staff_client, staff_user):
    before = rows(staff_client)
    park = Park.objects.get(code="amata")
    enterprise = enterprise_create(enterprise=Enterprise(park=park, code="t-counted", name="Công ty được đếm"))
    measure = measure_create(
        measure=recp_measure(enterprise, reference="t-counted-1"),
        savings=[SavingInput(Resource.objects.get(code="water"), Decimal("10"), "m3")],
        created_by=staff_user,
    )
    enterprises, recp, exchanges = before["amata"]
    assert rows(staff_client)["amata"] == (enterprises + 1, recp + 1, exchanges)
    measure_transition(measure=measure, to_status="rejected", changed_by=staff_user, reason="too costly",
                       effective_on=datetime.date(2022, 5, 1))  # fmt: skip
    assert rows(staff_client)["amata"] == (enterprises + 1, recp + 1, exchanges)  # a rejected option still counts
    assert rows(staff_client) == from_scratch(Park.objects.all())


def queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_page_costs_a_fixed_number_of_queries(client, staff_user, manager_user):
    # First view after a change: session, user, role, parks' count, provinces (filter), the measures by park, kind
    # and status, and the enterprises with options (2): 9. Then the measures' counts are kept: 6, for any page size.
    client.force_login(staff_user)
    assert [queries(client, "/parks/?per_page=10"), queries(client, "/parks/?per_page=100")] == [9, 6]
    assert queries(client, "/parks/?per_page=10&sort=-recp_count") == 6
    # A park manager: their parks are read once more (the key of their counts).
    client.force_login(manager_user)
    assert [queries(client, "/parks/?per_page=10"), queries(client, "/parks/?per_page=100")] == [10, 7]
