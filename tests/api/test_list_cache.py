"""Measure pages, and what a page reads besides its rows (the count, parks and enterprises), are kept between writes:
polling is cheap, and a change shows on the next request, with the list cache on or off."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ecopark.demo import load_demo
from enterprises.models import Enterprise
from measures.models import Measure
from measures.services import figures_recompute
from parks.models import Park, ParkMembership

pytestmark = pytest.mark.django_db
LIST = "/api/v1/measures/"


def page(client, **params) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST, {"page_size": 500, **params})
    assert response.status_code == 200
    return response.json(), len(queries)


@pytest.fixture(params=[60, 0], ids=["list cache on", "list cache off"])
def list_cache(request, settings):
    settings.API_LIST_CACHE_SECONDS = request.param
    return request.param


def test_polling_the_same_page_reads_the_cache_and_an_edit_shows_at_once(partner_api, staff_api, list_cache):
    first, first_queries = page(partner_api, kind="recp")
    again, again_queries = page(partner_api, kind="recp")
    assert again == first
    # with the list cache, no query at all; without, the rows only (no count, no parks, no enterprises)
    assert again_queries == (0 if list_cache else 1) < first_queries

    measure = Measure.objects.get(reference=first["results"][0]["reference"])
    edit = staff_api.patch(f"{LIST}{measure.pk}/", {"title_en": "Heat recovery, corrected"}, format="json")
    assert edit.status_code == 200, edit.content
    after = page(partner_api, kind="recp")[0]
    assert after["results"][0]["title_en"] == "Heat recovery, corrected"


def test_a_consent_given_shows_on_the_next_request(partner_api, list_cache):
    withheld = next(row for row in page(partner_api, kind="recp")[0]["results"] if row["withheld"])
    enterprise = Enterprise.objects.get(code=withheld["enterprise"])
    enterprise.partner_consent = True
    enterprise.save()  # audited: the register's version moves
    row = next(r for r in page(partner_api, kind="recp")[0]["results"] if r["reference"] == withheld["reference"])
    assert row["withheld"] == [] and row["enterprise_name"] == enterprise.name


def test_a_renamed_enterprise_and_a_new_measure_show_on_the_next_request(staff_api, list_cache):
    first = page(staff_api, kind="recp")[0]
    enterprise = Enterprise.objects.get(code=first["results"][0]["enterprise"])
    enterprise.name = "Công ty TNHH Đổi Tên"
    enterprise.save()
    assert page(staff_api, kind="recp")[0]["results"][0]["enterprise_name"] == "Công ty TNHH Đổi Tên"
    Measure.objects.filter(kind="recp").first().delete()  # a write of measures, outside the services
    assert page(staff_api, kind="recp")[0]["count"] == first["count"] - 1


def test_figures_recomputed_show_on_the_next_request(staff_api, list_cache):
    reference = page(staff_api, kind="recp")[0]["results"][0]["reference"]
    measures = Measure.objects.filter(reference=reference)
    # outside the services, as a recompute after a change of emission factors finds it
    measures.update(co2e_entered_t=Decimal("123.456"), co2e_method="metered", co2e_justification="test")
    assert figures_recompute(measures) == 1
    row = next(r for r in page(staff_api, kind="recp")[0]["results"] if r["reference"] == reference)
    assert row["co2e_t"] == 123.456


def test_measures_the_demo_loader_adds_are_counted_on_the_next_request(staff_api, list_cache):
    gone = list(Measure.objects.filter(reference__startswith="demo-recp-").values_list("reference", flat=True)[:3])
    Measure.objects.filter(reference__in=gone).delete()
    before = page(staff_api, kind="recp")[0]["count"]
    assert load_demo(with_users=False)["measures_added"] == 3
    assert page(staff_api, kind="recp")[0]["count"] == before + 3 == Measure.objects.filter(kind="recp").count()


def test_a_page_kept_for_a_partner_is_not_served_to_staff(partner_api, staff_api, list_cache):
    partner_rows = page(partner_api, kind="recp")[0]["results"]
    staff_rows = page(staff_api, kind="recp")[0]["results"]
    assert any(row["withheld"] for row in partner_rows)
    assert not any(row["withheld"] for row in staff_rows)


def test_a_park_manager_given_another_park_sees_its_measures_at_once(manager_api, manager_user, list_cache):
    mine = ParkMembership.objects.filter(user=manager_user).values("park")
    other = Park.objects.exclude(pk__in=mine).filter(measures__isnull=False).distinct().first()
    assert page(manager_api, park=other.code)[0]["count"] == 0
    ParkMembership.objects.create(user=manager_user, park=other)
    after = page(manager_api, park=other.code)[0]
    assert after["count"] == Measure.objects.filter(park=other).count() > 0
    assert {row["park"] for row in after["results"]} == {other.code}
