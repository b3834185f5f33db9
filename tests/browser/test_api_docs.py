"""A partner reads the API's interactive documentation in the browser: served by the app, nothing from outside."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from ecopark.roles import Role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reader(reference_data):
    user = get_user_model().objects.create_user("reader", password="Tai-lieu-api-2024")
    user.groups.add(Group.objects.get(name=Role.PARTNER.value))
    return user


def test_the_api_docs_render_offline(live_server, page, screenshot, reader):
    outside, console_errors = [], []
    page.on("request", lambda r: None if r.url.startswith(live_server.url) else outside.append(r.url))
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)  # CSP reports here

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
