"""Quantities typed as the page's language writes numbers (1,234.5 in English, 1.234,5 in Vietnamese). A number
whose separators the language cannot mean (English "1,5", Vietnamese "1.5") is refused with the form expected,
never read as fifteen; a space between thousands is taken."""

from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Count
from django.utils.translation import override

from measures.forms import SavingForm
from measures.models import Measure
from tests.forms_helper import submit

pytestmark = pytest.mark.django_db

FORM = "measure-form"


def quantity_of(text: str, language: str) -> tuple[Decimal | None, list[str]]:
    """What the savings row makes of the quantity typed: the value, or the messages shown."""
    from measures.models import Resource

    electricity = Resource.objects.get(code="electricity")
    with override(language):
        form = SavingForm({"resource": str(electricity.pk), "quantity": text, "unit": "kWh"})
        form.is_valid()
        return form.cleaned_data.get("quantity"), [str(m) for m in form.errors.get("quantity", [])]


@pytest.mark.parametrize(
    ("language", "text", "value"),
    [
        ("en", "1.5", Decimal("1.5")),
        ("en", "1,234.5", Decimal("1234.5")),
        ("en", "1,234", Decimal("1234")),
        ("en", "12 000", Decimal("12000")),
        ("en", "12\u00a0000.25", Decimal("12000.25")),
        ("en", "-2,500", Decimal("-2500")),
        ("vi", "1,5", Decimal("1.5")),
        ("vi", "1.234,5", Decimal("1234.5")),
        ("vi", "1.500", Decimal("1500")),
        ("vi", "12 000", Decimal("12000")),
        ("vi", "12\u00a0000", Decimal("12000")),
        ("vi", "1 234 567,8", Decimal("1234567.8")),
        ("vi", "5274", Decimal("5274")),
    ],
)
def test_numbers_written_as_the_language_writes_them_are_read(language, text, value):
    assert quantity_of(text, language) == (value, [])


@pytest.mark.parametrize(
    ("language", "text", "message"),
    [
        ("en", "1,5", "Use a point for decimals: 1.5"),
        ("en", "1,23", "Use a point for decimals: 1.23"),
        ("en", "-0,75", "Use a point for decimals: -0.75"),
        ("vi", "1.5", "Dùng dấu phẩy cho phần thập phân: 1,5"),
        ("vi", "1.23", "Dùng dấu phẩy cho phần thập phân: 1,23"),
    ],
)
def test_a_decimal_written_with_the_other_languages_sign_is_refused_with_the_expected_form(language, text, message):
    value, messages = quantity_of(text, language)
    assert value is None
    assert any(message in m for m in messages), messages


@pytest.mark.parametrize(
    ("language", "text", "message"),
    [
        ("vi", "1,234.5", "1.234,5"),
        ("vi", "abc", "1.234,5"),
        ("en", "1.234,5", "1,234.5"),
        ("en", "12 00", "1,234.5"),
    ],
)
def test_a_number_with_impossible_separators_says_which_to_use(language, text, message):
    value, messages = quantity_of(text, language)
    assert value is None and messages
    shown = " ".join(messages)
    assert message in shown
    if language == "vi":
        assert "Nhập một số." not in messages
        assert "dấu chấm" in shown and "dấu phẩy" in shown
    else:
        assert "point" in shown and "comma" in shown


@pytest.fixture
def recp_measure():
    return (
        Measure.objects.filter(kind=Measure.Kind.RECP)
        .annotate(lines=Count("savings"))
        .filter(lines__gte=1)
        .order_by("pk")
        .first()
    )


def _client_in(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


def test_the_edit_page_in_english_refuses_1_comma_5_and_saves_nothing(staff_client, recp_measure):
    before = list(recp_measure.savings.values_list("quantity", flat=True).order_by("pk"))
    response = submit(
        _client_in(staff_client, "en"),
        f"/measures/{recp_measure.pk}/edit/",
        form_id=FORM,
        changes={"savings-0-quantity": "1,5"},
    )
    assert response.status_code == 200
    assert "Use a point for decimals: 1.5" in response.content.decode()
    assert list(recp_measure.savings.values_list("quantity", flat=True).order_by("pk")) == before


def test_the_edit_page_in_vietnamese_takes_a_space_between_thousands(staff_client, recp_measure):
    response = submit(
        _client_in(staff_client, "vi"),
        f"/measures/{recp_measure.pk}/edit/",
        form_id=FORM,
        changes={"savings-0-quantity": "12 000"},
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    assert recp_measure.savings.order_by("pk").first().quantity == Decimal(12000)


def test_the_edit_page_in_vietnamese_refuses_1_point_5_with_the_expected_form(staff_client, recp_measure):
    response = submit(
        _client_in(staff_client, "vi"),
        f"/measures/{recp_measure.pk}/edit/",
        form_id=FORM,
        changes={"savings-0-quantity": "1.5"},
    )
    assert response.status_code == 200
    assert "Dùng dấu phẩy cho phần thập phân: 1,5" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "text", "message"),
    [
        ("en", "1e3", "Write the number in full, without an exponent: 1,000."),
        ("en", "2.5E4", "Write the number in full, without an exponent: 25,000."),
        ("vi", "2,5e4", "Hãy viết đầy đủ con số, không dùng số mũ: 25.000."),
        ("vi", "1e3e3", "Hãy viết đầy đủ con số, không dùng số mũ."),
    ],
)
def test_scientific_notation_is_refused_with_the_number_written_out(language, text, message):
    value, messages = quantity_of(text, language)
    assert value is None
    assert message in messages, messages
