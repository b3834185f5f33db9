"""An officer enters a fuel switch that raises electricity use: the confirmation box appears only for a resource
that allows a negative saving, the preview says to tick it, the measure's page and the list show the increase in
words, and the edit form saves it back unchanged. Screenshots go to screenshots/."""

import pytest
from playwright.sync_api import expect

from ecopark.demo import load_demo
from ecopark.roles import Role
from tests.browser.conftest import log_in_english, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)

BOX = "I confirm this saving is negative (the measure increases use)"


@pytest.fixture
def officer(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer.negative", "Dien-hoa-lo-hoi-2024", Role.STAFF)


def test_an_increase_is_confirmed_where_it_applies_and_shown_as_an_increase(
    live_server, page, screenshot, officer, watched
):
    from enterprises.models import Enterprise
    from measures.models import Measure, Resource

    outside, console_errors = watched
    resources = {r.code: str(r.pk) for r in Resource.objects.all()}
    log_in_english(page, live_server, "officer.negative", "Dien-hoa-lo-hoi-2024")
    page.goto(f"{live_server.url}/measures/new/recp/")
    page.get_by_label("Enterprise").select_option(str(Enterprise.objects.get(code="demo-01").pk))
    page.get_by_label("Technique").select_option("technology_change")
    page.get_by_label("Title (English)").fill("Electric boiler instead of fuel oil")

    row = page.locator("[data-lines=savings] [data-line]:visible").nth(0)
    box = row.get_by_label(BOX)
    expect(box).to_be_hidden()  # no resource chosen yet
    row.get_by_label("Resource").select_option(resources["water"])
    expect(box).to_be_hidden()
    row.get_by_label("Resource").select_option(resources["electricity"])
    expect(box).to_be_visible()
    box.check()
    row.get_by_label("Resource").select_option(resources["water"])  # a tick does not follow to another resource
    expect(box).to_be_hidden()
    row.get_by_label("Resource").select_option(resources["electricity"])
    expect(box).not_to_be_checked()

    row.get_by_label("Quantity per year").fill("-250")
    row.get_by_label("Unit").select_option("MWh")
    preview = page.locator("#figures-preview")
    expect(preview).to_contain_text(f"Annual savings, row 1: Electricity: a negative quantity means the measure "
                                    f"increases its use. If that is right, tick the box “{BOX}”")  # fmt: skip
    screenshot("negative-saving-unconfirmed")
    box.check()
    expect(preview).to_contain_text("Not saved yet.")
    page.get_by_role("button", name="Save").click()

    expect(page.locator("#savings")).to_contain_text("increase of 250")
    expect(page.locator("#savings")).to_contain_text("increase of 250,000 kWh")
    screenshot("negative-saving-detail")
    measure = Measure.objects.get(title_en="Electric boiler instead of fuel oil")
    lines = list(measure.savings.values_list("pk", "quantity", "unit"))

    page.get_by_role("link", name="Edit").first.click()
    expect(page.get_by_label(BOX)).to_be_checked()
    expect(preview).to_contain_text("Not saved yet.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages").first).to_contain_text("Nothing was changed")
    assert list(measure.savings.values_list("pk", "quantity", "unit")) == lines

    page.goto(f"{live_server.url}/measures/?q={measure.reference}")
    expect(page.locator("#measures tbody tr").first).to_contain_text("Increases use of a resource")
    assert outside == [] and console_errors == []
