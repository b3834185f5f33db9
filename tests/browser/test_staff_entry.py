"""A new programme officer works in the browser: logs in, switches to Vietnamese, creates an enterprise, enters an
RECP measure with two savings rows, sees its computed CO2e before saving, moves it to implemented, finds it by an
accent-free search, then enters a symbiosis exchange between two enterprises. Screenshots go to screenshots/."""

import re

import pytest
from playwright.sync_api import expect

from ecopark.demo import load_demo
from ecopark.roles import Role
from tests.browser.conftest import user_with_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def officer(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer.new", "Xanh-la-cay-2024", Role.STAFF)


def test_a_new_officer_enters_measures_in_vietnamese(live_server, page, screenshot, officer, watched):
    from enterprises.models import Enterprise
    from measures.models import Measure, Resource
    from parks.models import Park

    outside, console_errors = watched
    resources = {r.code: str(r.pk) for r in Resource.objects.all()}
    park = Park.objects.get(code="dinh-vu")

    # Log in (the page is in English first: this officer's browser was left in English), then switch to Vietnamese.
    page.goto(live_server.url + "/accounts/login/")
    page.get_by_label("Ngôn ngữ", exact=True).select_option("en")
    page.get_by_role("button", name="Đổi").click()
    page.get_by_label("User name").fill("officer.new")
    page.get_by_label("Password").fill("Xanh-la-cay-2024")
    page.get_by_role("button", name="Log in").click()
    page.get_by_label("Language", exact=True).select_option("vi")
    page.get_by_role("button", name="Switch").click()
    expect(page.locator("h1")).to_have_text("Chương trình khu công nghiệp sinh thái")

    # A new enterprise.
    page.get_by_role("navigation", name="Chính").get_by_role("link", name="Doanh nghiệp").click()
    page.get_by_role("link", name="Doanh nghiệp mới").click()
    page.get_by_label("Khu công nghiệp").select_option(str(park.pk))
    page.get_by_label("Mã tham chiếu").fill("nhua-xanh-dinh-vu")
    page.get_by_label("Tên").fill("Công ty Nhựa Xanh Đình Vũ")
    screenshot("enterprise-form-vi")
    page.get_by_role("button", name="Lưu").click()
    expect(page.locator("h1")).to_have_text("Công ty Nhựa Xanh Đình Vũ")

    # An RECP measure with two savings rows; the CO2e is shown before saving.
    page.get_by_role("link", name="Giải pháp RECP mới").click()
    page.get_by_label("Kỹ thuật").select_option("equipment_modification")
    page.get_by_label("Tiêu đề (tiếng Việt)").fill("Thay đèn LED và biến tần máy ép nhựa")
    rows = page.locator("[data-lines=savings] [data-line]:visible")
    rows.nth(0).get_by_label("Tài nguyên").select_option(resources["electricity"])
    rows.nth(0).get_by_label("Khối lượng mỗi năm").fill("250.000")
    rows.nth(0).get_by_label("Đơn vị").select_option("kWh")
    page.get_by_role("button", name="Thêm mức tiết kiệm").click()
    expect(rows).to_have_count(2)
    rows.nth(1).get_by_label("Tài nguyên").select_option(resources["water"])
    # Only the units of water are offered for water.
    expect(rows.nth(1).locator("select[name$='-unit'] option:not([disabled])")).to_have_text(["m3", "L"])
    rows.nth(1).get_by_label("Khối lượng mỗi năm").fill("1.200")
    rows.nth(1).get_by_label("Đơn vị").select_option("m3")
    preview = page.locator('[data-preview="co2e_t"]')
    expect(preview).to_have_text(re.compile(r"^\d[\d.]*(,\d+)?$"))
    shown_co2e = preview.inner_text()
    screenshot("measure-form-vi")
    page.get_by_role("button", name="Lưu").click()

    measure = Measure.objects.get(title_vi="Thay đèn LED và biến tần máy ép nhựa")
    assert measure.enterprise == Enterprise.objects.get(code="nhua-xanh-dinh-vu")
    assert measure.savings.count() == 2
    expect(page.locator('[data-figure="co2e_t"]')).to_have_text(shown_co2e)
    expect(page.locator("#trail tbody tr")).to_have_count(1)
    screenshot("measure-detail-vi")

    # Through the lifecycle to implemented.
    for step in ("Đề xuất", "Chấp nhận", "Đánh dấu đã thực hiện"):
        page.get_by_role("navigation", name="Các bước trạng thái").get_by_role("link", name=step).click()
        if step == "Đánh dấu đã thực hiện":
            screenshot("measure-status-vi")
        page.get_by_role("button", name="Xác nhận").click()
    expect(page.locator("[data-status]")).to_have_attribute("data-status", "implemented")
    expect(page.locator("#status-history tbody tr")).to_have_count(4)

    # Found in the list without accents.
    page.get_by_role("navigation", name="Chính").get_by_role("link", name="Giải pháp").click()
    page.get_by_label("Tìm kiếm").fill("thay den led may ep nhua")
    page.get_by_role("button", name="Áp dụng").click()
    expect(page.locator("#measures tbody tr")).to_have_count(1)
    expect(page.locator("#measures tbody tr")).to_contain_text(measure.reference)
    screenshot("measure-list-vi")

    # A symbiosis exchange between two enterprises, entered the same way.
    a, b = Enterprise.objects.filter(park=park).exclude(code="nhua-xanh-dinh-vu").order_by("pk")[:2]
    page.get_by_role("link", name="Trao đổi cộng sinh mới").click()
    page.get_by_label("Khu công nghiệp").select_option(str(park.pk))
    page.get_by_label("Loại trao đổi").select_option("byproduct")
    page.get_by_label("Bên cung cấp").select_option(f"enterprise:{a.pk}")
    page.get_by_label("Bên tiếp nhận").select_option(f"enterprise:{b.pk}")
    page.get_by_label("Tiêu đề (tiếng Việt)").fill("Tro bay làm gạch không nung")
    flows = page.locator("[data-lines=flows] [data-line]:visible")
    flows.nth(0).get_by_label("Tài nguyên").select_option(resources["fly-ash-slag"])
    flows.nth(0).get_by_label("Khối lượng mỗi năm").fill("3.500")
    flows.nth(0).get_by_label("Đơn vị").select_option("t")
    savings = page.locator("[data-lines=savings] [data-line]:visible")
    savings.nth(0).get_by_label("Tài nguyên").select_option(resources["electricity"])
    savings.nth(0).get_by_label("Khối lượng mỗi năm").fill("40.000")
    expect(page.locator('[data-preview="co2e_t"]')).to_have_text(re.compile(r"^\d"))
    screenshot("exchange-form-vi")
    page.get_by_role("button", name="Lưu").click()
    exchange = Measure.objects.get(title_vi="Tro bay làm gạch không nung")
    assert (exchange.source_enterprise, exchange.sink_enterprise) == (a, b)
    expect(page.locator("#flows tbody tr")).to_have_count(1)
    screenshot("exchange-detail-vi")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + f"/measures/{measure.pk}/edit/")
    screenshot("measure-form-phone-vi")
    assert outside == []
    assert console_errors == []
