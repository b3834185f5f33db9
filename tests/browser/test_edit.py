"""A programme officer corrects measures in the browser: changing only a title keeps every saving and flow; saving
again unchanged keeps everything; the same officer with the measure open in two windows saves different fields in
each, and both changes are kept. Screenshots go to screenshots/."""

import pytest
from playwright.sync_api import expect

from ecopark.demo import load_demo
from ecopark.roles import Role
from tests.browser.conftest import log_in_english, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def officer(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer.edit", "Sua-giai-phap-2024", Role.STAFF)


def _lines(measure_id: int) -> tuple[list, list]:
    from measures.models import MeasureSaving, ResourceFlow

    savings = list(MeasureSaving.objects.filter(measure_id=measure_id).order_by("pk").values())
    flows = list(ResourceFlow.objects.filter(measure_id=measure_id).order_by("pk").values())
    return savings, flows


def _figures(measure_id: int) -> tuple:
    from measures.models import Measure

    m = Measure.objects.get(pk=measure_id)
    return m.co2e_t, m.electricity_kwh, m.water_m3, m.cost_usd, m.co2e_verified_t


def test_changing_only_the_title_keeps_every_line_and_figure(live_server, page, screenshot, officer, watched):
    from measures.models import Measure

    outside, console_errors = watched
    recp = (
        Measure.objects.filter(kind="recp", status="verified", savings__verified_quantity__isnull=False)
        .distinct()
        .order_by("pk")
        .first()
    )
    exchange = Measure.objects.filter(kind="is", flows__isnull=False).distinct().order_by("pk").first()
    log_in_english(page, live_server, "officer.edit", "Sua-giai-phap-2024")

    for measure in (recp, exchange):
        lines, figures = _lines(measure.pk), _figures(measure.pk)
        assert lines[0] or lines[1]
        page.goto(f"{live_server.url}/measures/{measure.pk}/")
        page.get_by_role("link", name="Edit").first.click()
        page.get_by_label("Title (English)").fill(f"Corrected title of {measure.reference}")
        screenshot(f"edit-{measure.kind}-title")
        _save(page)
        expect(page.locator(".messages, [role=status]").first).to_contain_text("saved")
        assert _lines(measure.pk) == lines and _figures(measure.pk) == figures
        measure.refresh_from_db()
        assert measure.title_en == f"Corrected title of {measure.reference}"

        # Opened again and saved as it is: nothing changes, and the page says so.
        version = measure.version
        page.get_by_role("link", name="Edit").first.click()
        _save(page)
        expect(page.locator(".messages, [role=status]").first).to_contain_text("Nothing was changed")
        measure.refresh_from_db()
        assert measure.version == version and _lines(measure.pk) == lines and _figures(measure.pk) == figures
    screenshot("edit-saved-unchanged")
    assert outside == [] and console_errors == []


def test_one_officer_in_two_windows_saves_different_fields_and_both_are_kept(live_server, browser, officer):
    from measures.models import Measure

    measure = Measure.objects.filter(kind="is", flows__isnull=False).distinct().order_by("pk").first()
    lines = _lines(measure.pk)
    windows = []
    for _ in range(2):
        context = browser.new_context()
        window = context.new_page()
        log_in_english(window, live_server, "officer.edit", "Sua-giai-phap-2024")
        window.goto(f"{live_server.url}/measures/{measure.pk}/edit/")
        windows.append(window)
    first, second = windows

    first.get_by_label("Title (English)").fill("Title from the first window")
    _save(first)
    expect(first.locator(".messages").first).to_contain_text("saved")

    second.get_by_label("Description (Vietnamese)").fill("Mô tả từ cửa sổ thứ hai")
    _save(second)
    conflict = second.locator("#conflict")
    expect(conflict).to_contain_text("Title from the first window")  # what the first window saved
    expect(second.get_by_label("Title (English)")).to_have_value("Title from the first window")
    expect(second.get_by_label("Description (Vietnamese)")).to_have_value("Mô tả từ cửa sổ thứ hai")
    second.screenshot(path=_shot("edit-two-windows-conflict"), full_page=True)
    _save(second)
    expect(second.locator(".messages, [role=status]").first).to_contain_text("saved")

    measure.refresh_from_db()
    assert measure.title_en == "Title from the first window"
    assert measure.description_vi == "Mô tả từ cửa sổ thứ hai"
    assert _lines(measure.pk) == lines
    for window in windows:
        window.context.close()


def _save(page) -> None:
    """Save as a person does: once the figures preview has appeared. It loads with the page and pushes the Save button
    down when it arrives; a click at that moment lands beside the button (seen on a slow CI machine)."""
    expect(page.locator("#figures-preview")).to_contain_text("Not saved yet.")
    page.get_by_role("button", name="Save").click()


def _shot(name: str) -> str:
    from tests.browser.conftest import SCREENSHOTS

    SCREENSHOTS.mkdir(exist_ok=True)
    return str(SCREENSHOTS / f"{name}.png")
