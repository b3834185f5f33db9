"""A partner reads the API's interactive documentation in the browser: served by the app, nothing from outside."""

import pytest

from ecopark.roles import Role
from tests.browser.conftest import user_with_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(reference_data):
    return user_with_role("reader", "Tai-lieu-api-2024", Role.PARTNER)


def test_the_api_docs_render_offline(live_server, page, screenshot, reader, watched):
    outside, console_errors = watched

    page.goto(live_server.url + "/api/v1/docs/")
    page.get_by_label("Tên đăng nhập").fill("reader")
    page.get_by_label("Mật khẩu").fill("Tai-lieu-api-2024")
    page.get_by_role("button", name="Đăng nhập").click()
    page.wait_for_selector(".swagger-ui .opblock-tag")
    tags = page.locator(".swagger-ui .opblock-tag").all_inner_texts()
    assert any("measures" in tag for tag in tags) and any("rollups" in tag for tag in tags)
    assert page.locator(".swagger-ui .opblock").count() >= 20
    screenshot("api-docs")
    assert outside == []
    assert console_errors == []
