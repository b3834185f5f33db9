"""Bounds at every door: dates, money and the precision stored, refused by the services with a message."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import translation

from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create, saving_line
from tests.factories import EnterpriseFactory, recp_measure
from tests.measures.test_plausibility import _new_form

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("day", ["01/01/0001", "31/12/9999"])
def test_the_page_refuses_a_date_in_year_1_or_9999_on_its_field(staff_client, day):
    before = Measure.objects.count()
    data = _new_form(staff_client, EnterpriseFactory(), identified_on=day, **{"savings-0-quantity": "250"})
    response = staff_client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 200
    assert "2000" in " ".join(response.context["form"].errors["identified_on"])
    assert Measure.objects.count() == before


def test_the_services_refuse_money_beyond_the_bound_in_its_currency():
    measure = recp_measure(EnterpriseFactory(), annual_cost_saving=Decimal("-2.7e15"), cost_currency="USD")
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        measure_create(measure=measure, savings=[])
    assert "annual_cost_saving" in caught.value.message_dict


def test_a_quantity_below_the_precision_kept_is_refused_not_stored_as_zero():
    electricity = Resource.objects.get(code="electricity")
    measure = recp_measure(EnterpriseFactory())
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        saving_line(measure, SavingInput(electricity, Decimal("0.000000001"), "kWh"))
    assert "keeps 4 decimal places" in caught.value.messages[0]
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        saving_line(measure, SavingInput(Resource.objects.get(code="water"), Decimal("0.01"), "L"))  # 0.00001 m3
    assert "smallest quantity kept" in caught.value.messages[0]
