"""A park manager opens the dashboards level by level (programme, province, park, enterprise): the tiles are there,
every chart is drawn (a canvas with content), nothing is asked of anything but the app, and screenshots are saved."""

import pytest
from playwright.sync_api import expect

from ecopark.demo import load_demo
from tests.browser.conftest import log_in_english

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def manager(reference_data):
    load_demo(with_users=True)


# Whether a canvas has any pixel that is not fully transparent.
PAINTED = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < data.length; i += 4) { if (data[i] !== 0) return true; }
  return false;
}"""


def charts_drawn(page) -> None:
    """Every chart on the page has a canvas whose pixels are not all blank."""
    expect(page.locator("#dashboard")).to_have_attribute("data-ready", "true", timeout=20_000)
    charts = page.locator("[data-chart]")
    assert charts.count() >= 3
    for i in range(charts.count()):
        chart = charts.nth(i)
        expect(chart.locator("canvas")).to_have_count(1)
        painted = chart.locator("canvas").evaluate(PAINTED)
        assert painted, chart.get_attribute("data-chart")


def test_a_park_manager_opens_each_dashboard_level(live_server, page, screenshot, manager, watched):
    outside, console_errors = watched
    log_in_english(page, live_server, "manager.deepc", "ecopark-demo-manager")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboards").click()
    expect(page.locator("h1")).to_contain_text("Programme")
    expect(page.locator("[data-tile=co2e_t] dd").first).to_have_text("87,000.0")  # the seed's headline
    charts_drawn(page)
    screenshot("dashboard-programme-en")

    page.locator(".child-links").get_by_role("link", name="Hai Phong").click()
    expect(page.locator("h1")).to_contain_text("Hai Phong")
    charts_drawn(page)
    screenshot("dashboard-province-en")

    page.locator(".child-links").get_by_role("link").first.click()
    expect(page.locator("h1")).to_contain_text("DEEP C")
    charts_drawn(page)
    expect(page.locator("[data-chart=flows] canvas")).to_have_count(1)  # the park's symbiosis flows
    screenshot("dashboard-park-en")

    page.locator(".child-links").get_by_role("link").first.click()
    expect(page.locator("h1 small.level")).to_have_text("Enterprise dashboard")
    charts_drawn(page)
    screenshot("dashboard-enterprise-en")

    page.emulate_media(media="print")
    screenshot("dashboard-enterprise-print")
    assert outside == [] and console_errors == []
