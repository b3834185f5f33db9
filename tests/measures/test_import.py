"""Importing enterprises and measures from spreadsheets: template, preview, row-and-column errors, all or nothing,
idempotence, the readings of numbers and dates, and large files through a task."""

import io
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from openpyxl import load_workbook

from ecopark.models import AuditEntry
from ecopark.spreadsheet import read_workbook
from ecopark.uploads import CSV, XLSX
from enterprises.models import Enterprise
from measures.importer import MEASURE_COLUMNS, Importer
from measures.models import ImportJob, Measure, MeasureSaving, StatusChange
from reports.models import RollupPending
from tests.measures.import_files import csv_file, filled_template, recp_row, upload, with_cached_formula

pytestmark = pytest.mark.django_db

IMPORT = reverse("measures:import")
NEW_ENTERPRISE = {"code": "nhua-moi", "park": "dinh-vu", "name": "Công ty Nhựa Mới", "size": "Vừa",
                  "joined_programme": "có", "partner_consent": "không"}  # fmt: skip
EXCHANGE = {
    "reference": "imp-is-1", "kind": "Trao đổi cộng sinh", "park": "dinh-vu", "exchange_type": "byproduct",
    "source": "nhua-moi", "sink": "Nhà máy xử lý nước thải minh họa Hải Phòng", "title_en": "Sludge to the plant",
    "identified_on": "2023-05-02", "estimate_year": 2023,
    "flow_1_resource": "water", "flow_1_quantity": 2000, "flow_1_unit": "m3",
}  # fmt: skip


def register_state():
    """What an import may touch, to show that a refused one touched nothing."""
    return (
        Enterprise.objects.count(),
        Measure.objects.count(),
        MeasureSaving.objects.count(),
        StatusChange.objects.count(),
        AuditEntry.objects.count(),
        RollupPending.objects.count(),
    )


def english(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client


def post_file(client, content: bytes, name: str = "import.xlsx"):
    return client.post(IMPORT, {"file": upload(content, name)})


def job_of(response) -> ImportJob:
    assert response.status_code == 302, response.content.decode()[:2000]
    return ImportJob.objects.get(pk=int(response["Location"].rstrip("/").split("/")[-1]))


def test_the_template_comes_in_the_users_language_with_instructions_and_lists(staff_client):
    response = staff_client.get(reverse("measures:import_template", args=["xlsx"]))
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Hướng dẫn", "Doanh nghiệp", "Giải pháp", "Danh mục"]
    assert book["Giải pháp"]["A1"].value == "Mã giải pháp"
    assert [c.value for c in book["Giải pháp"][1]] == [c.vi for c in MEASURE_COLUMNS]
    lists = [c.value for row in book["Danh mục"].iter_rows() for c in row if c.value]
    assert "dinh-vu" in lists and "good_housekeeping" in lists and "Quản lý nội vi tốt" in lists
    assert book["Giải pháp"].max_row == 1  # no example row that would be imported by mistake

    english_client = english(staff_client)
    in_english = english_client.get(reverse("measures:import_template", args=["csv"]) + "?table=enterprises")
    assert in_english.content.startswith("\ufeff".encode())
    assert in_english.content.decode("utf-8-sig").splitlines()[0].startswith("Enterprise code,Park code,")


def test_a_filled_template_is_previewed_then_imported_in_one_go_and_again_changes_nothing(staff_client, staff_user):
    content = filled_template(
        staff_user,
        enterprises=[NEW_ENTERPRISE],
        measures=[recp_row("imp-recp-1", "nhua-moi"), recp_row("imp-recp-2", "demo-01", title_vi="<b>Đèn</b> LED"),
                  EXCHANGE],
    )  # fmt: skip
    before = register_state()
    job = job_of(post_file(staff_client, content))
    assert job.state == ImportJob.State.READY, job.errors
    assert job.counts == {
        "enterprises": {"create": 1, "update": 0, "unchanged": 0},
        "measures": {"create": 3, "update": 0, "unchanged": 0},
    }
    assert register_state() == before  # the preview wrote nothing
    page = staff_client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
    assert "imp-recp-2" in page and "&lt;b&gt;Đèn&lt;/b&gt; LED" in page
    assert "Nhập các dòng này" in page

    response = staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert response.status_code == 302 and job.state == ImportJob.State.DONE
    enterprise = Enterprise.objects.get(code="nhua-moi")
    assert enterprise.size == "medium" and enterprise.joined_programme and not enterprise.partner_consent
    measure = Measure.objects.get(reference="imp-recp-1")
    assert measure.enterprise == enterprise and measure.park.code == "dinh-vu"
    assert measure.electricity_kwh == Decimal("120000") and measure.water_m3 == Decimal("1500")
    assert measure.co2e_t > 0 and measure.co2e_trail.count() == 1
    assert Measure.objects.get(reference="imp-recp-2").title_vi == "<b>Đèn</b> LED"  # stored as text
    exchange = Measure.objects.get(reference="imp-is-1")
    assert exchange.source_enterprise == enterprise and exchange.sink_organisation.name_en.startswith("Demo waste")
    assert exchange.flows.get().quantity == 2000

    # One audit entry per row written, with the actor and the channel.
    entries = AuditEntry.objects.filter(channel="import")
    assert entries.filter(content_type__model="measure").count() == 3
    assert entries.filter(content_type__model="enterprise").count() == 1
    assert entries.filter(content_type__model="measuresaving").count() == 4
    assert set(entries.values_list("actor", flat=True)) == {staff_user.pk}

    # The same file again: every row unchanged, nothing written.
    state = register_state()
    again = job_of(post_file(staff_client, content))
    assert again.counts["measures"] == {"create": 0, "update": 0, "unchanged": 3}
    assert again.counts["enterprises"] == {"create": 0, "update": 0, "unchanged": 1}
    staff_client.post(reverse("measures:import_confirm", args=[again.pk]))
    assert register_state() == state


def test_a_corrected_file_updates_only_the_rows_it_changed(staff_client, staff_user):
    english(staff_client)
    rows = [recp_row("imp-fix-1", "demo-01"), recp_row("imp-fix-2", "demo-04")]
    first = job_of(post_file(staff_client, filled_template(staff_user, measures=rows)))
    staff_client.post(reverse("measures:import_confirm", args=[first.pk]))
    untouched = Measure.objects.get(reference="imp-fix-2")

    rows[0] = {**rows[0], "saving_1_quantity": 150000, "status": "implemented", "implemented_on": "01/06/2024"}
    job = job_of(post_file(staff_client, filled_template(staff_user, measures=rows)))
    assert job.counts["measures"] == {"create": 0, "update": 1, "unchanged": 1}, job.errors
    changed = next(p for p in job.plan if p["reference"] == "imp-fix-1")
    assert "savings" in changed["fields"] and "status" in changed["fields"]
    staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    measure = Measure.objects.get(reference="imp-fix-1")
    assert measure.electricity_kwh == Decimal("150000") and measure.status == "implemented"
    assert list(measure.status_changes.values_list("to_status", flat=True)) == [
        "identified", "proposed", "accepted", "implemented"
    ]  # fmt: skip
    assert Measure.objects.get(reference="imp-fix-2").version == untouched.version


def row_error(job: ImportJob) -> list[tuple]:
    return [(e["row"], e["column"].split(" · ")[-1], e["message"]) for e in job.errors]


BAD_CELLS = [
    ({"enterprise": "khong-co"}, "Mã doanh nghiệp", "không có doanh nghiệp"),
    ({"kind": "IS", "enterprise": None, "technique": None, "park": "khong-co", "exchange_type": "byproduct",
      "source": "demo-01", "sink": "demo-04"}, "Mã KCN", "không có khu công nghiệp"),
    ({"saving_1_unit": "m3"}, "Tiết kiệm 1: đơn vị", "m3"),
    ({"saving_2_quantity": -5}, "Tiết kiệm 1: lượng mỗi năm", "âm"),
    ({"identified_on": "31/02/2023"}, "Ngày xác định", "31/02/2023"),
    ({"saving_1_quantity": "nhiều"}, "Tiết kiệm 1: lượng mỗi năm", "không phải là số"),
    ({"technique": "magic"}, "Kỹ thuật RECP", "magic"),
]  # fmt: skip


@pytest.mark.parametrize(("change", "column", "words"), BAD_CELLS)
def test_a_bad_cell_is_named_by_row_and_column_and_nothing_is_written(staff_client, staff_user, change, column, words):
    good = recp_row("imp-ok", "demo-01")
    bad = {**recp_row("imp-bad", "demo-04"), **change}
    before = register_state()
    content = filled_template(staff_user, measures=[good, bad])
    job = job_of(staff_client.post(IMPORT, {"file": upload(content)}))
    assert job.state == ImportJob.State.INVALID
    errors = row_error(job)
    assert len(errors) == 1, errors
    row, where, message = errors[0]
    assert (row, where) == (3, column)
    assert words.lower() in message.lower(), message
    assert register_state() == before
    page = staff_client.get(reverse("measures:import_job", args=[job.pk])).content.decode()
    assert "Import these rows" not in page and "Nhập các dòng này" not in page


def test_a_duplicate_reference_inside_the_file_names_both_rows(staff_client, staff_user):
    english(staff_client)
    rows = [recp_row("imp-twice", "demo-01"), recp_row("imp-other", "demo-04"), recp_row("imp-twice", "demo-07")]
    job = job_of(staff_client.post(IMPORT, {"file": upload(filled_template(staff_user, measures=rows))}))  # fmt: skip
    assert row_error(job) == [(4, "Mã giải pháp", "“imp-twice” is already on row 2 of this file.")]
    assert not Measure.objects.filter(reference__startswith="imp-").exists()


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"%PDF-1.4 a report", "measures.xlsx", "not one of the accepted types"),
        (b"PK\x03\x04 broken zip", "measures.xlsx", "not one of the accepted types"),
        (b"", "measures.csv", "file is empty"),
        (csv_file([["Measure reference", "Kind", "Identified on", "Year of the estimate"]]), "m.csv",
         "has headers but no rows"),
        (csv_file([["a", "b"], ["1", "2"]]), "m.csv", "No table of the template was found"),
        ("Mã giải pháp;Loại\nimp-x;RECP\n".encode("latin-1", "replace"), "m.csv", "not in UTF-8"),
    ],
)  # fmt: skip
def test_files_that_cannot_be_imported_are_refused_with_a_message(staff_client, content, name, message):
    english(staff_client)
    before = register_state()
    response = staff_client.post(IMPORT, {"file": upload(content, name)})
    if response.status_code == 302:
        job = job_of(response)
        assert job.state == ImportJob.State.INVALID
        text = " ".join(e["message"] for e in job.errors)
    else:
        text = response.content.decode()
    assert message in text
    assert register_state() == before


def test_a_corrupt_xlsx_is_refused(staff_client, staff_user):
    english(staff_client)
    content = filled_template(staff_user, measures=[recp_row("imp-c", "demo-01")])
    broken = content[: len(content) // 2] + b"\x00" * 100 + content[len(content) // 2 :]
    response = staff_client.post(IMPORT, {"file": upload(broken)})
    assert response.status_code == 200
    assert "not one of the accepted types" in response.content.decode() or "could not be read" in (
        response.content.decode()
    )
    assert not ImportJob.objects.exists()


def test_a_50_mb_file_is_refused_by_its_size_before_it_is_read(staff_client, monkeypatch):
    import measures.import_jobs

    def never(*args, **kwargs):
        raise AssertionError("a file over the limit must not be parsed")

    monkeypatch.setattr(measures.import_jobs, "read_workbook", never)
    english(staff_client)
    big = b"Measure reference,Kind\n" + b"x" * (50 * 1024 * 1024)
    response = staff_client.post(IMPORT, {"file": upload(big, "big.csv")})
    assert response.status_code == 200
    text = response.content.decode()
    assert "The file is 50.0" in text and "the largest accepted is 20.0" in text
    assert not ImportJob.objects.exists()


def run(user, content: bytes, kind=CSV, name="m.csv", language="en", commit=False):
    upload_file = upload(content, name)
    return Importer(user, language=language).run(read_workbook(upload_file, kind), commit=commit)


HEADERS_EN = ["Measure reference", "Kind", "Enterprise code", "RECP technique", "Title (English)", "Identified on",
              "Year of the estimate", "Annual cost saving", "Cost saving currency", "Saving 1: resource",
              "Saving 1: quantity per year", "Saving 1: unit"]  # fmt: skip


def test_csv_with_semicolons_and_vietnamese_numbers(staff_user):
    rows = [HEADERS_EN, ["imp-sc", "recp", "demo-01", "process_control", "Heat recovery", "2023-04-01", "2023",
                         "1.234.567,5", "VND", "electricity", "12.500,25", "kWh"]]  # fmt: skip
    outcome = run(staff_user, csv_file(rows, delimiter=";", bom=False), commit=True)
    assert outcome.ok, outcome.errors
    assert "Vietnamese form (1.234,5)" in outcome.notes[0] and "semicolons" in outcome.notes[1]
    measure = Measure.objects.get(reference="imp-sc")
    assert measure.annual_cost_saving == Decimal("1234567.5") and measure.electricity_kwh == Decimal("12500.25")


def test_csv_with_commas_and_english_numbers(staff_user):
    rows = [HEADERS_EN, ["imp-en", "recp", "demo-01", "process_control", "Heat recovery", "01/04/2023", "2023",
                         '"1,234.5"', "USD", "electricity", "0.75", "MWh"]]  # fmt: skip
    outcome = run(staff_user, csv_file(rows), commit=True)
    assert outcome.ok, outcome.errors
    assert "English form (1,234.5)" in outcome.notes[0]
    assert Measure.objects.get(reference="imp-en").electricity_kwh == Decimal("750")


def test_a_file_mixing_number_forms_is_refused(staff_user):
    rows = [HEADERS_EN, ["imp-mix", "recp", "demo-01", "process_control", "A", "2023-04-01", "2023", "1.234,5",
                         "VND", "electricity", "1,234.5", "kWh"]]  # fmt: skip
    outcome = run(staff_user, csv_file(rows, delimiter=";"))
    assert not outcome.ok and "mixes number forms" in outcome.errors[0].message


def test_merged_cells_formulas_blank_rows_and_spaces_are_read_as_a_person_means(staff_user):
    from openpyxl.utils import get_column_letter

    keys = [c.key for c in MEASURE_COLUMNS]
    enterprise = get_column_letter(keys.index("enterprise") + 1)
    quantity = get_column_letter(keys.index("saving_1_quantity") + 1)
    rows = [recp_row("imp-m1", "demo-01"), recp_row("imp-m2", None), recp_row("imp-m3", "demo-04")]
    book = load_workbook(io.BytesIO(filled_template(staff_user, measures=rows)))
    sheet = book.worksheets[2]
    sheet.merge_cells(f"{enterprise}2:{enterprise}3")  # one enterprise cell for the first two measures
    sheet.insert_rows(4)  # a blank row before the third
    sheet["A2"] = "  imp-m1  "  # spaces around the reference
    buffer = io.BytesIO()
    book.save(buffer)
    content = with_cached_formula(buffer.getvalue(), f"{quantity}3", f"{quantity}2*2", "240000")
    outcome = run(staff_user, content, kind=XLSX, name="m.xlsx", language="vi", commit=True)
    assert outcome.ok, outcome.errors
    assert outcome.counts["measures"]["create"] == 3
    second = Measure.objects.get(reference="imp-m2")
    assert second.enterprise.code == "demo-01"
    assert second.electricity_kwh == Decimal("240000")  # the formula's value as the spreadsheet last computed it
    assert Measure.objects.filter(reference="imp-m1").exists()
    assert Measure.objects.get(reference="imp-m3").enterprise.code == "demo-04"


def test_english_headers_are_accepted_in_a_vietnamese_session(staff_user):
    content = filled_template(staff_user, measures=[recp_row("imp-lang", "demo-01")], language="en")
    outcome = run(staff_user, content, kind=XLSX, name="m.xlsx", language="vi")
    assert outcome.ok and outcome.counts["measures"]["create"] == 1


def test_an_enterprise_with_only_its_required_cells_is_imported(staff_user):
    bare = {"code": "imp-bare", "park": "dinh-vu", "name": "Công ty Tối Giản"}
    content = filled_template(staff_user, enterprises=[bare])
    outcome = run(staff_user, content, kind=XLSX, name="e.xlsx", commit=True)
    assert outcome.ok, outcome.errors
    enterprise = Enterprise.objects.get(code="imp-bare")
    assert (enterprise.size, enterprise.sector_code, enterprise.partner_consent) == ("", "", False)


def test_a_park_manager_imports_only_into_their_parks(client, manager_user, settings):
    settings.PARK_MANAGERS_MAY_EDIT = True
    client.force_login(manager_user)
    english(client)
    content = filled_template(
        manager_user,
        enterprises=[NEW_ENTERPRISE],
        measures=[recp_row("imp-mine", "demo-01"), recp_row("imp-theirs", "demo-02")],
    )
    job = job_of(client.post(IMPORT, {"file": upload(content)}))
    messages = row_error(job)
    assert (2, "", "Only programme staff add or change enterprises.") in messages
    assert (3, "Mã doanh nghiệp", "No enterprise you may change has the code “demo-02”.") in messages
    assert len(messages) == 2


def test_a_failure_in_the_last_row_of_a_large_file_leaves_the_database_as_it_was(staff_user):
    enterprises = [{**NEW_ENTERPRISE, "code": f"imp-e-{i}", "name": f"Công ty {i}"} for i in range(200)]
    measures = [recp_row(f"imp-big-{i}", f"imp-e-{i % 200}") for i in range(399)]
    measures.append(recp_row("imp-big-last", "demo-01", saving_1_quantity=10**15))  # beyond any plausible value
    before = register_state()
    content = filled_template(staff_user, enterprises=enterprises, measures=measures)
    outcome = run(staff_user, content, kind=XLSX, name="big.xlsx", commit=True)
    assert [(e.row, e.column.split(" · ")[-1]) for e in outcome.errors] == [(401, "Tiết kiệm 1: lượng mỗi năm")]
    assert "beyond any plausible value" in outcome.errors[0].message
    assert register_state() == before  # the 200 enterprises and 399 measures before it are not kept either


def test_a_large_file_goes_through_a_task_with_progress(
    staff_client, staff_user, settings, eager_tasks, django_capture_on_commit_callbacks
):
    settings.IMPORT_SYNC_MAX_ROWS = 5
    rows = [recp_row(f"imp-task-{i}", "demo-01") for i in range(12)]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        job = job_of(post_file(staff_client, filled_template(staff_user, measures=rows)))
    assert job.row_count == 12 and job.state == ImportJob.State.VALIDATING  # the task is queued after the commit
    for callback in queued:
        callback()
    job.refresh_from_db()
    assert job.state == ImportJob.State.READY
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.committed_at
    assert Measure.objects.filter(reference__startswith="imp-task-").count() == 12
    progress = staff_client.get(reverse("measures:import_progress", args=[job.pk]))
    assert progress["HX-Refresh"] == "true"  # finished: the page reloads to show the result


def test_the_progress_bar_shows_how_far_a_running_job_is(staff_client, staff_user):
    english(staff_client)
    from django.core.cache import cache

    from measures.import_jobs import progress_key

    job = ImportJob.objects.create(uploaded_by=staff_user, original_name="a.xlsx", file_type="xlsx", size=1,
                                   language="en", state=ImportJob.State.COMMITTING, row_count=400)  # fmt: skip
    cache.set(progress_key(job.pk), {"stage": "measures", "done": 200, "total": 400})
    response = staff_client.get(reverse("measures:import_progress", args=[job.pk]))
    html = response.content.decode()
    assert 'max="400" value="200"' in html and "200 of 400" in html and 'hx-trigger="every 1s"' in html
    assert "HX-Refresh" not in response


def test_a_register_changed_between_preview_and_import_writes_nothing(staff_client, staff_user):
    english(staff_client)
    from tests.factories import EnterpriseFactory

    gone = EnterpriseFactory(park=Enterprise.objects.get(code="demo-01").park, code="imp-soon-gone")
    rows = [recp_row("imp-race-1", "demo-01"), recp_row("imp-race-2", "imp-soon-gone")]
    job = job_of(staff_client.post(IMPORT, {"file": upload(filled_template(staff_user, measures=rows))}))  # fmt: skip
    assert job.state == ImportJob.State.READY
    gone.delete()  # someone removes the enterprise before the import is confirmed
    before = register_state()
    staff_client.post(reverse("measures:import_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED and job.committed_at is None
    assert row_error(job) == [(3, "Mã doanh nghiệp", "No enterprise you may change has the code “imp-soon-gone”.")]
    assert register_state() == before
    page = staff_client.get(reverse("measures:import_job", args=[job.pk]))
    assert "nothing was written" in page.content.decode()


def test_other_users_imports_are_not_found(client, staff_user, manager_user, settings):
    settings.PARK_MANAGERS_MAY_EDIT = True
    job = ImportJob.objects.create(uploaded_by=staff_user, original_name="a.xlsx", file_type="xlsx", size=1,
                                   language="en", state=ImportJob.State.READY)  # fmt: skip
    client.force_login(manager_user)
    assert client.get(reverse("measures:import_job", args=[job.pk])).status_code == 404
    assert client.post(reverse("measures:import_confirm", args=[job.pk])).status_code == 404


def test_an_import_is_rolled_up_once_at_the_end(staff_user, eager_tasks, django_capture_on_commit_callbacks):
    from reports.models import RollupRow
    from reports.tasks import schedule_rollup

    def programme_kwh():
        row = RollupRow.objects.filter(level="programme", kind="all", technique="", stage="potential", year=0).first()
        return row.electricity_kwh if row else Decimal(0)

    first = [recp_row("imp-once-0", "demo-01"), recp_row("imp-once-1", "demo-04")]
    with django_capture_on_commit_callbacks(execute=True):
        assert run(staff_user, filled_template(staff_user, measures=first), XLSX, "a.xlsx", commit=True).ok
    before = programme_kwh()
    # Again with one row changed (an update, through measure_update) and five new ones (created in bulk).
    rows = [{**first[0], "saving_1_quantity": 130000}, first[1]] + [
        recp_row(f"imp-once-{i}", "demo-07") for i in range(2, 7)
    ]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        outcome = run(staff_user, filled_template(staff_user, measures=rows), XLSX, "b.xlsx", commit=True)
    assert outcome.counts["measures"] == {"create": 5, "update": 1, "unchanged": 1}
    assert callbacks.count(schedule_rollup) == 1  # one roll-up for the whole file, not one per row
    for callback in callbacks:
        callback()
    assert programme_kwh() == before + 10000 + 5 * 120000
