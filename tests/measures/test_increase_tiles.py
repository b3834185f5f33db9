"""A net increase of emissions reads as an increase ("increase of 34.055 tCO₂e"), never as a negative amount avoided,
on every tile that shows tCO₂e: the measure page, the form's preview, the home page and the dashboards."""

import re
from decimal import Decimal
from html import unescape

import pytest
from django.conf import settings
from django.template.defaultfilters import floatformat
from django.utils.translation import override

from enterprises.models import Enterprise
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create
from reports.models import RollupRow
from tests.factories import EnterpriseFactory, recp_measure
from tests.forms_helper import form_data

pytestmark = pytest.mark.django_db


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def tile(page: str, marker: str) -> str:
    """The text of the tile that holds `marker` (a data attribute)."""
    start = page.index(marker)
    start = page.rindex('<div class="tile"', 0, start)
    return text_of(page[start : page.index("</div>", page.index(marker))])


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def electrifying(staff_user):
    """A measure that raises the use of electricity (a fuel switch): its net CO2e is an increase."""
    enterprise = EnterpriseFactory(park=Enterprise.objects.get(code="demo-01").park)
    electricity = Resource.objects.get(code="electricity")
    measure = measure_create(
        measure=recp_measure(enterprise, reference="t-electrify", title_vi="Điện hóa lò hơi"),
        savings=[SavingInput(electricity, Decimal("-250000"), "kWh", negative_confirmed=True)],
        created_by=staff_user,
    )
    assert measure.co2e_t < 0
    return measure


@pytest.mark.parametrize(("language", "word"), [("en", "increase of"), ("vi", "tăng")])
def test_the_measure_page_tile_reads_as_an_increase(staff_client, electrifying, language, word):
    page = in_language(staff_client, language).get(f"/measures/{electrifying.pk}/").content.decode()
    shown = tile(page, 'data-figure="co2e_t"')
    with override(language):
        amount = floatformat(abs(electrifying.co2e_t), "-3g")  # as the tile writes a figure
    assert f"{word} {amount}" in shown, shown
    assert "-" not in shown and "avoided" not in shown and "tránh" not in shown, shown


def test_the_preview_tile_reads_as_an_increase(staff_client, electrifying):
    page = in_language(staff_client, "en").get(f"/measures/{electrifying.pk}/edit/").content.decode()
    preview = staff_client.post(f"/measures/{electrifying.pk}/edit/figures/", form_data(page, form_id="measure-form"))
    shown = tile(preview.content.decode(), 'data-preview="co2e_t"')
    assert shown.startswith("increase of "), shown
    assert "-" not in shown and "avoided" not in shown, shown


def test_the_enterprise_dashboard_tile_reads_as_an_increase(staff_client, electrifying):
    page = in_language(staff_client, "en").get(f"/dashboards/enterprise/{electrifying.enterprise_id}/").content.decode()
    shown = tile(page, 'data-tile="co2e_t"')
    assert "increase of" in shown, shown
    assert "-" not in shown, shown


@pytest.mark.parametrize(("language", "expected"), [("en", "increase of 34"), ("vi", "tăng 34")])
def test_the_home_page_tile_reads_as_an_increase(staff_client, monkeypatch, language, expected):
    import reports.views

    real = reports.views.totals_for_parks

    def with_an_increase(*args, **kwargs):
        totals = real(*args, **kwargs)
        totals.stages[RollupRow.Stage.POTENTIAL].co2e_t = Decimal("-34.055")
        return totals

    monkeypatch.setattr(reports.views, "totals_for_parks", with_an_increase)
    page = in_language(staff_client, language).get("/").content.decode()
    shown = tile(page, 'data-figure="co2e_t"')
    assert shown.startswith(expected), shown
    assert "-" not in shown and "avoided" not in shown and "tránh" not in shown, shown


def test_a_saving_still_reads_as_avoided(staff_client):
    measure = Measure.objects.filter(co2e_t__gt=1).order_by("pk").first()
    page = in_language(staff_client, "en").get(f"/measures/{measure.pk}/").content.decode()
    shown = tile(page, 'data-figure="co2e_t"')
    assert "avoided" in shown and "increase" not in shown, shown


@pytest.mark.parametrize(("language", "word"), [("en", "increase of"), ("vi", "tăng")])
def test_the_measures_list_and_the_enterprise_page_read_an_increase_without_a_minus(
    staff_client, electrifying, language, word
):
    client = in_language(staff_client, language)
    for url in (f"/measures/?q={electrifying.reference}", f"/enterprises/{electrifying.enterprise_id}/"):
        page = client.get(url).content.decode()
        start = page.index(f">{electrifying.reference}<")
        row = text_of(page[page.rindex("<tr", 0, start) : page.index("</tr>", start)])
        assert word in row and "-250" not in row and "\N{MINUS SIGN}" not in row, (url, row)


@pytest.mark.parametrize("language", ["en", "vi"])
def test_the_measure_page_writes_cubic_metres_as_m3_superscript(staff_client, language):
    water = Resource.objects.get(code="water")
    measure = Measure.objects.filter(savings__resource=water, savings__unit="m3").order_by("pk").first()
    page = in_language(staff_client, language).get(f"/measures/{measure.pk}/").content.decode()
    savings = page[page.index('id="savings"') if 'id="savings"' in page else 0 :]
    assert "<td>m³</td>" in savings
    assert "<td>m3</td>" not in page
