"""A measure's figures: money in both currencies at dated rates, verified values, and bad input refused."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from measures.models import ExchangeRate, Measure, Resource
from measures.services import SavingInput, StaleEdit, measure_create, measure_transition, measure_update
from tests.factories import EnterpriseFactory, recp_measure


def electricity(kwh, verified=None):
    return SavingInput(Resource.objects.get(code="electricity"), Decimal(kwh), "kWh", verified)


@pytest.mark.django_db
def test_a_vnd_cost_is_reported_in_usd_at_the_rate_of_its_year():
    measure = measure_create(
        measure=recp_measure(
            EnterpriseFactory(), annual_cost_saving=Decimal("232083700"), cost_currency="VND", estimate_year=2020
        ),
        savings=[],
    )
    assert measure.cost_vnd == Decimal("232083700")
    assert measure.cost_usd == Decimal("10000.00")  # 2020: 23,208.37 VND per USD
    assert measure.figures_note == ""


@pytest.mark.django_db
def test_a_usd_cost_is_also_reported_in_vnd_and_a_missing_year_uses_the_nearest_rate_and_says_so():
    with translation.override("en"):
        measure = measure_create(
            measure=recp_measure(EnterpriseFactory(), annual_cost_saving=Decimal("100"), estimate_year=2025),
            savings=[],
        )
    assert measure.cost_usd == Decimal("100.00")
    assert measure.cost_vnd == Decimal("2378732")  # the 2023 rate, the nearest recorded
    assert "2025" in measure.figures_note and "2023" in measure.figures_note


@pytest.mark.django_db
def test_an_unknown_currency_is_refused_and_nothing_is_saved():
    count = Measure.objects.count()
    with translation.override("en"), pytest.raises(ValidationError, match="Unknown currency: EUR"):
        measure_create(
            measure=recp_measure(EnterpriseFactory(), annual_cost_saving=Decimal(5), cost_currency="EUR"), savings=[]
        )
    assert Measure.objects.count() == count


@pytest.mark.django_db
def test_vnd_costs_without_any_exchange_rate_are_refused():
    ExchangeRate.objects.all().delete()
    with translation.override("vi"), pytest.raises(ValidationError, match="tỷ giá"):
        measure_create(
            measure=recp_measure(EnterpriseFactory(), annual_cost_saving=Decimal(5), cost_currency="VND"), savings=[]
        )


@pytest.mark.django_db
def test_a_measure_without_the_year_of_its_estimate_is_refused():
    count = Measure.objects.count()
    with pytest.raises(ValidationError) as error:
        measure_create(measure=recp_measure(EnterpriseFactory(), estimate_year=None), savings=[electricity(10)])
    assert "estimate_year" in error.value.message_dict
    assert Measure.objects.count() == count


@pytest.mark.django_db
def test_verified_figures_come_from_the_measured_quantities(staff_user):
    measure = measure_create(
        measure=recp_measure(EnterpriseFactory(), estimate_year=2022), savings=[electricity(1_000_000, 800_000)]
    )
    assert measure.electricity_kwh == Decimal(1_000_000)
    assert measure.electricity_kwh_verified == Decimal(800_000)
    assert measure.co2e_verified_t == Decimal("541.280")  # 800 MWh x 0.6766


@pytest.mark.django_db
def test_a_stale_edit_is_refused_and_leaves_the_other_edit_in_place(staff_user):
    measure = measure_create(measure=recp_measure(EnterpriseFactory()), savings=[electricity(1000)])
    version = measure.version
    measure_update(measure_id=measure.pk, changes={"title_vi": "Sửa lần một"}, expected_version=version)
    with translation.override("en"), pytest.raises(StaleEdit, match="saved again after you opened it"):
        measure_update(measure_id=measure.pk, changes={"title_vi": "Sửa lần hai"}, expected_version=version)
    measure.refresh_from_db()
    assert measure.title_vi == "Sửa lần một"


@pytest.mark.django_db
def test_an_edit_replaces_savings_and_recomputes_the_figures(staff_user):
    measure = measure_create(measure=recp_measure(EnterpriseFactory(), estimate_year=2022), savings=[electricity(1000)])
    measure = measure_update(measure_id=measure.pk, changes={}, savings=[electricity(2_000_000)])
    assert measure.electricity_kwh == Decimal(2_000_000)
    assert measure.co2e_t == Decimal("1353.200")
    measure_transition(
        measure=measure, to_status="proposed", changed_by=staff_user, effective_on=datetime.date(2022, 6, 1)
    )
    assert Measure.objects.get(pk=measure.pk).version == measure.version + 1
