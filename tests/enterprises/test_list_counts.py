"""The enterprises page's count of RECP measures: one index lookup per enterprise shown, equal to a count from
scratch, sortable, and a page costs the same queries for 10 and 100 rows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from enterprises.models import Enterprise
from enterprises.services import enterprise_create
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create
from parks.models import Park
from tests.factories import recp_measure

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _busy_and_idle(staff_user):
    """Beside the demo's enterprises (a few options each): one with none, one with more than any."""
    park = Park.objects.get(code="dinh-vu")
    enterprise_create(enterprise=Enterprise(park=park, code="t-idle", name="Công ty chưa có giải pháp"))
    busy = enterprise_create(enterprise=Enterprise(park=park, code="t-busy", name="Công ty nhiều giải pháp"))
    electricity = Resource.objects.get(code="electricity")
    for n in range(15):
        measure_create(measure=recp_measure(busy, reference=f"t-busy-{n}"), created_by=staff_user,
                       savings=[SavingInput(electricity, Decimal(100 + n), "kWh")])  # fmt: skip


def rows(client, query: str) -> list[tuple[str, int]]:
    page = client.get(f"/enterprises/?{query}").context["page"]
    return [(e.code, e.recp_count) for e in page]


def test_each_enterprises_count_equals_a_count_from_scratch(staff_client):
    recp = list(Measure.objects.filter(kind="recp").values_list("enterprise_id", flat=True))
    expected = {e.code: recp.count(e.pk) for e in Enterprise.objects.all()}
    shown = rows(staff_client, "per_page=100")
    assert dict(shown) == expected  # the demo's 68 enterprises and this test's two, on one page
    assert expected["t-idle"] == 0 and expected["t-busy"] == 15


def test_the_count_sorts_the_list(staff_client):
    shown = rows(staff_client, "sort=-recp_count&per_page=100")
    counts = [n for _code, n in shown]
    assert counts == sorted(counts, reverse=True)
    assert shown[0] == ("t-busy", 15) and shown[-1] == ("t-idle", 0)


def test_a_page_costs_the_same_queries_for_10_and_100_rows(staff_client):
    def queries(query: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(f"/enterprises/?{query}").status_code == 200
        return len(captured)

    # session, user, role, count, provinces and parks (filters), the page with its counts: 7
    assert queries("per_page=10") == queries("per_page=100") == queries("per_page=100&sort=-recp_count") == 7
