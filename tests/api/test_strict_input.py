"""Strict input: a known query parameter with a value that cannot be read answers 400 naming it (in the caller's
language); out-of-range offsets, withheld names as the schema says, and bounds on dates, money and precision."""

import pytest
from django.utils import translation

from enterprises.models import Enterprise
from tests.api.test_measures import LIST, new_recp

pytestmark = pytest.mark.django_db

BAD = [
    ("/api/v1/measures/", "page_size", "abc"),
    ("/api/v1/measures/", "page_size", "0"),
    ("/api/v1/measures/", "page_size", "501"),
    ("/api/v1/enterprises/", "page_size", "10000"),
    ("/api/v1/measures/", "page", "abc"),
    ("/api/v1/measures/", "cursor", "zzz"),
    ("/api/v1/measures/", "ordering", "nope"),
    ("/api/v1/measures/", "ordering", "-co2e_t,title_en"),
    ("/api/v1/measures/", "year", "1.5"),
    ("/api/v1/measures/", "year", "99999999999"),
    ("/api/v1/measures/", "estimate_year", "x"),
    ("/api/v1/measures/", "updated_after", "2024-01-01T00:00:00-23:00"),
    ("/api/v1/measures/", "updated_after", "9999-12-31T23:59:59-05:00"),
    ("/api/v1/measures/", "updated_after", "0001-01-01T00:00:00Z"),
    ("/api/v1/measures/", "format", "zzz"),
    ("/api/v1/enterprises/", "partner_consent", "maybe"),
    ("/api/v1/enterprises/", "joined_programme", "maybe"),
    ("/api/v1/enterprises/", "page_size", "abc"),
    ("/api/v1/enterprises/", "ordering", "name"),
    ("/api/v1/emission-factors/", "is_official", "x"),
    ("/api/v1/emission-factors/", "year", "2020.5"),
    ("/api/v1/exchange-rates/", "is_official", "maybe"),
    ("/api/v1/exchange-rates/", "year", "1e3"),
    ("/api/v1/parks/", "ordering", "nope"),
    ("/api/v1/provinces/", "page", "-1"),
    ("/api/v1/organisations/", "ordering", "nope"),
    ("/api/v1/resources/", "page_size", "1.5"),
    ("/api/v1/targets/", "ordering", "nope"),
]


@pytest.mark.parametrize(("url", "param", "value"), BAD)
def test_a_bad_query_value_answers_400_naming_the_parameter_in_the_callers_language(staff_api, url, param, value):
    response = staff_api.get(url, {param: value}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid" and list(error["fields"]) == [param] and error["fields"][param][0]
    vi = staff_api.get(url, {param: value}, HTTP_ACCEPT_LANGUAGE="vi").json()["error"]
    assert vi["fields"][param] != error["fields"][param] or param == "format"  # translated


def test_good_values_still_work(staff_api):
    assert staff_api.get(LIST, {"updated_after": "2024-01-01T00:00:00+07:00", "page_size": "10"}).status_code == 200
    assert staff_api.get(LIST, {"ordering": "-co2e_t,id", "page": "last", "year": "2023"}).status_code == 200
    assert staff_api.get("/api/v1/enterprises/", {"partner_consent": "true"}).json()["count"] == (
        Enterprise.objects.filter(partner_consent=True).count()
    )
    assert len(staff_api.get(LIST, {"page_size": 500}).json()["results"]) == 500  # the largest page


def test_a_partner_gets_a_withheld_name_as_the_schema_declares_it(partner_api, staff_api):
    schema = staff_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    name = schema["components"]["schemas"]["Enterprise"]["properties"]["name"]
    assert name.get("nullable") is True
    assert not schema["components"]["schemas"]["EnterpriseRequest"]["properties"]["name"].get("nullable")
    rows = partner_api.get("/api/v1/enterprises/", {"partner_consent": "false"}).json()["results"]
    assert rows and all(row["name"] is None and row["withheld"] == ["name"] for row in rows)


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_measure_date_in_year_1_or_9999_is_refused(staff_api, day):
    response = staff_api.post(LIST, new_recp(identified_on=day), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "between 2000 and 2100" in response.json()["error"]["fields"]["identified_on"][0]


def test_a_cost_saving_of_minus_2_7e15_usd_is_refused(staff_api):
    body = new_recp(annual_cost_saving="-2700000000000000", cost_currency="USD")
    response = staff_api.post(LIST, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "1,000,000,000,000 USD" in response.json()["error"]["fields"]["annual_cost_saving"][0]


def test_a_quantity_finer_than_the_decimals_kept_is_refused_with_how_many_are_kept(staff_api):
    body = new_recp(savings=[{"resource": "electricity", "quantity": "0.000000001", "unit": "kWh"}])
    with translation.override("en"):
        response = staff_api.post(LIST, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "keeps 4 decimal places" in response.json()["error"]["message"]


@pytest.mark.parametrize("params", [{"page_size": "501"}, {"page_size": "10000", "cursor": ""}])
def test_a_page_size_above_the_largest_is_refused_with_the_largest_not_cut_to_it(staff_api, params):
    """It used to answer 500 rows without a word: a script asking for 10,000 took them for all there were."""
    response = staff_api.get(LIST, params, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"page_size": ["The page size is a whole number from 1 to 500."]}
    vi = staff_api.get(LIST, params, HTTP_ACCEPT_LANGUAGE="vi").json()["error"]["fields"]["page_size"][0]
    assert "500" in vi and vi != "The page size is a whole number from 1 to 500."


def test_the_schema_gives_the_largest_page_size(staff_api):
    schema = staff_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    [page_size] = [p for p in schema["paths"]["/api/v1/measures/"]["get"]["parameters"] if p["name"] == "page_size"]
    assert page_size["schema"]["minimum"] == 1 and page_size["schema"]["maximum"] == 500
