"""Saving what was opened changes nothing, whatever the door: the edit page (posted as a browser posts the rendered
form), the API's PUT and PATCH, and status steps. Then one change changes only that. The same account in two tabs
is two editors: the second save is told what the first saved, and nothing of either is lost."""

import pytest
from django.conf import settings
from django.urls import reverse

from ecopark.audit import subject_of
from ecopark.models import AuditEntry
from measures.models import Measure
from tests.forms_helper import form_fields, submit

pytestmark = pytest.mark.django_db

IGNORED = {"updated_at", "search_text"}
FORM = "measure-form"


def state(measure_id: int) -> dict:
    """Everything stored about a measure that a person could notice: its fields and figures, each line as stored
    (with its id), the CO2e trail, the status history and the audit trail."""
    measure = Measure.objects.get(pk=measure_id)
    fields = {f.attname: getattr(measure, f.attname) for f in Measure._meta.concrete_fields if f.attname not in IGNORED}

    def rows(queryset, exclude=()):
        return [
            {f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields if f.attname not in exclude}
            for row in queryset.order_by("pk")
        ]

    return {
        "fields": fields,
        "savings": rows(measure.savings.all()),
        "flows": rows(measure.flows.all()),
        "trail": rows(measure.co2e_trail.all(), exclude=("id",)),
        "statuses": rows(measure.status_changes.all()),
        "audit": AuditEntry.objects.filter(subject=subject_of(measure)).count(),
    }


def changed_fields(before: dict, after: dict) -> set[str]:
    return {name for name, value in before["fields"].items() if after["fields"][name] != value}


@pytest.fixture
def verified_recp():
    """A verified RECP measure with several savings, measured values among them."""
    measure = (
        Measure.objects.filter(
            kind=Measure.Kind.RECP, status=Measure.Status.VERIFIED, savings__verified_quantity__isnull=False
        )
        .distinct()
        .order_by("pk")
        .first()
    )
    assert measure is not None and measure.savings.count() >= 1
    return measure


@pytest.fixture
def exchange():
    """A symbiosis exchange with flows and savings."""
    measure = (
        Measure.objects.filter(kind=Measure.Kind.IS, flows__isnull=False, savings__isnull=False)
        .distinct()
        .order_by("pk")
        .first()
    )
    assert measure is not None
    return measure


@pytest.fixture
def exchange_without_savings():
    """An exchange with flows only: its form shows one blank savings row, which must not count as a line."""
    measure = (
        Measure.objects.filter(kind=Measure.Kind.IS, flows__isnull=False, savings__isnull=True).order_by("pk").first()
    )
    assert measure is not None
    return measure


@pytest.fixture(params=["vi", "en"])
def language_client(request, staff_client):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = request.param
    staff_client.language = request.param
    return staff_client


@pytest.mark.parametrize("which", ["verified_recp", "exchange", "exchange_without_savings"])
def test_saving_the_edit_form_unchanged_changes_nothing_and_one_change_changes_only_that(
    request, language_client, which
):
    measure = request.getfixturevalue(which)
    url = f"/measures/{measure.pk}/edit/"
    before = state(measure.pk)
    assert (before["savings"] or before["flows"]) and before["fields"]["co2e_t"] is not None

    response = submit(language_client, url, form_id=FORM)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert state(measure.pk) == before  # every field, line, figure, version and the audit trail as they were

    response = submit(language_client, url, form_id=FORM, changes={"title_en": "Only the English title changed"})
    assert response.status_code == 302
    after = state(measure.pk)
    assert changed_fields(before, after) == {"title_en", "version"}
    assert after["fields"]["version"] == before["fields"]["version"] + 1
    assert after["savings"] == before["savings"] and after["flows"] == before["flows"]
    assert after["trail"] == before["trail"]
    assert after["audit"] == before["audit"] + 1  # one entry, for the title
    entry = AuditEntry.objects.filter(subject=subject_of(measure)).latest("id")
    assert set(entry.changes) == {"title_en", "version"}


def test_the_measure_page_says_nothing_changed_after_an_unchanged_save(language_client, verified_recp):
    response = submit(language_client, f"/measures/{verified_recp.pk}/edit/", form_id=FORM)
    page = language_client.get(response["Location"]).content.decode()
    expected = "Không có gì thay đổi" if language_client.language == "vi" else "Nothing was"
    assert expected in page


def test_changing_one_saving_changes_that_line_only_and_the_preview_said_so(staff_client, exchange):
    url = f"/measures/{exchange.pk}/edit/"
    before = state(exchange.pk)
    page = staff_client.get(url).content.decode()
    action, data = form_fields(page, form_id=FORM)
    first = before["savings"][0]
    data["savings-0-quantity"] = [str(first["quantity"] * 2).replace(".", ",")]
    preview = staff_client.post(reverse("measures:preview_edit", kwargs={"pk": exchange.pk}), data)
    assert preview.status_code == 200
    response = staff_client.post(action or url, data)
    assert response.status_code == 302
    after = state(exchange.pk)
    assert after["savings"][0]["id"] == first["id"] and after["savings"][0]["quantity"] == first["quantity"] * 2
    assert after["savings"][1:] == before["savings"][1:] and after["flows"] == before["flows"]
    shown = preview.content.decode()
    # The preview on the edit form equals what saving gave (CO2e as the page writes it).
    from django.utils.formats import number_format
    from django.utils.translation import override

    with override("vi"):
        assert number_format(after["fields"]["co2e_t"], decimal_pos=1, use_l10n=True, force_grouping=True) in shown


def test_the_same_account_in_two_tabs_is_two_editors_and_both_edits_are_kept(staff_client, verified_recp):
    url = f"/measures/{verified_recp.pk}/edit/"
    first_tab = staff_client.get(url).content.decode()
    second_tab = staff_client.get(url).content.decode()

    _, data = form_fields(first_tab, form_id=FORM)
    data["title_en"] = ["Title from the first tab"]
    assert staff_client.post(url, data).status_code == 302

    _, data = form_fields(second_tab, form_id=FORM)
    data["description_vi"] = ["Mô tả từ thẻ thứ hai"]
    response = staff_client.post(url, data)
    assert response.status_code == 409
    page = response.content.decode()
    assert "Title from the first tab" in page  # the conflict lists what the first tab saved, with its new value
    assert "Bạn đã lưu giải pháp này ở một cửa sổ hoặc thẻ khác" in page  # said as what it is: their other tab

    # Saving the page the conflict shows, as the browser posts it, keeps both.
    _, data = form_fields(page, form_id=FORM)
    assert staff_client.post(url, data).status_code == 302
    verified_recp.refresh_from_db()
    assert verified_recp.title_en == "Title from the first tab"
    assert verified_recp.description_vi == "Mô tả từ thẻ thứ hai"


def test_a_line_changed_in_one_tab_survives_a_title_changed_in_the_other(staff_client, exchange):
    url = f"/measures/{exchange.pk}/edit/"
    first_tab = staff_client.get(url).content.decode()
    second_tab = staff_client.get(url).content.decode()
    before = state(exchange.pk)

    _, data = form_fields(first_tab, form_id=FORM)
    data["flows-0-quantity"] = ["123,5"]
    assert staff_client.post(url, data).status_code == 302

    _, data = form_fields(second_tab, form_id=FORM)
    data["title_vi"] = ["Tên mới từ thẻ thứ hai"]
    response = staff_client.post(url, data)
    assert response.status_code == 409
    _, data = form_fields(response.content.decode(), form_id=FORM)
    assert data["flows-0-quantity"] == ["123,5"]  # the line as the first tab saved it
    assert staff_client.post(url, data).status_code == 302
    after = state(exchange.pk)
    assert str(after["flows"][0]["quantity"].normalize()) == "123.5"
    assert after["fields"]["title_vi"] == "Tên mới từ thẻ thứ hai"
    assert after["savings"] == before["savings"]


def test_both_tabs_changing_the_same_field_keep_the_second_input_and_name_the_field(staff_client, verified_recp):
    url = f"/measures/{verified_recp.pk}/edit/"
    first_tab = staff_client.get(url).content.decode()
    second_tab = staff_client.get(url).content.decode()
    _, data = form_fields(first_tab, form_id=FORM)
    data["title_en"] = ["First"]
    assert staff_client.post(url, data).status_code == 302
    _, data = form_fields(second_tab, form_id=FORM)
    data["title_en"] = ["Second"]
    response = staff_client.post(url, data)
    assert response.status_code == 409
    assert response.context["conflict"]["both"]  # named, so that the person can choose
    _, shown = form_fields(response.content.decode(), form_id=FORM)
    assert shown["title_en"] == ["Second"]
    verified_recp.refresh_from_db()
    assert verified_recp.title_en == "First"  # nothing saved until they save again


def test_a_status_step_posted_from_its_page_changes_the_status_and_nothing_else(staff_client, exchange):
    before = state(exchange.pk)
    step = {"identified": "proposed", "proposed": "accepted", "accepted": "implemented"}.get(exchange.status)
    if step is None:
        pytest.skip("the demo exchange is already implemented")
    response = submit(staff_client, f"/measures/{exchange.pk}/status/?to={step}", form_id="status-form")
    assert response.status_code == 302
    after = state(exchange.pk)
    expected = {"status", "version"} | ({"implemented_on", "reference_year"} if step == "implemented" else set())
    assert changed_fields(before, after) <= expected | {
        "co2e_t",
        "co2e_computed_t",
        "co2e_biogenic_t",
        "cost_usd",
        "cost_vnd",
        "figures_note",
    }
    assert {"status", "version"} <= changed_fields(before, after)
    assert after["savings"] == before["savings"] and after["flows"] == before["flows"]


def test_an_api_put_of_what_a_get_gave_changes_nothing_and_a_patch_changes_only_its_field(staff_user, exchange):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(staff_user)
    url = f"/api/v1/measures/{exchange.pk}/"
    before = state(exchange.pk)
    read = api.get(url).json()
    writable = {k: v for k, v in read.items() if k not in ("co2e_trail", "status_history", "allowed_transitions")}
    response = api.put(url, writable, format="json")
    assert response.status_code == 200, response.json()
    assert state(exchange.pk) == before
    response = api.patch(url, {"title_en": "Patched", "version": read["version"]}, format="json")
    assert response.status_code == 200
    after = state(exchange.pk)
    assert changed_fields(before, after) == {"title_en", "version"}
    assert after["savings"] == before["savings"] and after["flows"] == before["flows"]
    # A stale version is refused with what was saved since.
    response = api.patch(url, {"title_vi": "Cũ", "version": read["version"]}, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["version"] == read["version"] + 1
    assert [change["changes"]["title_en"][1] for change in error["changes"] if "title_en" in change["changes"]] == [
        "Patched"
    ]
