"""The lifecycle and the CO2e of a measure, checked against hand-computed values."""

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from enterprises.models import Enterprise
from measures import services
from measures.models import Evidence, Measure, Resource
from measures.services import SavingInput, measure_create, measure_transition
from tests.factories import EnterpriseFactory, recp_measure

Status = Measure.Status


def resource(code: str) -> Resource:
    return Resource.objects.get(code=code)


def create(savings, **fields) -> Measure:
    return measure_create(measure=recp_measure(EnterpriseFactory(), **fields), savings=savings)


@pytest.mark.django_db
def test_one_million_kwh_saved_in_2022_avoids_676_6_tonnes():
    measure = create([SavingInput(resource("electricity"), Decimal(1_000_000), "kWh")], estimate_year=2022)
    assert measure.co2e_t == Decimal("676.600")
    line = measure.co2e_trail.get()
    assert (line.factor.year, line.factor_value, line.unit, line.note) == (2022, Decimal("0.6766"), "MWh", "")
    assert "327/BĐKH-PTCBT" in line.factor.source


@pytest.mark.django_db
def test_100_tonnes_of_diesel_avoid_318_6_tonnes():
    measure = create([SavingInput(resource("diesel"), Decimal(100), "t")])
    assert measure.co2e_t == Decimal("318.600")
    assert measure.co2e_trail.get().factor.source.startswith("IPCC 2006")


@pytest.mark.django_db
def test_litres_of_diesel_convert_to_tonnes_through_the_density():
    measure = create([SavingInput(resource("diesel"), Decimal(10_000), "L")])
    saving = measure.savings.get()
    assert saving.quantity_canonical == Decimal("8.4")  # 10 m3 x 0.84 t/m3
    assert measure.co2e_t == Decimal("26.762")  # 8.4 t x 3.186 tCO2/t


@pytest.mark.django_db
def test_an_entered_value_wins_over_the_computed_one_and_is_marked():
    measure = create(
        [SavingInput(resource("electricity"), Decimal(1_000_000), "kWh")],
        co2e_entered_t=Decimal("500"),
        co2e_method="Metered baseline, 12 months",
    )
    assert measure.co2e_t == Decimal("500.000")
    assert measure.co2e_computed_t == Decimal("676.600")
    assert measure.co2e_is_entered


@pytest.mark.django_db
def test_a_2025_estimate_uses_the_latest_published_grid_factor_and_says_so():
    with translation.override("en"):
        measure = create([SavingInput(resource("electricity"), Decimal(1_000_000), "kWh")], estimate_year=2025)
    line = measure.co2e_trail.get()
    assert line.factor.year == 2024
    assert measure.co2e_t == Decimal("681.100")
    assert "2025" in line.note and "2024" in line.note


@pytest.mark.django_db
def test_biogenic_co2_is_kept_apart_from_fossil():
    measure = create([SavingInput(resource("wood"), Decimal(10), "t"), SavingInput(resource("lpg"), Decimal(1), "t")])
    assert measure.co2e_t == Decimal("2.985")
    assert measure.co2e_biogenic_t == Decimal("17.470")


@pytest.mark.django_db
def test_a_unit_that_does_not_fit_the_resource_is_refused_and_nothing_is_saved():
    count = Measure.objects.count()
    with translation.override("en"), pytest.raises(ValidationError, match="kWh cannot be converted to m3"):
        create([SavingInput(resource("water"), Decimal(5), "kWh")])
    assert Measure.objects.count() == count


@pytest.mark.django_db
def test_a_negative_saving_is_refused_where_the_resource_does_not_allow_it():
    count = Measure.objects.count()
    with translation.override("vi"), pytest.raises(ValidationError, match="không thể âm"):
        create([SavingInput(resource("water"), Decimal(-5), "m3")])
    assert Measure.objects.count() == count
    # Electricity may rise when a boiler is electrified (said explicitly: see test_plausibility.py).
    measure = create([SavingInput(resource("electricity"), Decimal(-1000), "kWh", negative_confirmed=True)])
    assert measure.co2e_t < 0


@pytest.mark.django_db
def test_every_status_transition_is_recorded_with_who_when_and_why(staff_user):
    measure = create([SavingInput(resource("electricity"), Decimal(1000), "kWh")])
    day = datetime.date(2022, 4, 1)
    for step in (Status.PROPOSED, Status.ACCEPTED, Status.IMPLEMENTED, Status.VERIFIED):
        day += datetime.timedelta(days=30)
        measure_transition(measure=measure, to_status=step, changed_by=staff_user, effective_on=day, reason="ok")
    measure.refresh_from_db()
    history = list(measure.status_changes.values_list("from_status", "to_status", "changed_by__username"))
    assert history == [
        ("", "identified", None),
        ("identified", "proposed", "staff"),
        ("proposed", "accepted", "staff"),
        ("accepted", "implemented", "staff"),
        ("implemented", "verified", "staff"),
    ]
    assert measure.status == Status.VERIFIED
    assert measure.implemented_on == datetime.date(2022, 6, 30)
    assert measure.verified_on == datetime.date(2022, 7, 30)
    assert measure.version == 5


@pytest.mark.django_db
def test_implementation_moves_the_grid_factor_to_the_implementation_year(staff_user):
    measure = create([SavingInput(resource("electricity"), Decimal(1_000_000), "kWh")], estimate_year=2021)
    assert measure.co2e_t == Decimal("722.100")
    for step, day in [
        (Status.PROPOSED, datetime.date(2022, 5, 1)),
        (Status.ACCEPTED, datetime.date(2022, 9, 1)),
        (Status.IMPLEMENTED, datetime.date(2023, 2, 1)),
    ]:
        measure_transition(measure=measure, to_status=step, changed_by=staff_user, effective_on=day)
    measure.refresh_from_db()
    assert measure.co2e_t == Decimal("659.200")


@pytest.mark.django_db
def test_a_status_skip_is_refused(staff_user):
    measure = create([])
    with translation.override("en"), pytest.raises(ValidationError, match="cannot become Implemented"):
        measure_transition(
            measure=measure, to_status=Status.IMPLEMENTED, changed_by=staff_user, effective_on=datetime.date(2022, 5, 1)
        )
    measure.refresh_from_db()
    assert measure.status == Status.IDENTIFIED
    assert measure.status_changes.count() == 1


@pytest.mark.django_db
def test_rejecting_needs_a_reason_and_closes_the_measure(staff_user):
    measure = create([])
    with pytest.raises(ValidationError):
        measure_transition(
            measure=measure, to_status=Status.REJECTED, changed_by=staff_user, effective_on=datetime.date(2022, 5, 1)
        )
    measure_transition(
        measure=measure,
        to_status=Status.REJECTED,
        changed_by=staff_user,
        effective_on=datetime.date(2022, 5, 1),
        reason="Không đủ vốn",
    )
    measure.refresh_from_db()
    assert (measure.status, measure.status_reason) == (Status.REJECTED, "Không đủ vốn")
    with pytest.raises(ValidationError):
        measure_transition(
            measure=measure, to_status=Status.PROPOSED, changed_by=staff_user, effective_on=datetime.date(2022, 6, 1)
        )


def test_a_verification_that_fails_after_its_evidence_was_written_leaves_no_file_behind(
    staff_user, monkeypatch, settings
):
    electricity = Resource.objects.get(code="electricity")
    measure = services.measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01")),
        savings=[services.SavingInput(electricity, Decimal("1000"), "kWh")],
    )
    for step in ("proposed", "accepted", "implemented"):
        services.measure_transition(
            measure=measure, to_status=step, changed_by=staff_user, effective_on=datetime.date(2023, 1, 1)
        )
    folder = Path(settings.MEDIA_ROOT) / "evidence"
    before = set(folder.glob("*")) if folder.exists() else set()

    def broken(measures, **options):
        raise RuntimeError("database gone")

    monkeypatch.setattr(services, "figures_recompute", broken)
    with pytest.raises(RuntimeError):
        services.measure_transition(
            measure=measure,
            to_status="verified",
            changed_by=staff_user,
            effective_on=datetime.date(2023, 2, 1),
            verified={measure.savings.get().pk: Decimal("900")},
            evidence=[SimpleUploadedFile("meter.pdf", b"%PDF-1.4 meter")],
        )
    assert Measure.objects.get(pk=measure.pk).status == Measure.Status.IMPLEMENTED
    assert not Evidence.objects.filter(measure=measure).exists()
    assert (set(folder.glob("*")) if folder.exists() else set()) == before
