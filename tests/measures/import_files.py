"""Spreadsheets for the import tests: the template filled in as a person would, and ways to spoil it."""

import io
import re
import zipfile

from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from measures.import_template import template_xlsx
from measures.importer import ENTERPRISE_COLUMNS, MEASURE_COLUMNS


def recp_row(reference: str, enterprise: str, **values) -> dict:
    return {
        "reference": reference,
        "kind": "RECP",
        "enterprise": enterprise,
        "technique": "Good housekeeping",
        "title_vi": f"Giải pháp {reference}",
        "identified_on": "15/03/2023",
        "estimate_year": 2023,
        "saving_1_resource": "electricity",
        "saving_1_quantity": 120000,
        "saving_1_unit": "kWh",
        "saving_2_resource": "Nước",
        "saving_2_quantity": 1500,
        "saving_2_unit": "m3",
        **values,
    }


def filled_template(user, *, enterprises=(), measures=(), language="vi") -> bytes:
    """The downloaded template with rows typed into its enterprises and measures sheets."""
    book = load_workbook(io.BytesIO(template_xlsx(user, language)))
    for sheet, columns, rows in ((book.worksheets[1], ENTERPRISE_COLUMNS, enterprises),
                                 (book.worksheets[2], MEASURE_COLUMNS, measures)):  # fmt: skip
        keys = [c.key for c in columns]
        for values in rows:
            sheet.append([values.get(key) for key in keys])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "import.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def csv_file(rows: list[list], *, delimiter: str = ",", bom: bool = True) -> bytes:
    text = "\n".join(delimiter.join(str(c) for c in row) for row in rows) + "\n"
    return (("\ufeff" if bom else "") + text).encode("utf-8")


def with_cached_formula(content: bytes, cell: str, formula: str, cached: str) -> bytes:
    """The workbook with a formula in `cell` whose last computed value (as Excel saves it) is `cached`."""
    source = zipfile.ZipFile(io.BytesIO(content))
    target_buffer = io.BytesIO()
    with zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet3.xml":
                text = data.decode()
                pattern = re.compile(rf'<c r="{cell}"[^>]*?(/>|>.*?</c>)')
                text, count = pattern.subn(f'<c r="{cell}"><f>{formula}</f><v>{cached}</v></c>', text)
                assert count == 1, "the cell must exist in the sheet"
                data = text.encode()
            target.writestr(item, data)
    return target_buffer.getvalue()
