"""The admin is a write path like any other: its changes are validated, recomputed and rolled up."""

from decimal import Decimal

import pytest
from django.urls import reverse

from measures.models import Measure, Resource
from reports.selectors import totals_for_parks

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
