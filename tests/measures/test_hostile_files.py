"""Hostile and badly saved files on the import page: refused in bounded memory and time, with a message a staff member
can act on (in Vietnamese by default, in English with the language cookie), and nothing written."""

import html
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from openpyxl import Workbook

import ecopark.spreadsheet
from ecopark.spreadsheet import Limits, read_here, read_workbook
from ecopark.uploads import CSV, XLSX
from measures.models import ImportJob, Measure
from tests.measures.import_files import csv_file, filled_template, recp_row, upload
from tests.measures.test_import import IMPORT, english, job_of, register_state

pytestmark = pytest.mark.django_db

MEASURES_SHEET = "xl/worksheets/sheet3.xml"  # of the template: instructions, lists, enterprises, measures
HEADERS = ["Measure reference", "Kind", "Identified on", "Year of the estimate", "Title (Vietnamese)"]


def small_workbook() -> bytes:
    """A two-row sheet named as the template's measures sheet is in Vietnamese."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Giải pháp"
    sheet.append(["a", "b"])
    sheet.append([1, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def edit_part(content: bytes, part: str, edit) -> bytes:
    """The workbook with the XML of `part` passed through `edit` (text -> text)."""
    source = zipfile.ZipFile(io.BytesIO(content))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == part:
                changed = edit(data.decode())
                assert changed != data.decode(), "the edit must change the part"
                data = changed.encode()
            target.writestr(item, data)
    return buffer.getvalue()


def with_stray_cell(content: bytes, cell: str, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    row = re.search(r"\d+$", cell).group()
    stray = f'<row r="{row}"><c r="{cell}"><v>1</v></c></row></sheetData>'
    return edit_part(content, part, lambda t: t.replace("</sheetData>", stray))


def billion_laughs(content: bytes, part: str = "xl/worksheets/sheet1.xml") -> bytes:
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))

    def edit(text):
        text = re.sub(r"^<\?xml[^>]*\?>", "", text)
        text = re.sub(r'<c r="A1"[^>]*?(/>|>.*?</c>)', '<c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c>', text)
        return f"<!DOCTYPE worksheet [{entities}]>" + text

    return edit_part(content, part, edit)


def refusal(client, content: bytes, name: str = "import.xlsx") -> str:
    """The message the import page shows for a file, checking that nothing was written."""
    before = register_state()
    response = client.post(IMPORT, {"file": upload(content, name)})
    if response.status_code == 302:
        job = job_of(response)
        assert job.state == ImportJob.State.INVALID
        text = " ".join(e["message"] for e in job.errors)
    else:
        assert response.status_code == 200
        assert not ImportJob.objects.exists()
        text = response.content.decode()
    assert register_state() == before
    return html.unescape(text)


FAR = "far outside the table (an import reads at most 20000 rows and 60 columns)"


@pytest.mark.parametrize("cell", ["XFD1048576", "ZZ100000"])
def test_a_stray_far_cell_refuses_the_file_naming_the_sheet_and_the_cell(staff_client, cell):
    english(staff_client)
    text = refusal(staff_client, with_stray_cell(small_workbook(), cell))
    assert f"The sheet “Giải pháp” has a cell at {cell}, {FAR}. Delete the stray cells" in text


def test_the_message_is_in_vietnamese_by_default(staff_client):
    text = refusal(staff_client, with_stray_cell(small_workbook(), "XFD1048576"))
    assert "Trang tính “Giải pháp” có một ô tại XFD1048576" in text


def test_a_stray_cell_in_the_filled_template_refuses_it(staff_client, staff_user):
    english(staff_client)
    content = filled_template(staff_user, measures=[recp_row("imp-far", "demo-01")])
    text = refusal(staff_client, with_stray_cell(content, "XFD1048576", part=MEASURES_SHEET))
    assert "has a cell at XFD1048576" in text
    assert not Measure.objects.filter(reference="imp-far").exists()


@pytest.mark.parametrize(
    ("edit", "cell"),
    [
        (lambda t: re.sub(r'<dimension ref="[^"]*"', '<dimension ref="A1:XFD1048576"', t), "XFD1048576"),
        (lambda t: t.replace("</sheetData>", '</sheetData><mergeCells count="1"><mergeCell ref="A1:B200000"/>'
                             "</mergeCells>"), "B200000"),
        # No reference: the cell's place follows from its row and the cells before it.
        (lambda t: t.replace("</sheetData>", '<row r="30000"><c><v>1</v></c></row></sheetData>'), "A30000"),
        (lambda t: t.replace("</sheetData>", "<row><c/>" + "<c><v>1</v></c>" * 61 + "</row></sheetData>"), "BI3"),
    ],
    ids=["declared dimension", "merged range", "cell without reference", "61 columns"],
)  # fmt: skip
def test_what_the_sheet_declares_or_merges_is_checked_too(staff_client, edit, cell):
    english(staff_client)
    text = refusal(staff_client, edit_part(small_workbook(), "xl/worksheets/sheet1.xml", edit))
    assert f"has a cell at {cell}, {FAR}" in text


def test_an_entity_bomb_is_refused(staff_client, staff_user):
    english(staff_client)
    content = filled_template(staff_user, measures=[recp_row("imp-lol", "demo-01")])
    for bomb in (billion_laughs(small_workbook()), billion_laughs(content, part="xl/workbook.xml")):
        text = refusal(staff_client, bomb)
        assert "The spreadsheet holds XML entity declarations, which a spreadsheet never needs" in text


def test_a_workbook_that_unpacks_to_too_much_is_refused(monkeypatch):
    monkeypatch.setattr(ecopark.spreadsheet, "MAX_UNPACKED_BYTES", 2000)
    padded = " " * 5000 + "</worksheet>"
    content = edit_part(small_workbook(), "xl/worksheets/sheet1.xml", lambda t: t.replace("</worksheet>", padded))
    with pytest.raises(ValidationError, match="could not be read: it may be damaged"):
        read_here(upload(content), XLSX, Limits(rows=100))


def test_a_password_protected_workbook_and_an_xls_file_are_named(staff_client):
    english(staff_client)
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000
    encrypted = ole + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 1000
    assert "The workbook is protected with a password" in refusal(staff_client, encrypted)
    text = refusal(staff_client, ole + "Workbook".encode("utf-16-le") + b"\x00" * 1000, "old.xlsx")
    assert "This is an Excel 97-2003 workbook (.xls). Open it in Excel and save it as" in text


def test_a_file_that_is_not_a_spreadsheet_is_refused(staff_client):
    english(staff_client)
    text = refusal(staff_client, bytes(range(256)) * 40, "measures.csv")
    assert "This file is not one of the accepted types (.xlsx, .csv)." in text


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (",".join(HEADERS).encode("utf-16"), "The CSV file is in UTF-16 (“Unicode Text”), not in UTF-8. Save it "
         "again as “CSV UTF-8 (comma delimited)”."),
        (",".join(HEADERS).encode("utf-16-le"), "is in UTF-16"),
        (csv_file([HEADERS, ["imp-1", "RECP", "01/02/2023", "2023", "Đèn"]]).decode().encode("utf-8")[:-6]
         + "Đèn\n".encode("cp1258"), "The CSV file is not in UTF-8: row 2 holds a character in another encoding"),
        (csv_file([HEADERS, ["imp-1", "RECP", "01/02/2023", "2023", "a\x00b"]]),
         "Row 2 of the CSV file holds a NUL character"),
        (csv_file([HEADERS, ["imp-1", "RECP", "01/02/2023", "2023", "ok"], ["imp-2", "RECP", "01/02/2023", "2023",
                                                                         '"never closed'], ["imp-3", "RECP"]]),
         "Row 3 of the CSV file opens a quotation mark (\") that is never closed"),
        (csv_file([HEADERS, ['"imp-1"x', "RECP"]]), "Row 2 of the CSV file has a quotation mark (\") in the wrong "
         "place"),
        (csv_file([HEADERS, ["imp-1", "RECP", "01/02/2023", "2023", "x" * 6000]]),
         "Cell E2 of “m.csv” holds 6000 characters; a cell may hold at most 5000."),
        (csv_file([HEADERS, ["imp-1", *[""] * 70, "stray"]]), f"The sheet “m.csv” has a cell at BT2, {FAR}"),
    ],
    ids=["utf-16", "utf-16 without mark", "windows-1258", "nul byte", "open quote", "misplaced quote", "long cell",
         "far column"],
)  # fmt: skip
def test_a_badly_saved_csv_gets_a_message_naming_what_to_do(staff_client, content, message):
    english(staff_client)
    assert message in refusal(staff_client, content, "m.csv")


def test_an_oversized_cell_in_a_workbook_is_named(staff_client, staff_user):
    english(staff_client)
    content = filled_template(staff_user, measures=[recp_row("imp-long", "demo-01", description_vi="x" * 5001)])
    text = refusal(staff_client, content)
    assert re.search(r"Cell [A-Z]+2 of “Giải pháp” holds 5001 characters; a cell may hold at most 5000", text)


def test_quoted_cells_over_several_lines_and_long_allowed_cells_still_read():
    rows = [HEADERS, ["imp-1", "RECP", "01/02/2023", "2023", '"two\nlines, one cell"'], ["imp-2", "x" * 5000]]
    content = csv_file(rows)
    workbook = read_workbook(upload(content, "m.csv"), CSV)
    assert workbook.sheets[0].rows[1:] == [(3, ["imp-1", "RECP", "01/02/2023", "2023", "two\nlines, one cell"]),
                                           (4, ["imp-2", "x" * 5000])]  # fmt: skip


READ_UPLOAD = """
import json, resource, sys, time
# A ceiling for this process only, so that code without the limits fails here rather than paging the machine.
resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
import django
django.setup()
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from measures.import_jobs import read_upload
translation.activate("en")
content = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Django and the app, loaded: not the reading's cost
start = time.monotonic()
try:
    read_upload(SimpleUploadedFile("import.xlsx", content))
    message = ""
except ValidationError as error:
    message = error.messages[0]
seconds = time.monotonic() - start
grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
peak = max(grown, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # this process's growth, or its reader's
print(json.dumps({"message": message, "seconds": seconds, "peak_mb": peak / 1024}))
"""


@pytest.mark.parametrize("cell", ["XFD1048576", "ZZ100000"])
def test_the_upload_path_refuses_a_far_cell_in_bounded_memory_and_time(tmp_path, cell):
    """Measured, not assumed: the upload's reader runs in a fresh process; what reading the file cost in memory (the
    process's growth while reading, or the peak of any process it starts) and in time is taken."""
    path = tmp_path / "far.xlsx"
    path.write_bytes(with_stray_cell(small_workbook(), cell))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ecopark.settings.dev"}
    done = subprocess.run(
        [sys.executable, "-c", READ_UPLOAD, str(path)],
        capture_output=True,
        timeout=120,
        cwd=Path(settings.BASE_DIR),
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    measured = json.loads(done.stdout.decode().strip().splitlines()[-1])
    print(cell, measured)
    assert f"has a cell at {cell}, far outside the table" in measured["message"]
    assert measured["peak_mb"] < 300
    assert measured["seconds"] < 10
