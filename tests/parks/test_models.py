"""Database constraints on places reject invalid rows even when application code is bypassed."""

from decimal import Decimal

import pytest
from django.db import IntegrityError

from parks.models import Park, ProvinceStatistic
from tests.factories import ParkFactory, ProvinceFactory


@pytest.mark.django_db
@pytest.mark.parametrize(
    "fields",
    [
        {"area_ha": Decimal("-1")},
        {"area_ha": Decimal("0")},
        {"latitude": Decimal("91")},
        {"longitude": Decimal("-181")},
        {"programme_status": "bogus"},
    ],
)
def test_invalid_park_is_rejected_by_the_database(fields):
    province = ProvinceFactory()
    with pytest.raises(IntegrityError):
        Park.objects.create(province=province, code="bad", name_vi="KCN sai", **fields)


@pytest.mark.django_db
def test_two_parks_of_the_same_name_in_one_province_are_rejected():
    park = ParkFactory()
    with pytest.raises(IntegrityError):
        Park.objects.create(province=park.province, code="other", name_vi=park.name_vi)


@pytest.mark.django_db
def test_province_statistic_is_unique_per_year_and_capital_not_negative():
    province = ProvinceFactory()
    ProvinceStatistic.objects.create(province=province, year=2023, operating_parks=3, source="test")
    with pytest.raises(IntegrityError):
        ProvinceStatistic.objects.create(province=province, year=2023, source="again")


@pytest.mark.django_db
def test_negative_registered_capital_is_rejected():
    with pytest.raises(IntegrityError):
        ProvinceStatistic.objects.create(
            province=ProvinceFactory(), year=2022, registered_capital_usd=Decimal("-5"), source="test"
        )


@pytest.mark.django_db
def test_hai_phong_statistics_from_the_seed_are_loaded():
    stat = ProvinceStatistic.objects.get(province__code="hai-phong")
    assert (stat.operating_parks, stat.investment_projects) == (14, 688)
    assert stat.registered_capital_usd == Decimal("36320000000")
    assert "baohaiphong" in stat.source
