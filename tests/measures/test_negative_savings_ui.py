"""Negative savings on the measure pages, as a new user meets them: the confirmation box is meant only for resources
that allow a negative saving (their options say so), the messages say what to do, the figures preview names what
is wrong instead of asking to complete the form, and an increase reads as an increase on the measure's page and is
marked in the list."""

import csv
import datetime
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from enterprises.models import Enterprise
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create, measure_transition
from tests.factories import recp_measure
from tests.forms_helper import form_data, submit

pytestmark = pytest.mark.django_db

BOX_EN = "I confirm this saving is negative (the measure increases use)"
BOX_VI = "Tôi xác nhận lượng tiết kiệm này là số âm (giải pháp làm tăng mức sử dụng)"


def resource(code: str) -> Resource:
    return Resource.objects.get(code=code)


def text_of(html: str) -> str:
    """The page as a reader sees it: tags gone, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&nbsp;", " ")


def in_language(client, language: str):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    return client


@pytest.fixture
def enterprise():
    return Enterprise.objects.get(code="demo-01")


def new_form(client, enterprise, /, **changes) -> dict:
    """The new-measure page filled in as a browser sends it (numbers and dates as the language writes them), with one
    saving row; `changes` set fields (None leaves one out)."""
    page = client.get(reverse("measures:new", args=["recp"]))
    data = form_data(page.content.decode(), form_id="measure-form")
    data.update({
        "enterprise": [str(enterprise.pk)], "technique": [Measure.Technique.TECHNOLOGY_CHANGE],
        "title_vi": ["Điện hóa lò hơi"], "identified_on": ["15/03/2023"], "estimate_year": ["2023"],
        "savings-0-resource": [str(resource("electricity").pk)], "savings-0-quantity": ["250"],
        "savings-0-unit": ["MWh"],
    })  # fmt: skip
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = [value]
    return data


class _Options(HTMLParser):
    """The options of one select: value -> attributes."""

    def __init__(self, name: str):
        super().__init__(convert_charrefs=True)
        self.name, self.inside, self.options = name, False, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "select":
            self.inside = attrs.get("name") == self.name
        elif tag == "option" and self.inside:
            self.options[attrs.get("value")] = attrs

    def handle_endtag(self, tag):
        if tag == "select":
            self.inside = False


def options_of(html: str, name: str) -> dict:
    parser = _Options(name)
    parser.feed(html)
    return parser.options


# 1. The box is for resources that allow a negative saving ----------------------------------------------------------


def test_the_resource_options_say_which_resources_allow_a_negative_saving(staff_client):
    page = staff_client.get(reverse("measures:new", args=["recp"])).content.decode()
    options = options_of(page, "savings-0-resource")
    flagged = {value for value, attrs in options.items() if "data-allows-negative" in attrs}
    allowed = Resource.objects.filter(allows_negative_saving=True).values_list("pk", flat=True)
    assert flagged == {str(pk) for pk in allowed}
    assert str(resource("electricity").pk) in flagged and str(resource("water").pk) not in flagged
    assert "data-units" in options[str(resource("water").pk)]  # the units are still offered


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", "Water: a saving cannot be negative. Negative savings, where the measure increases use, are only for "
               "resources that allow them: Electricity. Remove the minus sign."),
        ("vi", "Nước: mức tiết kiệm không thể âm. Mức tiết kiệm âm, khi giải pháp làm tăng mức sử dụng, chỉ dành cho "
               "các tài nguyên cho phép điều đó: Điện. Hãy bỏ dấu trừ."),
    ],
)  # fmt: skip
def test_without_javascript_a_negative_saving_of_another_resource_is_refused_naming_it(
    staff_client, enterprise, language, expected
):
    """Without JavaScript the box is on every row; ticked for water, the page says why it does not apply."""
    client = in_language(staff_client, language)
    before = Measure.objects.count()
    data = new_form(client, enterprise, **{"savings-0-resource": str(resource("water").pk),
                                           "savings-0-quantity": "-5", "savings-0-unit": "m3",
                                           "savings-0-negative_confirmed": "on"})  # fmt: skip
    response = client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 200 and Measure.objects.count() == before
    assert response.context["saving_set"].forms[0].errors["quantity"] == [expected]
    assert expected in text_of(response.content.decode())


@pytest.mark.parametrize(
    "language, expected",
    [
        ("en", f"Electricity: a negative quantity means the measure increases its use. If that is right, tick the "
               f"box “{BOX_EN}”; otherwise remove the minus sign."),
        ("vi", f"Điện: khối lượng âm nghĩa là giải pháp làm tăng mức sử dụng. Nếu đúng như vậy, hãy đánh dấu vào ô "
               f"“{BOX_VI}”; nếu không, hãy bỏ dấu trừ."),
    ],
)  # fmt: skip
def test_a_negative_quantity_without_the_box_ticked_says_to_tick_the_box(staff_client, enterprise, language, expected):
    client = in_language(staff_client, language)
    data = new_form(client, enterprise, **{"savings-0-quantity": "-250"})
    response = client.post(reverse("measures:new", args=["recp"]), data)
    assert response.status_code == 200
    assert response.context["saving_set"].forms[0].errors["negative_confirmed"] == [expected]
    assert expected in text_of(response.content.decode())


# 2. The preview says why there are no figures ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes, expected",
    [
        ({"savings-0-quantity": "abc"}, "Annual savings, row 1 · Quantity per year: Enter a number."),
        ({"identified_on": (timezone.localdate() + datetime.timedelta(days=3)).strftime("%d/%m/%Y")},
         "Identified on: "),
        ({"savings-0-quantity": "-250"}, f"Annual savings, row 1: Electricity: a negative quantity means the measure "
                                         f"increases its use. If that is right, tick the box “{BOX_EN}”"),
    ],
    ids=["not-a-number", "future-date", "negative-unconfirmed"],
)  # fmt: skip
def test_the_preview_names_the_field_that_is_wrong(staff_client, enterprise, changes, expected):
    client = in_language(staff_client, "en")
    data = new_form(client, enterprise, **changes)
    response = client.post(reverse("measures:preview_new", args=["recp"]), data)
    assert response.status_code == 200
    shown = text_of(response.content.decode())
    assert expected in shown, shown
    assert "Complete the required fields" not in shown and "Not saved yet." not in shown


def test_the_future_date_in_the_preview_says_what_is_wrong_with_it(staff_client, enterprise):
    client = in_language(staff_client, "en")
    future = timezone.localdate() + datetime.timedelta(days=3)
    data = new_form(client, enterprise, identified_on=future.strftime("%d/%m/%Y"))
    shown = text_of(client.post(reverse("measures:preview_new", args=["recp"]), data).content.decode())
    assert re.search(r"Identified on: [^·]*future", shown), shown


def test_the_preview_in_vietnamese_and_the_required_fields_still_missing(staff_client, enterprise):
    data = new_form(staff_client, enterprise, **{"savings-0-quantity": "abc", "enterprise": ""})
    shown = text_of(staff_client.post(reverse("measures:preview_new", args=["recp"]), data).content.decode())
    assert "Mức tiết kiệm hằng năm, dòng 1 · Khối lượng mỗi năm: Nhập một số." in shown, shown
    assert "Hãy điền các trường bắt buộc để xem số liệu. Còn trống: Doanh nghiệp" in shown


def test_the_preview_of_a_valid_form_still_shows_the_figures(staff_client, enterprise):
    data = new_form(in_language(staff_client, "en"), enterprise, **{"savings-0-quantity": "-250",
                                                                    "savings-0-negative_confirmed": "on"})  # fmt: skip
    response = staff_client.post(reverse("measures:preview_new", args=["recp"]), data)
    assert response.context["preview"].measure.electricity_kwh == Decimal(-250000)
    assert "Not saved yet." in text_of(response.content.decode())


# 3. An increase reads as an increase -------------------------------------------------------------------------------


@pytest.fixture
def increase(enterprise, staff_user):
    return measure_create(
        measure=recp_measure(enterprise, reference="t-incr-1", title_vi="Điện hóa lò hơi", title_en="Electric boiler"),
        savings=[
            SavingInput(resource("electricity"), Decimal("-5"), "MWh", negative_confirmed=True),
            SavingInput(resource("water"), Decimal("1200"), "m3"),
        ],
        created_by=staff_user,
    )


def savings_table(html: str) -> str:
    return text_of(re.search(r'<table class="figures" id="savings">.*?</table>', html, re.S).group(0))


@pytest.mark.parametrize(
    "language, entered, canonical, water",
    [("en", "Electricity increase of 5 MWh", "increase of 5,000 kWh", "Water 1,200 m³ 1,200 m³"),
     ("vi", "Điện tăng 5 MWh", "tăng 5.000 kWh", "Nước 1.200 m³ 1.200 m³")],
)  # fmt: skip
def test_the_measure_page_shows_an_increase_as_a_positive_amount_with_the_word(
    staff_client, increase, language, entered, canonical, water
):
    table = savings_table(in_language(staff_client, language).get(f"/measures/{increase.pk}/").content.decode())
    assert entered in table and canonical in table, table
    assert "-5" not in table and "\u22125" not in table  # no double negative (nor a typographic minus)
    assert water in table  # a saving stays as it was


def test_a_measured_increase_reads_as_an_increase_too(staff_client, enterprise):
    measure = measure_create(measure=recp_measure(enterprise, reference="t-incr-2"),
                             savings=[SavingInput(resource("electricity"), Decimal("1000"), "kWh")])  # fmt: skip
    day = datetime.date(2022, 6, 1)
    for step in (Measure.Status.PROPOSED, Measure.Status.ACCEPTED, Measure.Status.IMPLEMENTED):
        measure_transition(measure=measure, to_status=step, changed_by=None, effective_on=day)
    measure_transition(measure=measure, to_status=Measure.Status.VERIFIED, changed_by=None, effective_on=day,
                       verified={measure.savings.get().pk: Decimal(-200)})  # fmt: skip
    table = savings_table(in_language(staff_client, "en").get(f"/measures/{measure.pk}/").content.decode())
    assert "Electricity 1,000 kWh 1,000 kWh increase of 200" in table, table


def list_row(html: str, reference: str) -> str:
    rows = re.findall(r"<tr>.*?</tr>", html, re.S)
    return text_of(next(row for row in rows if f">{reference}</a>" in row))


def test_the_list_marks_a_measure_whose_savings_include_an_increase_in_words(staff_client, increase, enterprise):
    measure_create(measure=recp_measure(enterprise, reference="t-incr-none"),
                   savings=[SavingInput(resource("electricity"), Decimal("1000"), "kWh")])  # fmt: skip
    page = in_language(staff_client, "en").get("/measures/?q=t-incr").content.decode()
    assert "Increases use of a resource" in list_row(page, "t-incr-1")
    assert "Increases use of a resource" not in list_row(page, "t-incr-none")
    page = in_language(staff_client, "vi").get("/measures/?q=t-incr").content.decode()
    assert "Làm tăng sử dụng tài nguyên" in list_row(page, "t-incr-1")


def test_a_measured_increase_is_marked_in_the_list_and_the_export(staff_client, enterprise):
    """A saving estimated as a saving and measured as an increase makes the measure one that increases use."""
    measure = measure_create(measure=recp_measure(enterprise, reference="t-incr-3"),
                             savings=[SavingInput(resource("electricity"), Decimal("1000"), "kWh")])  # fmt: skip
    day = datetime.date(2022, 6, 1)
    for step in (Measure.Status.PROPOSED, Measure.Status.ACCEPTED, Measure.Status.IMPLEMENTED):
        measure_transition(measure=measure, to_status=step, changed_by=None, effective_on=day)
    measure_transition(measure=measure, to_status=Measure.Status.VERIFIED, changed_by=None, effective_on=day,
                       verified={measure.savings.get().pk: Decimal(-200)})  # fmt: skip
    client = in_language(staff_client, "en")
    assert "Increases use of a resource" in list_row(client.get("/measures/?q=t-incr-3").content.decode(), "t-incr-3")
    response = client.get("/measures/?q=t-incr-3&export=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][rows[0].index("Increases use of a resource")] == "yes"


def test_the_edit_form_of_an_increase_comes_back_with_the_box_ticked_and_saves_unchanged(staff_client, increase):
    edit = reverse("measures:edit", args=[increase.pk])
    page = staff_client.get(edit).content.decode()
    assert form_data(page, form_id="measure-form")["savings-0-negative_confirmed"] == ["on"]
    version, lines = increase.version, list(increase.savings.values_list("pk", "quantity", "unit"))
    response = submit(staff_client, edit, form_id="measure-form")
    assert response.status_code == 302
    increase.refresh_from_db()
    assert increase.version == version and list(increase.savings.values_list("pk", "quantity", "unit")) == lines
