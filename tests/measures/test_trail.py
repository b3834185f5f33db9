"""The CO2e trail shows every conversion it used: 10,000 L of diesel is 8.4 t at 0.84 t/m3 (with the density's
source), and 8.4 t x 3.186 tCO2/t is 26.762 tCO2, on the measure's page, in the figures preview and in the API."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse

from enterprises.models import Enterprise
from measures.models import Measure, Resource
from measures.services import SavingInput, figures_recompute, measure_create
from tests.factories import recp_measure
from tests.forms_helper import form_data

pytestmark = pytest.mark.django_db
TIMES = "\N{MULTIPLICATION SIGN}"


def diesel_measure() -> Measure:
    diesel = Resource.objects.get(code="diesel")
    electricity = Resource.objects.get(code="electricity")
    return measure_create(
        measure=recp_measure(Enterprise.objects.get(code="demo-01"), estimate_year=2022),
        savings=[SavingInput(diesel, Decimal(10000), "L"), SavingInput(electricity, Decimal(120000), "kWh")],
    )


def text_of(html: str) -> str:
    """The page as a reader sees it: tags gone, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def test_the_trail_keeps_the_quantity_as_entered_and_the_density_with_its_source():
    measure = diesel_measure()
    line = measure.co2e_trail.get(resource__code="diesel")
    assert (line.entered_quantity, line.entered_unit) == (Decimal(10000), "L")
    assert line.density_t_per_m3 == Decimal("0.84")
    assert line.density_source == Resource.objects.get(code="diesel").density_source != ""
    assert (line.quantity, line.unit) == (Decimal("8.4"), "t")
    assert (line.factor_value, line.factor_unit) == (Decimal("3.186"), "tCO2/t")
    assert line.result_t == Decimal("26.762")  # 8.4 x 3.186
    grid = measure.co2e_trail.get(resource__code="electricity")
    assert (grid.entered_quantity, grid.entered_unit, grid.quantity, grid.unit) == (Decimal(120000), "kWh", 120, "MWh")
    assert grid.density_t_per_m3 is None and grid.density_source == ""


def test_the_density_used_stays_with_the_trail_until_the_figures_are_recomputed():
    measure = diesel_measure()
    Resource.objects.filter(code="diesel").update(density_t_per_m3=Decimal("0.85"), density_source="Supplier sheet")
    assert measure.co2e_trail.get(resource__code="diesel").density_t_per_m3 == Decimal("0.84")
    figures_recompute(Measure.objects.filter(pk=measure.pk))
    # The canonical tonnes were converted on entry; the trail now names the density of the resource as it stands.
    assert measure.co2e_trail.get(resource__code="diesel").density_source == "Supplier sheet"


def test_the_measure_page_shows_both_steps_with_their_numbers(staff_client):
    measure = diesel_measure()
    page = english(staff_client).get(reverse("measures:detail", args=[measure.pk])).content.decode()
    table = page[page.index('id="trail"') : page.index("</table>", page.index('id="trail"'))]
    row = text_of(next(r for r in table.split("<tr") if "diesel" in r.lower()))
    assert "10,000 L" in row
    assert f"{TIMES} 0.84 t/m³ (density)" in row and "TCVN 5689:2018" in row  # the density and its source
    assert "8.4 t" in row
    assert f"{TIMES} 3.186 tCO₂/t" in row and "26.762" in row
    grid = text_of(next(r for r in table.split("<tr") if "electricity" in r.lower()))
    assert "120,000 kWh" in grid and "kWh to MWh" in grid and f"{TIMES} 0.6766 tCO₂/MWh" in grid


def test_the_figures_preview_shows_the_same_chain(staff_client):
    client = english(staff_client)
    page = client.get(reverse("measures:new", args=["recp"])).content.decode()
    data = form_data(page, form_id="measure-form")
    data.update({
        "enterprise": [str(Enterprise.objects.get(code="demo-01").pk)], "technique": ["technology_change"],
        "title_en": ["Diesel generator replaced"], "identified_on": ["15/03/2022"], "estimate_year": ["2022"],
        "savings-0-resource": [str(Resource.objects.get(code="diesel").pk)], "savings-0-quantity": ["10000"],
        "savings-0-unit": ["L"],
    })  # fmt: skip
    before = Measure.objects.count()
    preview = text_of(client.post(reverse("measures:preview_new", args=["recp"]), data).content.decode())
    assert Measure.objects.count() == before
    assert "10,000 L" in preview and f"{TIMES} 0.84 t/m³ (density)" in preview and "TCVN 5689:2018" in preview
    assert "8.4 t" in preview and f"{TIMES} 3.186 tCO₂/t" in preview and "26.762" in preview


def test_the_api_trail_carries_the_conversion(staff_user):
    from tests.api.conftest import key_client

    measure = diesel_measure()
    data = key_client(staff_user).get(reverse("api:measure-detail", kwargs={"pk": measure.pk})).json()
    line = next(line for line in data["co2e_trail"] if line["resource"] == "diesel")
    assert line["entered_unit"] == "L" and Decimal(str(line["entered_quantity"])) == 10000
    assert Decimal(str(line["density_t_per_m3"])) == Decimal("0.84") and "TCVN" in line["density_source"]
    assert Decimal(str(line["quantity"])) == Decimal("8.4") and Decimal(str(line["result_t"])) == Decimal("26.762")


def test_trails_stored_before_the_change_are_filled_in_by_the_migration():
    import importlib

    from django.apps import apps

    measure = diesel_measure()
    measure.co2e_trail.update(entered_quantity=None, entered_unit="", density_t_per_m3=None, density_source="")
    importlib.import_module("measures.migrations.0012_trail_entered_backfill").backfill(apps, None)
    line = measure.co2e_trail.get(resource__code="diesel")
    assert (line.entered_quantity, line.entered_unit, line.density_t_per_m3) == (10000, "L", Decimal("0.84"))
    assert "TCVN" in line.density_source
    grid = measure.co2e_trail.get(resource__code="electricity")
    assert (grid.entered_unit, grid.density_t_per_m3) == ("kWh", None)
