"""Database constraints on the measure register."""

import datetime

import pytest
from django.db import IntegrityError, transaction

from measures.models import Measure, StatusChange
from tests.factories import EnterpriseFactory, OrganisationFactory, recp_measure


def _exchange(**fields) -> Measure:
    enterprise = fields.pop("enterprise", None) or EnterpriseFactory()
    values = {
        "reference": "t-is-1",
        "kind": Measure.Kind.IS,
        "park": enterprise.park,
        "exchange_type": Measure.ExchangeType.BYPRODUCT,
        "source_enterprise": enterprise,
        "title_vi": "Trao đổi xỉ",
        "identified_on": datetime.date(2022, 1, 1),
        "estimate_year": 2022,
    }
    values.update(fields)
    return Measure(**values)


@pytest.mark.django_db
def test_an_exchange_whose_source_is_its_sink_is_rejected_by_the_database():
    enterprise = EnterpriseFactory()
    with pytest.raises(IntegrityError, match="measure_is_source_is_not_sink"):
        _exchange(enterprise=enterprise, sink_enterprise=enterprise).save()


@pytest.mark.django_db
def test_an_exchange_needs_exactly_one_source_and_one_sink():
    enterprise = EnterpriseFactory()
    with transaction.atomic(), pytest.raises(IntegrityError):
        _exchange(enterprise=enterprise).save()  # no sink
    other = EnterpriseFactory(park=enterprise.park)
    city = OrganisationFactory(province=enterprise.park.province)
    with transaction.atomic(), pytest.raises(IntegrityError):
        _exchange(enterprise=enterprise, sink_enterprise=other, sink_organisation=city).save()  # two sinks
    _exchange(enterprise=enterprise, sink_organisation=city).save()  # enterprise to the city is fine


@pytest.mark.django_db
def test_a_recp_measure_needs_an_enterprise_and_a_technique():
    enterprise = EnterpriseFactory()
    with transaction.atomic(), pytest.raises(IntegrityError):
        recp_measure(enterprise, technique="").save()
    without_enterprise = recp_measure(enterprise)
    without_enterprise.enterprise = None
    with transaction.atomic(), pytest.raises(IntegrityError):
        without_enterprise.save()


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Measure.Status.REJECTED, Measure.Status.WITHDRAWN])
def test_a_closed_measure_without_a_reason_is_rejected_by_the_database(status):
    with pytest.raises(IntegrityError, match="measure_closed_status_has_reason"):
        recp_measure(EnterpriseFactory(), status=status, status_reason="").save()


@pytest.mark.django_db
def test_a_status_change_to_rejected_without_a_reason_is_rejected_by_the_database():
    measure = recp_measure(EnterpriseFactory())
    measure.save()
    with pytest.raises(IntegrityError, match="statuschange_closing_has_reason"):
        StatusChange.objects.create(
            measure=measure, from_status="identified", to_status="rejected", effective_on=datetime.date(2022, 5, 1)
        )


@pytest.mark.django_db
def test_an_implemented_measure_needs_its_date():
    with pytest.raises(IntegrityError, match="measure_implemented_has_date"):
        recp_measure(EnterpriseFactory(), status=Measure.Status.IMPLEMENTED).save()


@pytest.mark.django_db
def test_a_measure_needs_a_title_in_one_language_or_the_other():
    with pytest.raises(IntegrityError, match="measure_has_a_title"):
        recp_measure(EnterpriseFactory(), title_vi="", title_en="").save()
