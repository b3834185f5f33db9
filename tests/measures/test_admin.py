"""The admin is a write path like any other: its changes are validated, recomputed and rolled up."""

from decimal import Decimal

import pytest
from django.urls import reverse

from ecopark.audit import history_of
from ecopark.models import AuditEntry
from enterprises.models import Enterprise
from measures.models import Co2eTrailLine, Measure, MeasureSaving, Resource, ResourceFlow, StatusChange
from measures.services import measure_update
from reports.models import RollupPending
from reports.selectors import totals_for_parks
from tests.forms_helper import form_data as browser_form_data
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = pytest.mark.usefixtures("eager_tasks")


def form_data(response) -> dict:
    """The POST data the admin page would send back unchanged: the main form and every inline formset."""
    data = {}

    def add(form):
        for field in form:
            value = field.value()
            if value is None or value is False:
                continue
            data[field.html_name] = "on" if value is True else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for field in formset.management_form:
            data[field.html_name] = field.value()
        for form in formset.forms:
            add(form)
    return data


def post_with_new_saving(client, measure: Measure, resource: str, quantity: str, unit: str):
    """Submit the measure's admin page unchanged but for one more savings row."""
    url = reverse("admin:measures_measure_change", args=[measure.pk])
    data = form_data(client.get(url))
    total = int(data["savings-TOTAL_FORMS"])
    data.update({
        "savings-TOTAL_FORMS": str(total + 1),
        f"savings-{total}-resource": str(Resource.objects.get(code=resource).pk),
        f"savings-{total}-quantity": quantity,
        f"savings-{total}-unit": unit,
    })  # fmt: skip
    return client.post(url, data)


@pytest.mark.django_db
def test_a_savings_row_added_in_the_admin_is_converted_recomputed_and_rolled_up(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-003")
    co2e_before, park_before = measure.co2e_t, totals_for_parks([measure.park_id]).stages["potential"].co2e_t
    with django_capture_on_commit_callbacks(execute=True):
        response = post_with_new_saving(client, measure, "diesel", "10000", "L")
    assert response.status_code == 302, response.context["errors"] if response.context else response
    measure.refresh_from_db()
    diesel = measure.savings.get(resource__code="diesel")
    assert diesel.quantity_canonical == Decimal("8.4")  # 10,000 L x 0.84 t/m3
    assert measure.co2e_t == co2e_before + Decimal("26.762")
    assert totals_for_parks([measure.park_id]).stages["potential"].co2e_t == park_before + Decimal("26.762")


@pytest.mark.django_db
def test_a_unit_that_does_not_fit_is_refused_in_the_admin_with_a_message(client, admin_user):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-004")
    response = post_with_new_saving(client, measure, "water", "5", "kWh")
    assert response.status_code == 200
    assert "Không thể quy đổi kWh sang m3" in response.content.decode()  # Vietnamese, the default language
    assert not measure.savings.filter(resource__code="water", unit="kWh").exists()


# The admin posted as a browser posts it: the rendered change form parsed, every field sent back as it is.


def _change_url(measure: Measure) -> str:
    return reverse("admin:measures_measure_change", args=[measure.pk])


def _stored(measure_id: int) -> dict:
    """Everything a user could find changed about a measure: its fields and figures, its lines (the same rows),
    its CO2e trail, status history, audit trail, and whether the roll-up was told to count it again."""
    measure = Measure.objects.get(pk=measure_id)
    return {
        "fields": {f.attname: getattr(measure, f.attname) for f in Measure._meta.concrete_fields},
        "savings": list(MeasureSaving.objects.filter(measure_id=measure_id).order_by("pk").values()),
        "flows": list(ResourceFlow.objects.filter(measure_id=measure_id).order_by("pk").values()),
        "trail": sorted(
            tuple(sorted((k, str(v)) for k, v in row.items() if k != "id"))
            for row in Co2eTrailLine.objects.filter(measure_id=measure_id).values()
        ),
        "statuses": list(StatusChange.objects.filter(measure_id=measure_id).order_by("pk").values()),
        "audit": list(history_of(measure).order_by("pk").values_list("pk", flat=True)),
        "pending": RollupPending.objects.filter(measure_id=measure_id).exists(),
    }


def _post_form(client, measure: Measure, changes: dict | None = None):
    """Post the measure's admin change form exactly as the browser has it, but for `changes` (name -> value)."""
    url = _change_url(measure)
    data = browser_form_data(client.get(url).content.decode(), form_id="measure_form")
    data.update({name: [value] for name, value in (changes or {}).items()})
    return client.post(url, data)


CONFIRMATION = 1  # the admin's pages start with the log-out form; a delete page's next form is its confirmation

# An RECP measure with several savings, and a symbiosis exchange with savings and flows.
ROUND_TRIP = ["demo-recp-003", "demo-is-05"]


@pytest.mark.django_db
@pytest.mark.parametrize("reference", ROUND_TRIP)
def test_the_admin_change_form_saved_unchanged_changes_nothing(
    client, admin_user, reference, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference=reference)
    assert measure.savings.exists() and (measure.kind == "recp" or measure.flows.exists())
    before = _stored(measure.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_form(client, measure)
    assert response.status_code == 302, response.context and response.context["errors"]
    assert _stored(measure.pk) == before


@pytest.mark.django_db
@pytest.mark.parametrize("reference", ROUND_TRIP)
def test_the_admin_change_form_with_one_field_changed_changes_only_that_field(
    client, admin_user, reference, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference=reference)
    before = _stored(measure.pk)
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_form(client, measure, {"title_en": "Changed in the admin"})
    assert response.status_code == 302, response.context and response.context["errors"]
    after = _stored(measure.pk)
    changed = {k for k, v in after["fields"].items() if v != before["fields"][k]}
    assert changed - {"updated_at", "search_text"} == {"title_en", "version"}
    assert after["fields"]["title_en"] == "Changed in the admin"
    assert after["fields"]["version"] == before["fields"]["version"] + 1
    for part in ("savings", "flows", "trail", "statuses"):
        assert after[part] == before[part], part  # the same rows, untouched
    new_entries = AuditEntry.objects.filter(pk__in=set(after["audit"]) - set(before["audit"]))
    assert [(e.action, e.channel, set(e.changes) - {"version"}) for e in new_entries] == [
        ("update", "admin", {"title_en"})
    ]
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_a_saving_changed_in_the_admin_changes_that_line_and_the_figures_only(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-003")
    before = _stored(measure.pk)
    first = before["savings"][0]
    with django_capture_on_commit_callbacks(execute=True):
        response = _post_form(client, measure, {"savings-0-quantity": str(first["quantity"] * 2)})
    assert response.status_code == 302, response.context and response.context["errors"]
    after = _stored(measure.pk)
    assert after["savings"][0]["id"] == first["id"]
    assert after["savings"][0]["quantity"] == first["quantity"] * 2
    assert after["savings"][1:] == before["savings"][1:]
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_a_measure_deleted_in_the_admin_leaves_the_roll_up(client, admin_user, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-010")
    park_count = totals_for_parks([measure.park_id]).stages["potential"].measure_count
    url = reverse("admin:measures_measure_delete", args=[measure.pk])
    page = client.get(url)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, browser_form_data(page.content.decode(), index=CONFIRMATION))
    assert response.status_code == 302
    assert not Measure.objects.filter(pk=measure.pk).exists()
    assert totals_for_parks([measure.park_id]).stages["potential"].measure_count == park_count - 1
    assert differences(from_scratch(), table_now()) == []
    assert history_of(measure).filter(action="delete", channel="admin").exists()


@pytest.mark.django_db
def test_measures_deleted_with_the_bulk_action_leave_the_roll_up(
    client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    doomed = list(Measure.objects.filter(reference__in=["demo-recp-011", "demo-recp-012", "demo-is-03"]))
    changelist = reverse("admin:measures_measure_changelist")
    confirm = client.post(changelist, {"action": "delete_selected", "_selected_action": [m.pk for m in doomed]})
    assert confirm.status_code == 200  # "are you sure?"
    data = browser_form_data(confirm.content.decode(), index=CONFIRMATION)
    assert data["post"] == ["yes"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(changelist, data)
    assert response.status_code == 302
    assert not Measure.objects.filter(pk__in=[m.pk for m in doomed]).exists()
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_a_save_the_services_refuse_shows_their_reason_on_the_form_and_saves_nothing(client, admin_user):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-004")  # an RECP measure: it has no resource flows
    before = _stored(measure.pk)
    response = _post_form(client, measure, {
        "title_en": "Not saved",
        "flows-TOTAL_FORMS": "1",
        "flows-0-resource": str(Resource.objects.get(code="water").pk),
        "flows-0-quantity": "5",
        "flows-0-unit": "m3",
        "flows-0-direction": "forward",
    })  # fmt: skip
    assert response.status_code == 200
    assert "Chỉ trao đổi cộng sinh mới có dòng tài nguyên." in response.content.decode()  # Vietnamese, the default
    assert "Not saved" in response.content.decode()  # what was typed is still on the page
    assert _stored(measure.pk) == before


@pytest.mark.django_db
def test_an_admin_save_over_someone_elses_is_refused_and_keeps_both(client, admin_user):
    client.force_login(admin_user)
    measure = Measure.objects.get(reference="demo-recp-005")
    url = _change_url(measure)
    data = browser_form_data(client.get(url).content.decode(), form_id="measure_form")
    measure_update(measure_id=measure.pk, changes={"title_vi": "Sửa ở trang khác"})  # meanwhile, in another tab
    data["title_en"] = ["Changed in the admin"]
    response = client.post(url, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Giải pháp này đã được lưu lại sau khi bạn mở nó" in page
    assert "Changed in the admin" in page  # what this person typed is still on the form
    stored = Measure.objects.get(pk=measure.pk)
    assert (stored.title_vi, stored.title_en) == ("Sửa ở trang khác", measure.title_en)  # the other save stands


@pytest.mark.django_db
def test_a_measure_added_in_the_admin_is_created_as_on_its_page(client, admin_user, django_capture_on_commit_callbacks):
    client.force_login(admin_user)
    enterprise = Enterprise.objects.get(code="demo-01")
    add = reverse("admin:measures_measure_add")
    data = browser_form_data(client.get(add).content.decode(), form_id="measure_form")
    data.update({
        "reference": ["admin-new-1"], "kind": ["recp"], "enterprise": [str(enterprise.pk)],
        "park": [str(enterprise.park_id)], "technique": ["good_housekeeping"], "title_vi": ["Thêm trong admin"],
        "identified_on": ["01/03/2024"], "estimate_year": ["2024"],
        "savings-TOTAL_FORMS": ["1"], "savings-0-resource": [str(Resource.objects.get(code="electricity").pk)],
        "savings-0-quantity": ["100000"], "savings-0-unit": ["kWh"],
    })  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(add, data)
    assert response.status_code == 302, response.context and response.context["errors"]
    measure = Measure.objects.get(reference="admin-new-1")
    assert (measure.created_by, measure.electricity_kwh, measure.status) == (admin_user, 100000, "identified")
    assert measure.co2e_t > 0 and measure.status_changes.count() == 1
    assert history_of(measure).filter(action="create", channel="admin").exists()
    assert differences(from_scratch(), table_now()) == []


@pytest.mark.django_db
def test_a_negative_saving_is_kept_by_an_unchanged_admin_save_and_refused_unconfirmed(
    client, admin_user, django_capture_on_commit_callbacks
):
    from measures.services import SavingInput, measure_create
    from tests.factories import recp_measure

    client.force_login(admin_user)
    electricity = Resource.objects.get(code="electricity")
    measure = measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01"), reference="t-admin-increase"),
        savings=[SavingInput(electricity, Decimal("-250000"), "kWh", negative_confirmed=True)],
    )
    before = _stored(measure.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert _post_form(client, measure).status_code == 302  # the box comes back ticked for a stored increase
    assert _stored(measure.pk) == before
    data = browser_form_data(client.get(_change_url(measure)).content.decode(), form_id="measure_form")
    assert data.pop("savings-0-negative_confirmed") == ["on"]
    data["title_en"] = ["changed"]
    response = client.post(_change_url(measure), data)
    assert response.status_code == 200  # refused: an increase must be confirmed
    assert Measure.objects.get(pk=measure.pk).title_en == measure.title_en
