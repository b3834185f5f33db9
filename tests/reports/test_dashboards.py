"""The dashboards: every figure equals a from-scratch aggregate of the measures, at each level and under the filters;
scope (a park manager sees their parks and the programme's totals only); exports; and a constant query count."""

import io

import pandas as pd
import pytest
from django.conf import settings
from django.db.models import Count, Q, Sum
from django.urls import reverse

from enterprises.models import Enterprise
from measures.models import Measure, ResourceFlow
from parks.models import Park, Province
from tests.reports.scratch import LIVE, STAGES

pytestmark = pytest.mark.django_db

API = reverse("api:dashboard")


def scratch(measures) -> dict:
    """Potential and realised tCO2e, kWh, m3, USD and counts, summed straight from the measures."""
    result = {}
    for stage in ("potential", "realised"):
        sums = measures.filter(status__in=STAGES[stage]).aggregate(
            co2e_t=Sum("co2e_t"), electricity_kwh=Sum("electricity_kwh"), water_m3=Sum("water_m3"),
            cost_usd=Sum("cost_usd"), measure_count=Count("pk"),
        )  # fmt: skip
        result[stage] = {
            "co2e_t": round(float(sums["co2e_t"] or 0), 1),
            "electricity_kwh": round(float(sums["electricity_kwh"] or 0)),
            "water_m3": round(float(sums["water_m3"] or 0)),
            "cost_usd": round(float(sums["cost_usd"] or 0)),
            "measure_count": sums["measure_count"],
        }
    return result


def tiles(data: dict, stage: str) -> dict:
    keys = ("co2e_t", "electricity_kwh", "water_m3", "cost_usd", "measure_count")
    return {k: data["tiles"][stage][k] for k in keys}


def get(client, **params):
    response = client.get(API, params)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_programme_dashboard_shows_the_seeds_headline_and_equals_the_measures(staff_client):
    data = get(staff_client)
    potential = data["tiles"]["potential"]
    # The seed's headline (DOMAIN.md): 4.4 GWh, 20,800 m3, 800,000 USD and 87,000 tCO2e per year.
    assert (potential["electricity_kwh"], potential["water_m3"], potential["cost_usd"], potential["co2e_t"]) == (
        4_400_000, 20_800, 800_000, 87_000
    )  # fmt: skip
    everything = Measure.objects.all()
    for stage in ("potential", "realised"):
        assert tiles(data, stage) == scratch(everything)[stage]
    provinces = {row["name"]: row for row in data["children"]["rows"]}
    assert len(provinces) == Province.objects.count()
    for province in Province.objects.all():
        expected = scratch(everything.filter(park__province=province))["potential"]
        assert provinces[province.name]["potential"]["co2e_t"] == expected["co2e_t"]
    targets = {t["indicator"]: t for t in data["targets"]}
    assert targets["recp_options"]["actual"] == everything.filter(kind="recp").count()  # identified, whatever became
    assert targets["recp_options"]["target"] == 612


def test_filters_by_kind_and_year_follow_the_measures(staff_client):
    data = get(staff_client, kind="recp", year=2023)
    chosen = Measure.objects.filter(kind="recp", reference_year=2023)
    assert tiles(data, "potential") == scratch(chosen)["potential"]
    assert data["filters"] == {"kind": "recp", "year": 2023}
    techniques = {row["technique"]: row for row in data["by_technique"]}
    for technique in Measure.Technique.values:
        expected = scratch(chosen.filter(technique=technique))["potential"]["co2e_t"]
        assert techniques[technique]["potential"]["co2e_t"] == expected


def test_a_park_dashboard_its_enterprises_and_its_flows_equal_the_measures(staff_client):
    park = Park.objects.get(code="dinh-vu")
    data = get(staff_client, level="park", id=park.pk)
    measures = Measure.objects.filter(park=park)
    assert tiles(data, "realised") == scratch(measures)["realised"]
    assert data["scope"]["parent"]["url"] == reverse("reports:dashboard_scope", args=["province", park.province_id])
    for row in data["children"]["rows"][:10]:
        own = measures.filter(Q(enterprise=row["id"]) | Q(source_enterprise=row["id"]) | Q(sink_enterprise=row["id"]))
        assert row["potential"] == {**scratch(own)["potential"], "cost_vnd": row["potential"]["cost_vnd"],
                                    "enterprise_count": 0}  # rounded once: exactly the scratch sums  # fmt: skip
    flows = ResourceFlow.objects.filter(measure__park=park, measure__kind="is", measure__status__in=LIVE)
    into_resources = sum(link["value"] for link in data["sankey"]["links"] if link["target"].startswith("resource:"))
    assert into_resources == pytest.approx(float(flows.aggregate(t=Sum("quantity_canonical"))["t"]), rel=1e-6)
    from enterprises.models import Organisation

    city = {name for o in Organisation.objects.all() for name in (o.name_vi, o.name_en)}
    assert any(node["name"] in city for node in data["sankey"]["nodes"])  # the city's partners are in the flows


def test_an_enterprise_dashboard_counts_its_exchanges_in_full(staff_client):
    enterprise = Enterprise.objects.get(code="demo-01")
    data = get(staff_client, level="enterprise", id=enterprise.pk)
    own = Measure.objects.filter(
        Q(enterprise=enterprise) | Q(source_enterprise=enterprise) | Q(sink_enterprise=enterprise)
    )
    assert tiles(data, "potential") == scratch(own)["potential"]


def test_a_park_manager_sees_the_totals_and_their_parks_details_only(manager_client, client, partner_user):
    mine, other = Park.objects.get(code="dinh-vu"), Park.objects.get(code="hiep-phuoc")
    data = get(manager_client)
    assert tiles(data, "potential") == scratch(Measure.objects.all())["potential"]  # the programme's totals
    assert [row["name"] for row in data["children"]["rows"]] == [mine.province.name]  # not the other provinces
    province = get(manager_client, level="province", id=mine.province_id)
    assert tiles(province, "potential") == scratch(Measure.objects.filter(park__province=mine.province))["potential"]
    assert [row["name"] for row in province["children"]["rows"]] == [mine.name]  # not the other parks' details
    assert manager_client.get(reverse("reports:dashboard_scope", args=["park", mine.pk])).status_code == 200
    for level, pk in (("park", other.pk), ("province", other.province_id),
                      ("enterprise", Enterprise.objects.filter(park=other).first().pk)):  # fmt: skip
        page = reverse("reports:dashboard_scope", args=[level, pk])
        assert manager_client.get(page).status_code == 404
        assert manager_client.get(page + "?export=xlsx").status_code == 404
        assert manager_client.get(API, {"level": level, "id": pk}).status_code == 404
    client.force_login(partner_user)
    assert client.get(API).status_code == 403
    assert client.get(reverse("reports:dashboard")).status_code == 403


def test_the_page_shows_the_tiles_and_a_table_behind_every_chart(staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    park = Park.objects.get(code="dinh-vu")
    html = staff_client.get(reverse("reports:dashboard_scope", args=["park", park.pk])).content.decode()
    assert 'data-api="/api/v1/dashboard/?level=park&amp;kind=all&amp;year=0&amp;id=' in html
    for key in ("stages", "kinds", "techniques", "children", "flows"):
        assert f'data-chart="{key}"' in html and f'id="table-{key}"' in html
    realised = scratch(Measure.objects.filter(park=park))["realised"]["electricity_kwh"]
    assert f"{realised:,}" in html  # the realised kWh tile, English grouping
    assert "vendor/echarts/echarts.min.js" in html


def test_exports_open_in_pandas_with_the_pages_numbers_and_no_formula_runs(staff_client):
    park = Park.objects.get(code="dinh-vu")
    enterprise = Enterprise.objects.filter(park=park).first()
    enterprise.name = "=HYPERLINK(1)"
    enterprise.save()
    url = reverse("reports:dashboard_scope", args=["park", park.pk])
    data = get(staff_client, level="park", id=park.pk)
    book = pd.read_excel(io.BytesIO(staff_client.get(url + "?export=xlsx").content), sheet_name=None, engine="openpyxl")
    stages = next(iter(book.values()))  # the first sheet: savings by stage
    assert list(stages.iloc[:, 4]) == [data["tiles"][s]["co2e_t"] for s in ("potential", "realised", "verified")]
    csv = staff_client.get(url + "?export=csv&table=children")
    assert csv.content.startswith("\ufeff".encode())
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in set(frame.iloc[:, 0])
    assert len(frame) == len(data["children"]["rows"])
    assert staff_client.get(url + "?export=csv&table=nothing").status_code == 404


@pytest.mark.parametrize("level", ["programme", "province", "park"])
def test_a_dashboard_runs_a_constant_number_of_queries(staff_client, django_assert_max_num_queries, level):
    park = Park.objects.get(code="dinh-vu")
    url = {
        "programme": reverse("reports:dashboard"),
        "province": reverse("reports:dashboard_scope", args=["province", park.province_id]),
        "park": reverse("reports:dashboard_scope", args=["park", park.pk]),
    }[level]
    staff_client.get(url)  # content types and the like cached
    with django_assert_max_num_queries(10):
        assert staff_client.get(url).status_code == 200
    with django_assert_max_num_queries(10):
        params = {"level": level, **({"id": park.pk if level == "park" else park.province_id} if level != "programme"
                                     else {})}  # fmt: skip
        assert staff_client.get(API, params).status_code == 200


def test_bad_filters_and_scopes_are_answered_clearly(staff_client):
    assert staff_client.get(API, {"level": "park"}).status_code == 400
    assert staff_client.get(API, {"level": "park", "id": 999999}).status_code == 404
    assert staff_client.get(reverse("reports:dashboard_scope", args=["galaxy", 1])).status_code == 404
    assert staff_client.get(reverse("reports:dashboard") + "?year=abc&kind=zzz").status_code == 200  # defaults


def test_the_pipeline_by_status_and_the_realised_savings_by_quarter_equal_the_measures(staff_client):
    park = Park.objects.get(code="dinh-vu")
    data = get(staff_client, level="park", id=park.pk)
    measures = Measure.objects.filter(park=park)
    assert [r["status"] for r in data["statuses"]] == Measure.Status.values  # the lifecycle's order
    assert {r["status"]: r["measure_count"] for r in data["statuses"]} == {
        status: measures.filter(status=status).count() for status in Measure.Status.values
    }
    realised = measures.filter(status__in=STAGES["realised"])
    assert sum(q["measure_count"] for q in data["quarters"]) == realised.count()
    first = data["quarters"][0]
    year, quarter = int(first["quarter"][:4]), int(first["quarter"][-1])
    in_first = realised.filter(implemented_on__year=year, implemented_on__quarter=quarter)
    assert first["co2e_t"] == round(float(in_first.aggregate(t=Sum("co2e_t"))["t"]), 1)
    total = float(realised.aggregate(t=Sum("co2e_t"))["t"])
    assert data["quarters"][-1]["cumulative_co2e_t"] == round(total, 1)  # rounded once, at the end


def test_a_parks_scorecard_follows_the_register_and_the_criteria_the_admin_sets(staff_client):
    from reports.models import EipCriterion

    park = Park.objects.get(code="dinh-vu")
    enterprises = Enterprise.objects.filter(park=park)
    realised = Measure.objects.filter(park=park, status__in=STAGES["realised"])
    applying = realised.filter(kind="recp").values("enterprise").distinct().count()
    links = realised.filter(kind="is")
    card = {row["indicator"]: row for row in get(staff_client, level="park", id=park.pk)["scorecard"]}
    assert card["recp_applying_share"]["value"] == round(100 * applying / enterprises.count(), 1)
    assert card["symbiosis_links"]["value"] == links.count()
    assert card["recp_applying_share"]["threshold"] == 20 and "82/2018" in card["recp_applying_share"]["source"]
    assert card["symbiosis_links"]["met"] is (links.count() >= 1)
    EipCriterion.objects.filter(indicator="symbiosis_links").update(threshold=links.count() + 1)  # the law changes
    card = {row["indicator"]: row for row in get(staff_client, level="park", id=park.pk)["scorecard"]}
    assert card["symbiosis_links"]["met"] is False and card["symbiosis_links"]["threshold"] == links.count() + 1


def test_a_dashboard_and_a_partner_read_the_same_numbers(staff_client, client, partner_user):
    dashboard = get(staff_client, level="province", id=Park.objects.get(code="dinh-vu").province_id)
    client.force_login(partner_user)
    rows = client.get(reverse("api:rollups"), {"level": "province", "id": dashboard["scope"]["id"]}).json()["results"]
    for row in rows:
        tile = dashboard["tiles"][row["stage"]]
        assert tile["co2e_t"] == round(float(row["co2e_t"]), 1)
        assert tile["electricity_kwh"] == round(float(row["electricity_kwh"]))
        assert tile["measure_count"] == row["measure_count"]
    assert {row["stage"] for row in rows} == {"potential", "realised", "verified"}


def test_the_year_filter_offers_years_as_the_form_sends_them_back(staff_client):
    html = staff_client.get(reverse("reports:dashboard"), {"year": 2023}).content.decode()  # Vietnamese: 2.023
    assert '<option value="2023" selected>2023</option>' in html
    assert "2.023" not in html
