"""A measure's change history and the conflict box read as a person reads the measure: names instead of ids, status
and choice labels instead of codes, numbers and dates as the language writes them, and each line named by its
resource and unit."""

import re
from html import unescape

import pytest
from django.conf import settings
from django.db.models import Count

from measures.models import Measure
from tests.forms_helper import form_fields, submit

pytestmark = pytest.mark.django_db

FORM = "measure-form"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).replace(" :", ":")


def history_text(page: str) -> str:
    section = page.split('id="history-title"', 1)[1].split("</section>", 1)[0]
    return text_of(section)


def conflict_text(page: str) -> str:
    return text_of(page.split('id="conflict"', 1)[1].split("</div>", 1)[0])


@pytest.fixture
def recp():
    """An RECP measure with an electricity saving (5274 kWh in the demo) and a water saving."""
    measure = (
        Measure.objects.filter(kind=Measure.Kind.RECP, status=Measure.Status.PROPOSED)
        .annotate(lines=Count("savings"))
        .filter(lines__gte=2, savings__resource__code="electricity")
        .order_by("pk")
        .first()
    )
    assert measure.savings.get(resource__code="electricity").unit == "kWh"
    return measure


def in_language(client, language):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def electricity_row(data: dict) -> int:
    from measures.models import Resource

    pk = str(Resource.objects.get(code="electricity").pk)
    return next(i for i in range(int(data["savings-TOTAL_FORMS"][0])) if data[f"savings-{i}-resource"] == [pk])


def edit(client, measure, language, *, quantity: str, date: str, investment: str):
    url = f"/measures/{measure.pk}/edit/"
    _, data = form_fields(in_language(client, language).get(url).content.decode(), form_id=FORM)
    water = next(i for i in range(int(data["savings-TOTAL_FORMS"][0])) if i != electricity_row(data))
    data[f"savings-{electricity_row(data)}-quantity"] = [quantity]
    data[f"savings-{water}-DELETE"] = ["on"]
    data["technique"] = ["process_control"]
    data["identified_on"] = [date]
    data["investment"] = [investment]
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]


@pytest.mark.parametrize(
    ("language", "typed", "expected"),
    [
        (
            "en",
            {"quantity": "6000", "date": "2023-04-02", "investment": "1234.5"},
            [
                "Electricity (kWh): 5,274 → 6,000",
                "Water (m3): 183 → ∅",
                "Good housekeeping → Better process control",
                "→ 2 Apr 2023",
                "1,083 → 1,234.5",
                "Proposed → Accepted (planned)",
            ],
        ),
        (
            "vi",
            {"quantity": "6000", "date": "02/04/2023", "investment": "1234,5"},
            [
                "Điện (kWh): 5.274 → 6.000",
                "Nước (m3): 183 → ∅",
                "→ 02/04/2023",
                "1.083 → 1.234,5",
            ],
        ),
    ],
)
def test_the_history_on_the_measure_page_reads_as_the_measure_does(staff_client, recp, language, typed, expected):
    edit(staff_client, recp, language, **typed)
    assert submit(staff_client, f"/measures/{recp.pk}/status/?to=accepted", form_id="status-form").status_code == 302
    shown = history_text(staff_client.get(f"/measures/{recp.pk}/").content.decode())
    for text in expected:
        assert text in shown, shown[:3000]
    for raw in ("5274.0000", "6000.0000", "183.0000", "1083.00", "good_housekeeping", "process_control",
                "2023-04-02", " proposed ", " accepted "):  # fmt: skip
        assert raw not in shown, raw
    assert recp.enterprise.name in shown  # the creation entry names the enterprise, not its id


def test_an_exchange_history_names_its_parties(staff_client):
    exchange = Measure.objects.filter(kind=Measure.Kind.IS, source_enterprise__isnull=False).order_by("pk").first()
    shown = history_text(in_language(staff_client, "en").get(f"/measures/{exchange.pk}/").content.decode())
    assert exchange.source_enterprise.name in shown
    assert (exchange.sink_enterprise or exchange.sink_park or exchange.sink_organisation).name in shown
    assert exchange.get_exchange_type_display() in shown
    assert f": ∅ → {exchange.source_enterprise_id} " not in shown + " "
    flow = exchange.flows.select_related("resource").first()
    assert f"{flow.resource.name_en} ({flow.unit})" in shown


def test_the_conflict_box_reads_as_the_measure_does(staff_client, recp):
    url = f"/measures/{recp.pk}/edit/"
    client = in_language(staff_client, "en")
    second = form_fields(client.get(url).content.decode(), form_id=FORM)[1]
    edit(client, recp, "en", quantity="6000", date="2023-04-02", investment="1234.5")
    second["title_en"] = ["From the second tab"]
    response = client.post(url, second)
    assert response.status_code == 409
    shown = conflict_text(response.content.decode())
    for text in ("Electricity (kWh): 5,274 → 6,000", "Water (m3): 183 → ∅", "Better process control", "2 Apr 2023",
                 "1,083 → 1,234.5"):  # fmt: skip
        assert text in shown, shown
    for raw in ("5274.0000", "6000.0000", "process_control", "2023-04-02", "1234.50"):
        assert raw not in shown, raw


@pytest.mark.parametrize(("language", "shown"), [("vi", "1.234,5"), ("en", "1,234.5")])
def test_the_savings_table_shows_a_quantity_without_padded_zeros(staff_client, recp, language, shown):
    """A fresh user saved 1.234,5 kWh and read "1.234,5000 kWh" in the savings table."""
    from decimal import Decimal

    saving = recp.savings.get(resource__code="electricity")
    saving.quantity = saving.quantity_canonical = Decimal("1234.5")
    saving.save(update_fields=["quantity", "quantity_canonical"])
    page = text_of(in_language(staff_client, language).get(f"/measures/{recp.pk}/").content.decode())
    assert f"{shown} kWh" in page
    assert f"{shown}000" not in page
