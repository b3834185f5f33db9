"""The roll-up endpoint: the seed's headline, the dashboard's numbers, scope, confidentiality, ETag polling."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ecopark.demo import HEADLINE
from enterprises.models import Enterprise
from parks.models import Park
from reports.selectors import enterprise_measures, totals_for_parks
from reports.services import rollup_rebuild
from tests.reports.scratch import from_scratch

pytestmark = pytest.mark.django_db
URL = "/api/v1/rollups/"


@pytest.fixture(autouse=True)
def _rolled_up(db):
    rollup_rebuild(reason="test")


def test_the_programme_totals_are_the_seeds_headline_and_the_dashboards(partner_api):
    data = partner_api.get(URL, {"stage": "potential"}).json()
    (row,) = data["results"]
    assert row["level"] == "programme" and row["id"] is None and data["as_of"]
    assert Decimal(str(row["electricity_kwh"])) == HEADLINE["electricity_kwh"]
    assert Decimal(str(row["water_m3"])) == HEADLINE["water_m3"]
    assert Decimal(str(row["cost_usd"])) == HEADLINE["cost_usd"]
    assert Decimal(str(row["co2e_t"])) == HEADLINE["co2e_t"]
    home = totals_for_parks(None).stages["potential"]
    assert (row["electricity_kwh"], row["co2e_t"], row["measure_count"]) == (
        float(home.electricity_kwh), float(home.co2e_t), home.measure_count
    )  # fmt: skip


def test_every_park_row_equals_a_from_scratch_aggregate(staff_api):
    expected = from_scratch()
    rows = staff_api.get(URL, {"level": "park", "kind": "recp", "page_size": 500}).json()["results"]
    assert len(rows) == len([k for k in expected if k[0] == "park" and k[2] == "recp" and k[3] == "" and k[5] == 0])
    for row in rows:
        kwh, _m3, _usd, _vnd, co2, measures, enterprises = expected[("park", row["id"], "recp", "", row["stage"], 0)]
        assert Decimal(str(row["co2e_t"])).quantize(Decimal("0.001")) == co2
        assert Decimal(str(row["electricity_kwh"])).quantize(Decimal("0.001")) == kwh
        assert (row["measure_count"], row["enterprise_count"]) == (measures, enterprises)


def test_a_park_manager_gets_their_park_and_404_for_another(manager_api):
    rows = manager_api.get(URL, {"level": "park"}).json()["results"]
    assert {row["id"] for row in rows} == {Park.objects.get(code="dinh-vu").pk}
    other = Park.objects.get(code="hiep-phuoc")
    assert manager_api.get(URL, {"level": "park", "id": other.pk}).status_code == 404
    assert manager_api.get(URL, {"level": "programme"}).status_code == 200  # the programme totals are for all
    outside = Enterprise.objects.filter(park=other).first()
    assert manager_api.get(URL, {"level": "enterprise", "id": outside.pk}).status_code == 404


def test_a_partner_sees_an_enterprises_savings_but_not_its_cost_without_consent(partner_api):
    hidden = Enterprise.objects.filter(partner_consent=False, measures__isnull=False).first()
    rows = partner_api.get(URL, {"level": "enterprise", "id": hidden.pk}).json()["results"]
    assert rows and all(r["cost_usd"] is None and r["cost_vnd"] is None for r in rows)
    assert all(r["withheld"] == ["cost_usd", "cost_vnd"] for r in rows)
    assert any(r["co2e_t"] > 0 for r in rows)
    # one whose every measure is open: an exchange with a non-consenting party keeps the total's money back (the
    # disclosure rule, tests/api/test_suppression.py)
    shown = next(
        e for e in Enterprise.objects.filter(partner_consent=True, measures__isnull=False).distinct()
        if all(p is None or p.partner_consent for m in enterprise_measures(e.pk)
               for p in (m.enterprise, m.source_enterprise, m.sink_enterprise))
    )  # fmt: skip
    rows = partner_api.get(URL, {"level": "enterprise", "id": shown.pk}).json()["results"]
    assert rows and all(r["cost_usd"] is not None and r["cost_vnd"] is not None for r in rows)


def test_an_enterprise_needs_an_id_and_a_technique_needs_recp(staff_api):
    assert staff_api.get(URL, {"level": "enterprise"}).json()["error"]["fields"].keys() == {"id"}
    assert staff_api.get(URL, {"technique": "good_housekeeping"}).status_code == 400
    assert staff_api.get(URL, {"kind": "recp", "technique": "good_housekeeping"}).status_code == 200


def test_polling_with_the_etag_answers_304_until_something_changes(staff_api):
    first = staff_api.get(URL, {"level": "province"})
    etag = first["ETag"]
    assert first["Last-Modified"]
    again = staff_api.get(URL, {"level": "province"}, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and not again.content
    since = staff_api.get(URL, {"level": "province"}, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert since.status_code == 304
    from measures.models import Measure
    from measures.services import measure_delete
    from reports.services import rollup_apply_pending

    measure_delete(measure_id=Measure.objects.filter(park__code="amata", status="implemented").first().pk)
    rollup_apply_pending()
    changed = staff_api.get(URL, {"level": "province"}, HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag


def test_the_csv_of_a_rollup_has_one_row_per_scope_and_stage(staff_api):
    response = staff_api.get(URL, {"level": "province", "format": "csv"})
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("level,id,kind,technique,stage,year,electricity_kwh")
    assert len(lines) - 1 == len(staff_api.get(URL, {"level": "province"}).json()["results"])


def test_the_url_is_named_for_the_dashboards():
    assert reverse("api:rollups") == URL
