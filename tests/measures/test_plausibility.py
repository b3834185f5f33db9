"""Plausibility at every door: dates that cannot be known yet, estimate years outside the register's window, and
negative savings only where the resource allows them and the person said so (pages, API, admin, import)."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone, translation

from enterprises.models import Enterprise
from measures.importer import Importer
from measures.models import Measure, MeasureSaving, PlausibilityWindow, Resource
from measures.services import (
    NewMeasure,
    SavingInput,
    measure_create,
    measure_update,
    measures_create_many,
    saving_line,
)
from tests.factories import EnterpriseFactory, recp_measure
from tests.forms_helper import form_data, submit

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + datetime.timedelta(days=1)
FAR_YEAR = timezone.localdate().year + 9  # the 2035, seen from 2026


def resource(code: str) -> Resource:
    return Resource.objects.get(code=code)


def field_errors(error: ValidationError) -> dict:
    return {field: " ".join(messages) for field, messages in error.message_dict.items()}


# The services: every door passes here ------------------------------------------------------------------------


def test_a_measure_identified_in_the_future_is_refused_on_its_field():
    count = Measure.objects.count()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        measure_create(measure=recp_measure(EnterpriseFactory(), identified_on=TOMORROW), savings=[])
    assert "in the future" in field_errors(caught.value)["identified_on"]
    assert Measure.objects.count() == count


def test_an_estimate_year_outside_the_window_is_refused_and_the_window_is_data_an_admin_changes():
    window = PlausibilityWindow.current()
    assert window.pk is not None and window.source  # loaded by the data migration, with its reason
    assert (window.earliest_estimate_year, window.latest_year(timezone.localdate())) == (
        2015,
        timezone.localdate().year + 1,
    )
    with translation.override("vi"), pytest.raises(ValidationError) as caught:
        measure_create(measure=recp_measure(EnterpriseFactory(), estimate_year=FAR_YEAR), savings=[])
    message = field_errors(caught.value)["estimate_year"]
    assert "2015" in message and str(timezone.localdate().year + 1) in message
    assert "Năm ước tính" in message  # in the user's language
    with pytest.raises(ValidationError, match="2015"):
        measure_create(measure=recp_measure(EnterpriseFactory(), estimate_year=2012), savings=[])

    window.latest_estimate_year = FAR_YEAR
    window.save()
    measure = measure_create(measure=recp_measure(EnterpriseFactory(), estimate_year=FAR_YEAR), savings=[])
    assert measure.estimate_year == FAR_YEAR


def test_an_edit_is_checked_too_but_a_value_it_leaves_alone_is_not():
    measure = measure_create(measure=recp_measure(EnterpriseFactory()), savings=[])
    with pytest.raises(ValidationError) as caught:
        measure_update(measure_id=measure.pk, changes={"estimate_year": FAR_YEAR})
    assert "estimate_year" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        measure_update(measure_id=measure.pk, changes={"identified_on": TOMORROW})
    assert "identified_on" in caught.value.message_dict
    measure.refresh_from_db()
    assert (measure.estimate_year, measure.identified_on) == (2022, datetime.date(2022, 3, 1))

    # A measure saved before the window was narrowed keeps its year until someone changes it.
    Measure.objects.filter(pk=measure.pk).update(estimate_year=2012)
    measure = measure_update(measure_id=measure.pk, changes={"title_en": "Compressors off at night"})
    assert measure.title_en == "Compressors off at night" and measure.estimate_year == 2012


def test_bulk_creation_refuses_the_same_as_one_by_one():
    enterprise = EnterpriseFactory()
    items = [
        NewMeasure(recp_measure(enterprise, reference="bulk-ok"), [], []),
        NewMeasure(recp_measure(enterprise, reference="bulk-future", identified_on=TOMORROW), [], []),
        NewMeasure(recp_measure(enterprise, reference="bulk-year", estimate_year=FAR_YEAR), [], []),
    ]
    errors = measures_create_many(items)
    assert sorted(errors) == [1, 2]
    assert "identified_on" in errors[1][0].message_dict and "estimate_year" in errors[2][0].message_dict
    assert not Measure.objects.filter(reference__startswith="bulk-").exists()


def test_a_negative_saving_needs_a_resource_that_allows_it_and_a_confirmation():
    measure = Measure()
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        saving_line(measure, SavingInput(resource("electricity"), Decimal(-250), "MWh"))
    assert caught.value.code == "negative_unconfirmed" and "tick the confirmation" in caught.value.messages[0]
    line = saving_line(measure, SavingInput(resource("electricity"), Decimal(-250), "MWh", negative_confirmed=True))
    assert line.quantity_canonical == Decimal(-250000) and line.is_increase
    with pytest.raises(ValidationError) as caught:
        saving_line(measure, SavingInput(resource("water"), Decimal(-5), "m3", negative_confirmed=True))
    assert caught.value.code == "negative"
    # A verified value below zero is a negative saving too.
    with pytest.raises(ValidationError) as caught:
        saving_line(measure, SavingInput(resource("electricity"), Decimal(5), "MWh", Decimal(-1)))
    assert caught.value.code == "negative_unconfirmed"


def test_a_measured_increase_is_taken_on_verification_without_a_tick():
    from measures.services import measure_transition

    measure = measure_create(
        measure=recp_measure(EnterpriseFactory()),
        savings=[SavingInput(resource("electricity"), Decimal(-1000), "kWh", negative_confirmed=True)],
    )
    day = datetime.date(2022, 6, 1)
    for step in (Measure.Status.PROPOSED, Measure.Status.ACCEPTED, Measure.Status.IMPLEMENTED):
        measure_transition(measure=measure, to_status=step, changed_by=None, effective_on=day)
    saving = measure.savings.get()
    measure_transition(
        measure=measure, to_status=Measure.Status.VERIFIED, changed_by=None, effective_on=day,
        verified={saving.pk: Decimal(-1100)},
    )  # fmt: skip
    assert measure.savings.get().verified_quantity == Decimal(-1100)


# The pages -------------------------------------------------------------------------------------------------------


@pytest.fixture
def enterprise():
    return Enterprise.objects.get(code="demo-01")


def _new_form(staff_client, enterprise, **changes):
    """The new-measure page filled in as a browser sends it, with one electricity saving."""
    page = staff_client.get(reverse("measures:new", args=["recp"]))
    data = form_data(page.content.decode(), form_id="measure-form")
    data.update({
        "enterprise": [str(enterprise.pk)], "technique": [Measure.Technique.TECHNOLOGY_CHANGE],
        "title_vi": ["Điện hóa lò hơi"], "identified_on": ["15/03/2023"], "estimate_year": ["2023"],
        "savings-0-resource": [str(resource("electricity").pk)], "savings-0-quantity": ["-250"],
        "savings-0-unit": ["MWh"],
    })  # fmt: skip
    data.update({name: [value] for name, value in changes.items() if value is not None})
    for name in [name for name, value in changes.items() if value is None]:
        data.pop(name, None)
    return data


def test_the_page_refuses_a_future_date_and_a_far_year_on_their_fields(staff_client, enterprise):
    before = Measure.objects.count()
    data = _new_form(staff_client, enterprise, identified_on=TOMORROW.strftime("%d/%m/%Y"),
                     estimate_year=str(FAR_YEAR), **{"savings-0-quantity": "250"})  # fmt: skip
    response = staff_client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "tương lai" in " ".join(errors["identified_on"])  # Vietnamese, the default language
    assert "estimate_year" in errors
    assert Measure.objects.count() == before


def test_the_page_asks_to_confirm_a_negative_saving_shows_it_and_keeps_it_on_an_unchanged_edit(
    staff_client, enterprise
):
    before = Measure.objects.count()
    data = _new_form(staff_client, enterprise)
    assert "savings-0-negative_confirmed" not in data  # the box is there, unticked
    response = staff_client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 200 and Measure.objects.count() == before
    errors = response.context["saving_set"].forms[0].errors
    assert "negative_confirmed" in errors

    data["savings-0-negative_confirmed"] = ["on"]
    response = staff_client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 302
    measure = Measure.objects.get(pk=response["Location"].rstrip("/").split("/")[-1])
    assert measure.electricity_kwh == Decimal(-250000)
    page = staff_client.get(response["Location"]).content.decode()
    assert "data-increase" in page

    # The edit form comes back with the box ticked, so saving it unchanged keeps the saving as it was.
    edit = reverse("measures:edit", args=[measure.pk])
    edit_page = staff_client.get(edit).content.decode()
    assert 'name="savings-0-negative_confirmed"' in edit_page
    saving = measure.savings.get()
    response = submit(staff_client, edit, form_id="measure-form", changes={"title_en": "Electrified boiler"})
    assert response.status_code == 302, response.context["saving_set"].errors if response.context else response
    measure.refresh_from_db()
    assert measure.title_en == "Electrified boiler" and measure.electricity_kwh == Decimal(-250000)
    assert list(measure.savings.values_list("pk", "quantity")) == [(saving.pk, Decimal(-250))]


# The API -----------------------------------------------------------------------------------------------------------


def _api_body(**overrides) -> dict:
    body = {
        "reference": "api-plaus-1", "kind": "recp", "enterprise": "demo-01", "technique": "technology_change",
        "title_en": "Electrified boiler", "identified_on": "2023-02-01", "estimate_year": 2023,
        "savings": [{"resource": "electricity", "quantity": "-250", "unit": "MWh"}],
    }  # fmt: skip
    body.update(overrides)
    return body


@pytest.fixture
def staff_api(staff_user):
    from tests.api.conftest import key_client

    return key_client(staff_user)


def test_the_api_refuses_a_future_date_and_a_far_year_by_field(staff_api):
    savings = [{"resource": "electricity", "quantity": "250", "unit": "MWh"}]
    response = staff_api.post(
        "/api/v1/measures/",
        _api_body(identified_on=TOMORROW.isoformat(), estimate_year=FAR_YEAR, savings=savings),
        format="json",
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 400, response.json()
    fields = response.json()["error"]["fields"]
    assert "identified_on" in fields and "estimate_year" in fields
    assert not Measure.objects.filter(reference="api-plaus-1").exists()


def test_the_api_takes_a_negative_saving_only_when_confirmed_and_reads_it_back_confirmed(staff_api):
    response = staff_api.post("/api/v1/measures/", _api_body(), format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "tick the confirmation" in str(response.json())
    body = _api_body()
    body["savings"][0]["negative_confirmed"] = True
    response = staff_api.post("/api/v1/measures/", body, format="json")
    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["electricity_kwh"] == -250000 and data["savings"][0]["negative_confirmed"] is True

    # What was read, sent back unchanged, is taken (PUT), and so is a PATCH of another field.
    url = reverse("api:measure-detail", kwargs={"pk": data["id"]})
    read = staff_api.get(url).json()
    writable = {k: v for k, v in read.items() if k in _api_body() or k in ("version", "description_vi")}
    response = staff_api.put(url, writable, format="json")
    assert response.status_code == 200, response.json()
    response = staff_api.patch(url, {"title_vi": "Điện hóa lò hơi", "version": response.json()["version"]},
                               format="json")  # fmt: skip
    assert response.status_code == 200, response.json()
    assert MeasureSaving.objects.get(measure_id=data["id"]).quantity == Decimal(-250)


# The import --------------------------------------------------------------------------------------------------------

HEADERS = ["Measure reference", "Kind", "Enterprise code", "RECP technique", "Title (English)", "Identified on",
           "Year of the estimate", "Saving 1: resource", "Saving 1: quantity per year", "Saving 1: unit"]  # fmt: skip


def _import(user, rows: list[list], commit=False):
    from ecopark.spreadsheet import read_workbook
    from ecopark.uploads import CSV
    from tests.measures.import_files import csv_file, upload

    return Importer(user, language="en").run(read_workbook(upload(csv_file([HEADERS, *rows]), "m.csv"), CSV),
                                             commit=commit)  # fmt: skip


def test_the_import_refuses_a_future_date_and_a_far_year_on_their_columns(staff_user):
    rows = [
        ["imp-p-1", "recp", "demo-01", "process_control", "A", TOMORROW.isoformat(), "2023", "electricity", "5", "kWh"],
        ["imp-p-2", "recp", "demo-01", "process_control", "B", "2023-04-01", str(FAR_YEAR), "electricity", "5", "kWh"],
    ]
    outcome = _import(staff_user, rows, commit=True)
    assert not outcome.ok
    columns = {(e.row, e.column.split(" · ")[-1]) for e in outcome.errors}
    assert (2, "Identified on") in columns and (3, "Year of the estimate") in columns
    assert not Measure.objects.filter(reference__startswith="imp-p-").exists()


def test_the_import_takes_an_explicit_minus_as_the_confirmation_where_the_resource_allows_it(staff_user):
    rows = [["imp-n-1", "recp", "demo-01", "technology_change", "Boiler", "2023-04-01", "2023", "electricity", "-250",
             "MWh"]]  # fmt: skip
    outcome = _import(staff_user, rows, commit=True)
    assert outcome.ok, outcome.errors
    assert Measure.objects.get(reference="imp-n-1").electricity_kwh == Decimal(-250000)
    rows = [["imp-n-2", "recp", "demo-01", "technology_change", "Boiler", "2023-04-01", "2023", "water", "-5", "m3"]]
    outcome = _import(staff_user, rows, commit=True)
    assert not outcome.ok and "cannot be negative" in outcome.errors[0].message


# The admin ---------------------------------------------------------------------------------------------------------


def test_the_admin_refuses_a_far_year_on_its_field(client, admin_user):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-005")
    url = reverse("admin:measures_measure_change", args=[measure.pk])
    data = form_data(client.get(url).content.decode(), form_id="measure_form")
    data["estimate_year"] = [str(FAR_YEAR)]
    response = client.post(url, data)
    assert response.status_code == 200
    assert "estimate_year" in response.context["adminform"].form.errors
    measure.refresh_from_db()
    assert measure.estimate_year != FAR_YEAR


def test_the_window_is_registered_in_the_admin_and_cannot_be_deleted(client, admin_user):
    client.force_login(admin_user)
    window = PlausibilityWindow.current()
    response = client.get(reverse("admin:measures_plausibilitywindow_change", args=[window.pk]))
    assert response.status_code == 200
    assert client.get(reverse("admin:measures_plausibilitywindow_add")).status_code == 403
    assert client.get(reverse("admin:measures_plausibilitywindow_delete", args=[window.pk])).status_code == 403
