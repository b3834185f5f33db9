"""A programme officer logs in, sees the programme in Vietnamese, switches to English; the page asks nothing of the
internet."""

import pytest

from ecopark.demo import load_demo
from ecopark.roles import Role
from tests.browser.conftest import user_with_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def programme(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer", "Xanh-la-cay-2024", Role.STAFF)


def test_log_in_read_the_programme_and_switch_language(live_server, page, screenshot, programme, watched):
    outside, console_errors = watched

    page.goto(live_server.url + "/")
    assert page.locator("h1").inner_text() == "Đăng nhập"
    screenshot("login-vi")
    page.get_by_label("Tên đăng nhập").fill("officer")
    page.get_by_label("Mật khẩu").fill("Xanh-la-cay-2024")
    page.get_by_role("button", name="Đăng nhập").click()

    assert page.locator("h1").inner_text() == "Chương trình khu công nghiệp sinh thái"
    assert page.locator('[data-figure="electricity_kwh"]').inner_text() == "4.400.000"
    assert page.locator('[data-figure="co2e_t"]').inner_text() == "87.000"
    assert page.get_by_role("row", name="KCN Đình Vũ").count() == 1
    screenshot("home-vi")

    page.get_by_label("Ngôn ngữ", exact=True).select_option("en")
    page.get_by_role("button", name="Đổi").click()
    assert page.locator("h1").inner_text() == "Eco-industrial parks programme"
    assert page.locator('[data-figure="electricity_kwh"]').inner_text() == "4,400,000"
    screenshot("home-en")

    page.set_viewport_size({"width": 390, "height": 844})
    screenshot("home-en-phone")
    assert outside == []
    assert console_errors == []
