"""The measures endpoint: scope, confidentiality, writes through the services, conflicts, pages, CSV, queries."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ecopark.counts import REGISTER, bump_count_version
from ecopark.models import AuditEntry
from enterprises.models import Enterprise
from measures.models import Measure

pytestmark = pytest.mark.django_db
LIST = "/api/v1/measures/"


def detail(measure) -> str:
    return reverse("api:measure-detail", kwargs={"pk": measure.pk})


def hiep_phuoc_measure() -> Measure:
    return Measure.objects.filter(park__code="hiep-phuoc").first()


def new_recp(**overrides) -> dict:
    body = {
        "reference": "api-recp-1",
        "kind": "recp",
        "enterprise": "demo-01",
        "technique": "process_control",
        "title_vi": "Điều khiển biến tần cho quạt",
        "title_en": "Variable-speed drives on fans",
        "identified_on": "2023-02-01",
        "estimate_year": 2023,
        "annual_cost_saving": "1500.00",
        "cost_currency": "USD",
        "savings": [
            {"resource": "electricity", "quantity": "12.5", "unit": "MWh"},
            {"resource": "water", "quantity": "300", "unit": "m3"},
        ],
    }
    body.update(overrides)
    return body


def test_a_park_manager_sees_only_their_parks_measures(manager_api):
    data = manager_api.get(LIST, {"page_size": 500}).json()
    assert data["count"] == Measure.objects.filter(park__code="dinh-vu").count() > 0
    assert {row["park"] for row in data["results"]} == {"dinh-vu"}


def test_another_parks_measure_answers_404_not_403(manager_api):
    response = manager_api.get(detail(hiep_phuoc_measure()))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_partner_sees_everything_but_withheld_fields_of_enterprises_that_did_not_consent(partner_api):
    rows = partner_api.get(LIST, {"page_size": 500, "kind": "recp"}).json()["results"]
    consent = dict(Enterprise.objects.values_list("code", "partner_consent"))
    hidden = [r for r in rows if not consent[r["enterprise"]]]
    shown = [r for r in rows if consent[r["enterprise"]]]
    assert hidden and shown
    for row in hidden:
        assert row["enterprise_name"] is None and row["investment"] is None and row["cost_usd"] is None
        assert "cost_usd" in row["withheld"]
        assert row["electricity_kwh"] is not None  # the figures still count
    for row in shown:
        assert row["enterprise_name"] and row["withheld"] == []
    non_consenting = Measure.objects.filter(kind="recp", enterprise__partner_consent=False).first()
    one = partner_api.get(detail(non_consenting)).json()
    assert one["enterprise_name"] is None and one["annual_cost_saving"] is None and one["savings"]


def test_staff_see_confidential_fields(staff_api):
    measure = Measure.objects.filter(kind="recp", enterprise__partner_consent=False).first()
    data = staff_api.get(detail(measure)).json()
    assert data["enterprise_name"] == measure.enterprise.name and data["withheld"] == []


def test_a_partner_cannot_write_anything(partner_api):
    measure = Measure.objects.first()
    assert partner_api.post(LIST, new_recp(), format="json").status_code == 403
    assert partner_api.patch(detail(measure), {"title_en": "x"}, format="json").status_code == 403
    assert partner_api.delete(detail(measure)).status_code == 403
    url = reverse("api:measure-transition", kwargs={"pk": measure.pk})
    assert partner_api.post(url, {"to_status": "rejected"}, format="json").status_code == 403
    assert partner_api.post("/api/v1/enterprises/", {}, format="json").status_code == 403


def test_staff_create_a_measure_through_the_services_with_figures_and_an_audit_trail(staff_api, staff_user):
    response = staff_api.post(LIST, new_recp(), format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["park"] == "dinh-vu"  # a RECP measure counts in its enterprise's park
    assert data["electricity_kwh"] == 12500 and data["water_m3"] == 300
    assert data["co2e_t"] > 0 and data["co2e_trail"]
    assert data["status_history"][0]["to_status"] == "identified"
    measure = Measure.objects.get(reference="api-recp-1")
    entries = AuditEntry.objects.filter(object_id=str(measure.pk), content_type__model="measure")
    assert [(e.actor, e.channel, e.action) for e in entries] == [(staff_user, "api", "create")]
    assert AuditEntry.objects.filter(content_type__model="measuresaving", channel="api", actor=staff_user).count() == 2


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"savings": [{"resource": "water", "quantity": "-5", "unit": "m3"}]}, "non_field_errors"),
        ({"savings": [{"resource": "water", "quantity": "5", "unit": "kWh"}]}, "non_field_errors"),
        ({"enterprise": "no-such-enterprise"}, "enterprise"),
        ({"technique": "magic"}, "technique"),
        ({"estimate_year": 1850}, "estimate_year"),
        ({"reference": "demo-recp-001"}, "reference"),
        ({"kind": "is", "enterprise": None, "technique": "", "exchange_type": "byproduct",
          "source_enterprise": "demo-01", "sink_enterprise": "demo-01", "park": "dinh-vu"}, None),
    ],
)  # fmt: skip
def test_bad_input_answers_400_with_the_field_and_saves_nothing(staff_api, change, field):
    before = Measure.objects.count(), AuditEntry.objects.count()
    response = staff_api.post(LIST, new_recp(**change), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["message"]
    if field:
        assert field in error["fields"]
    assert (Measure.objects.count(), AuditEntry.objects.count()) == before


def test_html_in_a_title_comes_back_as_data_not_markup(staff_api):
    body = new_recp(title_en="<script>alert(1)</script>")
    assert staff_api.post(LIST, body, format="json").status_code == 201
    response = staff_api.get(LIST, {"reference": "api-recp-1"})
    assert response["Content-Type"] == "application/json"
    assert response.json()["results"][0]["title_en"] == "<script>alert(1)</script>"


def test_an_edit_on_a_stale_version_is_refused_with_409_and_changes_nothing(staff_api):
    measure = Measure.objects.filter(park__code="dinh-vu", kind="recp").first()
    version = measure.version
    first = staff_api.patch(detail(measure), {"title_en": "First edit", "version": version}, format="json")
    assert first.status_code == 200 and first.json()["version"] == version + 1
    second = staff_api.patch(detail(measure), {"title_en": "Second edit", "version": version}, format="json")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "conflict"
    measure.refresh_from_db()
    assert measure.title_en == "First edit"


def test_staff_replace_savings_and_the_figures_follow(staff_api):
    measure = Measure.objects.filter(park__code="dinh-vu", kind="recp").first()
    body = {"savings": [{"resource": "electricity", "quantity": "1000", "unit": "kWh"}]}
    data = staff_api.patch(detail(measure), body, format="json").json()
    assert data["electricity_kwh"] == 1000 and data["water_m3"] == 0
    assert [s["resource"] for s in data["savings"]] == ["electricity"]


# 90 billion tonnes of coal a year: a plausible quantity of one resource, but its 219.69 billion tCO2e do not fit the
# figures' column (less than 100 billion), which PostgreSQL refuses on writing and SQLite would keep.
COAL_BEYOND_THE_FIGURES = [{"resource": "coal-bituminous", "quantity": "90000000000", "unit": "t"}]


def test_savings_whose_figures_are_too_large_to_keep_answer_400_on_create_and_edit_and_change_nothing(staff_api):
    before = Measure.objects.count(), AuditEntry.objects.count()
    created = staff_api.post(LIST, new_recp(savings=COAL_BEYOND_THE_FIGURES), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert created.status_code == 400, created.content
    assert "too large to keep" in created.json()["error"]["message"]
    assert (Measure.objects.count(), AuditEntry.objects.count()) == before
    measure = Measure.objects.filter(park__code="dinh-vu", kind="recp").first()
    kept = (measure.version, measure.co2e_t, list(measure.savings.values_list("resource__code", "quantity")))
    edited = staff_api.patch(detail(measure), {"savings": COAL_BEYOND_THE_FIGURES}, format="json")
    assert edited.status_code == 400, edited.content
    measure.refresh_from_db()
    assert (measure.version, measure.co2e_t, list(measure.savings.values_list("resource__code", "quantity"))) == kept


def test_transitions_follow_the_lifecycle(staff_api):
    measure = Measure.objects.filter(park__code="dinh-vu", status="identified").first()
    url = reverse("api:measure-transition", kwargs={"pk": measure.pk})
    skip = staff_api.post(url, {"to_status": "implemented", "effective_on": "2024-01-01"}, format="json")
    assert skip.status_code == 400
    step = staff_api.post(url, {"to_status": "proposed", "effective_on": "2024-01-01"}, format="json")
    assert step.status_code == 200 and step.json()["status"] == "proposed"
    assert step.json()["status_history"][-1]["changed_by"] == "staff"
    no_reason = staff_api.post(url, {"to_status": "rejected", "effective_on": "2024-01-02"}, format="json")
    assert no_reason.status_code == 400


def test_staff_delete_a_measure(staff_api):
    measure = Measure.objects.filter(park__code="amata").first()
    assert staff_api.delete(detail(measure)).status_code == 204
    assert not Measure.objects.filter(pk=measure.pk).exists()


def test_a_park_manager_writes_only_when_the_programme_allows_and_only_in_their_parks(manager_api, settings):
    measure = Measure.objects.filter(park__code="dinh-vu", kind="recp").first()
    assert manager_api.patch(detail(measure), {"title_en": "Mine"}, format="json").status_code == 403
    settings.PARK_MANAGERS_MAY_EDIT = True
    assert manager_api.patch(detail(measure), {"title_en": "Mine"}, format="json").status_code == 200
    other = hiep_phuoc_measure()
    assert manager_api.patch(detail(other), {"title_en": "Not mine"}, format="json").status_code == 404
    elsewhere = Enterprise.objects.filter(park__code="hiep-phuoc").first()
    response = manager_api.post(LIST, new_recp(enterprise=elsewhere.code), format="json")
    assert response.status_code == 400 and "enterprise" in response.json()["error"]["fields"]
    assert manager_api.post("/api/v1/enterprises/", {}, format="json").status_code == 403


def test_filters_combine_and_the_count_says_what_they_match(staff_api):
    data = staff_api.get(LIST, {"park": "hiep-phuoc", "kind": "is", "status": ["proposed", "identified"]}).json()
    expected = Measure.objects.filter(park__code="hiep-phuoc", kind="is", status__in=["proposed", "identified"])
    assert data["count"] == expected.count() > 0
    assert {r["reference"] for r in data["results"]} == set(expected.values_list("reference", flat=True))


def test_a_bad_filter_value_answers_400(staff_api):
    assert staff_api.get(LIST, {"status": "nonsense"}).status_code == 400


def test_the_count_follows_writes(staff_api):
    before = staff_api.get(LIST).json()["count"]
    assert staff_api.post(LIST, new_recp(), format="json").status_code == 201
    assert staff_api.get(LIST).json()["count"] == before + 1


def test_page_size_is_at_most_500_and_cursor_mode_walks_everything_once(staff_api):
    assert len(staff_api.get(LIST, {"page_size": 500}).json()["results"]) == 500
    assert staff_api.get(LIST, {"page_size": 10_000}).status_code == 400  # refused, not cut (test_strict_input)
    seen, url, params = [], LIST, {"cursor": "", "page_size": 200}
    while url:
        data = staff_api.get(url, params).json()
        assert "count" not in data
        seen += [row["id"] for row in data["results"]]
        url, params = data["next"], None
    assert seen == sorted(seen) and len(seen) == len(set(seen)) == Measure.objects.count()


def test_a_list_exports_as_csv_with_formulas_neutralised(staff_api):
    assert staff_api.post(LIST, new_recp(title_en='=HYPERLINK("http://x")'), format="json").status_code == 201
    response = staff_api.get(LIST, {"format": "csv", "reference": "api-recp-1"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0]["reference"] == "api-recp-1"
    assert rows[0]["title_en"].startswith("'=")
    assert float(rows[0]["electricity_kwh"]) == 12500


@pytest.mark.parametrize("size", [10, 100])
def test_the_list_runs_the_same_queries_whatever_the_page_size(staff_api, size, settings):
    settings.API_LIST_CACHE_SECONDS = 0  # what is measured is the page read, not the list cache
    staff_api.get(LIST, {"page_size": size})  # the role and the count are kept (per table version)
    bump_count_version(REGISTER)  # any change to the register: its parks and enterprises are read afresh
    with CaptureQueriesContext(connection) as queries:
        response = staff_api.get(LIST, {"page_size": size})
    assert len(response.json()["results"]) == size
    # the page, its parks, its enterprises (the key with its owner's role and the count are cached)
    assert len(queries) == 3, [q["sql"] for q in queries]
    with CaptureQueriesContext(connection) as queries:
        staff_api.get(LIST, {"page_size": size})
    assert len(queries) == 1  # the page: its parks and enterprises were kept under the register's version


@pytest.mark.parametrize("size", [10, 100])
def test_a_partners_list_runs_the_same_queries_whatever_the_page_size(partner_api, size, settings):
    settings.API_LIST_CACHE_SECONDS = 0
    partner_api.get("/api/v1/parks/")  # the key's first use is recorded once
    partner_api.get(LIST, {"page_size": size})
    bump_count_version(REGISTER)
    with CaptureQueriesContext(connection) as queries:
        partner_api.get(LIST, {"page_size": size})
    assert len(queries) == 3  # the page, its parks and enterprises (the key, role and count were cached)


@pytest.mark.parametrize("role", ["partner", "staff"])
def test_the_fast_read_path_gives_exactly_what_drf_gives(role, partner_user, staff_user, rf):
    """The list reads `.values()` rows with precomputed getters; the output must equal DRF's own on model instances,
    field for field."""
    from rest_framework import serializers
    from rest_framework.renderers import JSONRenderer
    from rest_framework.request import Request

    from measures.api.serializers import LIST_RELATED, MeasureListSerializer, MeasureSerializer
    from measures.selectors import LIST_COLUMNS, measure_rows

    request = Request(rf.get("/"))
    request.user = partner_user if role == "partner" else staff_user
    rows = measure_rows(list(Measure.objects.order_by("pk").values(*LIST_COLUMNS)))  # as the list reads them
    fast = MeasureListSerializer(rows, many=True, context={"request": request}).data
    measures = list(Measure.objects.order_by("pk").select_related(*LIST_RELATED))
    plain = [
        {**serializers.ModelSerializer.to_representation(MeasureListSerializer(context={"request": request}), m),
         **({k: None for k in MeasureListSerializer(context={"request": request}).get_withheld(m)})}
        for m in measures
    ]  # fmt: skip
    assert JSONRenderer().render(fast) == JSONRenderer().render(plain)
    one = MeasureSerializer(measures[0], context={"request": request})
    assert JSONRenderer().render(one.data) == JSONRenderer().render(
        {**serializers.ModelSerializer.to_representation(one, measures[0]),
         **({k: None for k in one.get_withheld(measures[0])})}
    )  # fmt: skip


def test_ordering_applies_with_and_without_filters(staff_api):
    alone = [r["co2e_t"] for r in staff_api.get(LIST, {"ordering": "-co2e_t", "page_size": 100}).json()["results"]]
    assert alone == sorted(alone, reverse=True) and alone[0] == float(Measure.objects.order_by("-co2e_t")[0].co2e_t)
    rows = staff_api.get(LIST, {"ordering": "reference", "kind": "is", "page_size": 100}).json()["results"]
    references = [r["reference"] for r in rows]
    assert references == sorted(references) and {r["kind"] for r in rows} == {"is"}
