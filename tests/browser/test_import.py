"""A programme officer imports an assessment's options: downloads the template, fills it in, uploads it, reads the
preview, confirms, and watches the progress bar reach the end. With REDIS_URL set, a real Celery worker (consuming
from Redis) checks and writes the file; otherwise the tasks run in-process. Screenshots go to screenshots/."""

import contextlib

import pytest
from django.conf import settings as django_settings
from openpyxl import load_workbook
from playwright.sync_api import expect

from ecopark.demo import load_demo
from ecopark.roles import Role
from measures.importer import MEASURE_COLUMNS
from tests.browser.conftest import log_in_english, user_with_role

pytestmark = pytest.mark.django_db(transaction=True)
ROWS = 60


@pytest.fixture
def officer(reference_data):
    load_demo(with_users=False)
    return user_with_role("officer.import", "Nhap-bang-tinh-2024", Role.STAFF)


def worker():
    """A real worker when a broker is configured; nothing to start when tasks run in-process."""
    if not django_settings.REDIS_URL:
        return contextlib.nullcontext()
    from celery.contrib.testing.worker import start_worker

    from ecopark.celery import app

    # Tasks that earlier tests queued with no worker running (their data is gone with their transactions) would
    # otherwise come first and hold this test's import back.
    app.control.purge()
    return start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30)


def test_an_officer_imports_a_filled_template_and_watches_it_through(
    live_server, page, screenshot, officer, watched, settings, tmp_path
):
    from measures.models import ImportJob, Measure

    settings.IMPORT_SYNC_MAX_ROWS = 20  # this file goes through the tasks, with the progress bar
    outside, console_errors = watched
    log_in_english(page, live_server, "officer.import", "Nhap-bang-tinh-2024")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Measures").click()
    page.get_by_role("link", name="Import from a spreadsheet").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Template (XLSX)").click()
    template = tmp_path / download.value.suggested_filename
    download.value.save_as(template)
    assert template.name == "ecopark-import-template.xlsx"

    # Fill the template as an officer would, from an assessment of one enterprise's options.
    book = load_workbook(template)
    sheet = book["Measures"]
    headers = [cell.value for cell in sheet[1]]
    assert headers == [c.en for c in MEASURE_COLUMNS]
    for n in range(ROWS):
        values = {
            "Measure reference": f"dv-assessment-{n:03d}",
            "Kind": "RECP",
            "Enterprise code": "demo-01",
            "RECP technique": "Equipment modification",
            "Title (English)": f"Option {n}: variable speed drive on pump {n}",
            "Identified on": "12/09/2023",
            "Year of the estimate": 2023,
            "Saving 1: resource": "Electricity",
            "Saving 1: quantity per year": 10_000 + n,
            "Saving 1: unit": "kWh",
        }
        sheet.append([values.get(h) for h in headers])
    filled = tmp_path / "assessment-demo-01.xlsx"
    book.save(filled)

    with worker():
        page.get_by_label("Spreadsheet (XLSX or CSV)").set_input_files(str(filled))
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("assessment-demo-01.xlsx")
        # The check runs as a task: the progress bar polls until the preview replaces it.
        expect(page.locator("#import-counts")).to_be_visible(timeout=60_000)
        expect(page.locator("h1 .import-state")).to_have_text("Ready to import")
        counts = page.locator("#import-counts tbody tr").first
        expect(counts).to_contain_text(str(ROWS))
        expect(page.locator("#import-plan-measures tbody tr")).to_have_count(ROWS)
        assert Measure.objects.filter(reference__startswith="dv-assessment-").count() == 0  # nothing written yet
        screenshot("import-preview-en")

        page.get_by_role("button", name="Import these rows").click()
        expect(page.locator("h1 .import-state")).to_have_text("Imported", timeout=60_000)
    bar = page.locator(".notice.success progress")
    expect(bar).to_have_attribute("value", "1")
    expect(bar).to_have_attribute("max", "1")
    expect(page.locator(".notice.success")).to_contain_text("every row was written")
    screenshot("import-done-en")
    assert Measure.objects.filter(reference__startswith="dv-assessment-").count() == ROWS
    job = ImportJob.objects.get(original_name="assessment-demo-01.xlsx")
    assert job.state == ImportJob.State.DONE and job.uploaded_by == officer

    # The import log lists it.
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.locator("#imports")).to_contain_text("assessment-demo-01.xlsx")
    assert outside == [] and console_errors == []
