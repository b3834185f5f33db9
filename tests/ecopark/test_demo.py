"""The demo programme reproduces the seed's published headline and loads idempotently."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from ecopark.demo import HEADLINE, load_demo
from enterprises.models import Enterprise
from measures.models import Measure, MeasureSaving, StatusChange
from measures.selectors import headline
from parks.models import Park, Province
from tests.factories import EnterpriseFactory, recp_measure


def snapshot() -> dict:
    return {
        "provinces": Province.objects.count(),
        "parks": Park.objects.count(),
        "enterprises": Enterprise.objects.count(),
        "measures": Measure.objects.count(),
        "savings": MeasureSaving.objects.aggregate(total=Sum("quantity_canonical"))["total"],
        "changes": StatusChange.objects.count(),
        "co2e": Measure.objects.aggregate(total=Sum("co2e_t"))["total"],
    }


@pytest.mark.django_db
def test_programme_totals_equal_the_seeds_headline():
    figures = headline(Measure.objects.all())
    assert {key: getattr(figures, key) for key in HEADLINE} == HEADLINE


@pytest.mark.django_db
def test_the_real_places_are_loaded():
    assert set(Province.objects.values_list("name_vi", flat=True)) == {
        "Thành phố Hồ Chí Minh",
        "Cần Thơ",
        "Đồng Nai",
        "Đà Nẵng",
        "Hải Phòng",
    }
    hiep_phuoc = Park.objects.get(code="hiep-phuoc")
    assert (hiep_phuoc.area_ha, hiep_phuoc.operator) == (Decimal("1686"), "Hiep Phuoc Industrial Park JSC (HIPC)")
    assert Park.objects.get(code="amata").area_ha == Decimal("539.73")
    # Symbiosis happened in the three parks the article names, and nowhere else.
    parks_with_exchanges = set(Measure.objects.filter(kind="is").values_list("park__code", flat=True))
    assert parks_with_exchanges == {"dinh-vu", "hiep-phuoc", "amata"}


@pytest.mark.django_db
def test_demo_enterprises_cannot_be_taken_for_real_companies():
    names = Enterprise.objects.filter(code__startswith="demo-").values_list("name", flat=True)
    assert len(names) == 68
    assert all("minh họa" in name and "Demo" in name for name in names)


@pytest.mark.django_db
def test_running_it_twice_changes_nothing():
    before = snapshot()
    assert load_demo(with_users=True)["measures_added"] == 0
    assert snapshot() == before


@pytest.mark.django_db
def test_into_a_database_with_other_data_it_adds_only_what_is_missing():
    own = EnterpriseFactory(park=Park.objects.get(code="hoa-khanh"), name="Công ty thật")
    own_measure = recp_measure(own, reference="own-1")
    own_measure.save()
    Measure.objects.filter(reference__in=["demo-recp-001", "demo-is-01", "demo-is-04"]).delete()

    result = load_demo(with_users=False)

    assert result["measures_added"] == 3
    assert Measure.objects.filter(reference="own-1").exists()
    assert Enterprise.objects.get(pk=own.pk).name == "Công ty thật"
    demo = headline(Measure.objects.filter(reference__startswith="demo-"))
    assert demo.co2e_t == HEADLINE["co2e_t"]
    assert demo.electricity_kwh == HEADLINE["electricity_kwh"]
    assert Measure.objects.get(reference="demo-recp-001").status_changes.exists()


@pytest.mark.django_db
def test_the_command_prints_the_demo_logins(capsys):
    call_command("load_demo", "--users", "--if-empty")
    out = capsys.readouterr().out
    assert "manager.deepc" in out and "ecopark-demo-partner" in out
