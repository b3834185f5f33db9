"""What the measure form says back while an officer types: the preview names what stops the figures (an exchange
whose sink is its source) instead of the empty hint, and the message of an unconfirmed negative saving runs under
its row across the form, on a desktop and on a 390 px phone. Screenshots go to screenshots/."""

import pytest
from playwright.sync_api import expect

from ecopark.demo import load_demo
from ecopark.roles import Role
from tests.browser.conftest import log_in_english, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)

EMPTY_HINT = "The computed tCO₂e and cost appear here as you fill in the form."
SAME_PARTY = "The sink must be another party than the source."
UNCONFIRMED = "a negative quantity means the measure increases its use"


@pytest.fixture
def officer(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer.feedback", "Phan-hoi-bieu-mau-2024", Role.STAFF)


def test_the_preview_names_a_sink_that_is_the_source(live_server, page, screenshot, officer, watched):
    from measures.models import Measure

    outside, console_errors = watched
    exchange = Measure.objects.filter(kind="is", source_enterprise__isnull=False).order_by("pk").first()
    log_in_english(page, live_server, "officer.feedback", "Phan-hoi-bieu-mau-2024")
    page.goto(f"{live_server.url}/measures/{exchange.pk}/edit/")
    preview = page.locator("#figures-preview")
    expect(preview).to_contain_text("Not saved yet.")

    page.get_by_label("Sink (receives)").select_option(f"enterprise:{exchange.source_enterprise_id}")
    expect(preview).to_contain_text(SAME_PARTY)
    expect(preview).not_to_contain_text(EMPTY_HINT)
    screenshot("preview-sink-is-source")

    # Saved anyway: the page refuses it, and the preview of the page it shows says why as well.
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".field-sink")).to_contain_text(SAME_PARTY)
    expect(preview).to_contain_text(SAME_PARTY)
    expect(preview).not_to_contain_text(EMPTY_HINT)
    screenshot("preview-sink-is-source-after-save")
    assert outside == [] and console_errors == []


def test_a_new_exchange_refused_on_saving_keeps_saying_why_in_the_preview(
    live_server, page, screenshot, officer, watched
):
    from enterprises.models import Enterprise
    from measures.models import Resource

    outside, console_errors = watched
    enterprise = Enterprise.objects.get(code="demo-01")
    log_in_english(page, live_server, "officer.feedback", "Phan-hoi-bieu-mau-2024")
    page.goto(f"{live_server.url}/measures/new/is/")
    page.locator("select[name=park]").select_option(str(enterprise.park_id))
    page.locator("select[name=exchange_type]").select_option("byproduct")
    page.get_by_label("Source (gives)").select_option(f"enterprise:{enterprise.pk}")
    page.get_by_label("Sink (receives)").select_option(f"enterprise:{enterprise.pk}")
    page.get_by_label("Title (English)").fill("Slag to the same plant")
    flow = page.locator("[data-lines=flows] [data-line]").first
    flow.get_by_label("Resource").select_option(str(Resource.objects.get(code="fly-ash-slag").pk))
    flow.get_by_label("Quantity per year").fill("120")
    flow.get_by_label("Unit").select_option("t")
    preview = page.locator("#figures-preview")
    expect(preview).to_contain_text(SAME_PARTY)
    page.get_by_role("button", name="Save").click()

    expect(page.locator(".field-sink")).to_contain_text(SAME_PARTY)
    expect(preview).to_contain_text(SAME_PARTY)  # not the hint of an empty form
    expect(preview).not_to_contain_text(EMPTY_HINT)
    screenshot("preview-new-exchange-refused")
    assert outside == [] and console_errors == []


@pytest.mark.parametrize(("width", "height"), [(1280, 900), (390, 844)])
def test_an_unconfirmed_negative_saving_is_explained_under_its_row(
    live_server, page, screenshot, officer, watched, width, height
):
    from measures.models import Measure, Resource

    outside, console_errors = watched
    page.set_viewport_size({"width": width, "height": height})
    electricity = Resource.objects.get(code="electricity")
    measure = Measure.objects.filter(kind="recp", savings__resource=electricity).order_by("pk").first()
    log_in_english(page, live_server, "officer.feedback", "Phan-hoi-bieu-mau-2024")
    page.goto(f"{live_server.url}/measures/{measure.pk}/edit/")
    row = page.locator("[data-lines=savings] [data-line]").filter(
        has=page.locator(f"select[name$='-resource'] option[value='{electricity.pk}'][selected]")
    )
    row.get_by_label("Quantity per year").fill("-250")
    row.get_by_label("Quantity per year").press("Tab")  # a change is sent when the field is left
    expect(page.locator("#figures-preview")).to_contain_text(UNCONFIRMED)
    page.get_by_role("button", name="Save").click()

    row = page.locator("[data-lines=savings] [data-line]").filter(has_text=UNCONFIRMED)
    message = row.locator(".row-errors")
    expect(message).to_contain_text(UNCONFIRMED)
    box = row.locator(".field-negative_confirmed")
    expect(box).not_to_contain_text(UNCONFIRMED)
    row_box, message_box, box_box = row.bounding_box(), message.bounding_box(), box.bounding_box()
    assert message_box["width"] > 0.85 * row_box["width"]  # across the row, not in the checkbox's column
    assert message_box["y"] >= box_box["y"] + box_box["height"] - 1  # under the box, not beside it
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    screenshot(f"negative-saving-error-{width}")
    assert outside == [] and console_errors == []
