"""The import template: an XLSX workbook (instructions, an enterprises sheet, a measures sheet and the lists of
allowed values) and CSV files with the same headers, in the user's language. The importer accepts the headers in
either language."""

import csv
import io

from django.utils import translation
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from measures.importer import CHOICE, CURRENCY, RESOURCE, TABLE, UNIT, Col
from measures.models import Currency, Resource
from measures.units import UNITS, units_for
from parks.selectors import parks_visible_to

REQUIRED_FILL = PatternFill("solid", fgColor="FDE9C4")
HEADER_FILL = PatternFill("solid", fgColor="DCEBDD")
BOLD = Font(bold=True)


def _lists(user) -> list[tuple[str, list[str], list[list]]]:
    """The allowed values, one block per kind: (title, headers, rows)."""
    blocks = [
        (_("Parks"), [_("Code"), _("Name")], [[p.code, p.name] for p in parks_visible_to(user).order_by("code")]),
    ]
    seen = set()
    for col in [*TABLE["enterprises"].columns, *TABLE["measures"].columns]:
        if col.kind != CHOICE or col.choices in seen:
            continue
        seen.add(col.choices)
        rows = []
        for value, label in col.choices.choices:
            with translation.override("vi"):
                vi = str(label)
            with translation.override("en"):
                en = str(label)
            rows.append([value, vi, en])
        blocks.append((col.header(translation.get_language() or "en").split(":")[-1].strip(),
                       [_("Code"), "Tiếng Việt", "English"], rows))  # fmt: skip
    resources = [
        [r.code, r.name_vi, r.name_en, ", ".join(units_for(r.canonical_unit, has_density=bool(r.density_t_per_m3)))]
        for r in Resource.objects.order_by("category", "code")
    ]
    blocks.append((_("Resources"), [_("Code"), "Tiếng Việt", "English", _("Units")], resources))
    blocks.append((_("Units"), [_("Unit")], [[code] for code in UNITS]))
    blocks.append((_("Currencies"), [_("Currency")], [[c] for c in Currency.values]))
    return blocks


def _instructions(language: str) -> list[list[str]]:
    rows = [
        [_("How to fill in this template")],
        [],
        [_("1. Fill the sheets “%(enterprises)s” and “%(measures)s”, one row per enterprise or measure, from the "
           "second row down. Leave the first row (the headers) as it is; headers in Vietnamese or English are both "
           "accepted.") % {"enterprises": _sheet("enterprises"), "measures": _sheet("measures")}],
        [_("2. Coloured headers must be filled in on every row. Each row's code or reference is its stable key: "
           "uploading the file again updates the rows whose values changed and leaves the others as they are.")],
        [_("3. Allowed values (parks, kinds, techniques, statuses, resources and their units) are on the sheet "
           "“%(lists)s”; you may write the code or the name in either language.") % {"lists": _sheet("lists")}],
        [_("4. Dates as dd/mm/yyyy or yyyy-mm-dd. Numbers as numbers, or as text in one form throughout the file: "
           "1.234,5 (Vietnamese) or 1,234.5 (English).")],
        [_("5. Quantities are savings per year. Each saving or flow takes three cells: resource, quantity, unit.")],
        [_("6. Upload the file on the import page: you will see what would be created, updated and left unchanged, "
           "and every error with its row and column, before anything is written.")],
        [],
        [_("Column"), _("Required"), _("What it holds")],
    ]  # fmt: skip
    for key in ("enterprises", "measures"):
        rows.append([_sheet(key)])
        for col in TABLE[key].columns:
            rows.append([col.header(language), _("yes") if col.required else "", str(col.help)])
    return rows


def _sheet(key: str) -> str:
    return {
        "instructions": _("Instructions"),
        "enterprises": _("Enterprises"),
        "measures": _("Measures"),
        "lists": _("Lists"),
    }[key]


def _header_row(sheet, columns: list[Col], language: str) -> None:
    sheet.append([col.header(language) for col in columns])
    for index, col in enumerate(columns, start=1):
        cell = sheet.cell(row=1, column=index)
        cell.font = BOLD
        cell.fill = REQUIRED_FILL if col.required else HEADER_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        sheet.column_dimensions[get_column_letter(index)].width = max(14, min(40, len(cell.value) + 4))
    sheet.freeze_panes = "A2"


def template_xlsx(user, language: str) -> bytes:
    """The template workbook, in the user's language, listing the parks the user may import into."""
    with translation.override(language):
        return _template_xlsx(user, language)


def _template_xlsx(user, language: str) -> bytes:
    book = Workbook()
    instructions = book.active
    instructions.title = _sheet("instructions")
    for row in _instructions(language):
        instructions.append(row)
    instructions["A1"].font = Font(bold=True, size=14)
    instructions.column_dimensions["A"].width = 45
    instructions.column_dimensions["B"].width = 10
    instructions.column_dimensions["C"].width = 90

    lists = book.create_sheet(_sheet("lists"))
    ranges: dict[str, str] = {}
    column = 1
    for title, headers, rows in _lists(user):
        lists.cell(row=1, column=column, value=title).font = BOLD
        for offset, header in enumerate(headers):
            lists.cell(row=2, column=column + offset, value=header).font = BOLD
            lists.column_dimensions[get_column_letter(column + offset)].width = 22
        for r, values in enumerate(rows, start=3):
            for offset, value in enumerate(values):
                lists.cell(row=r, column=column + offset, value=value)
        letter = get_column_letter(column)
        ranges[title] = f"'{lists.title}'!${letter}$3:${letter}${max(3, len(rows) + 2)}"
        column += len(headers) + 1

    for key in ("enterprises", "measures"):
        sheet = book.create_sheet(_sheet(key), index=1 if key == "enterprises" else 2)
        columns = TABLE[key].columns
        _header_row(sheet, columns, language)
        for index, col in enumerate(columns, start=1):
            source = {CURRENCY: _("Currencies"), UNIT: _("Units"), RESOURCE: _("Resources")}.get(col.kind)
            if col.key == "park":
                source = _("Parks")
            if source and source in ranges:
                check = DataValidation(type="list", formula1=f"={ranges[source]}", allow_blank=True)
                check.showErrorMessage = False  # names in either language are accepted too
                sheet.add_data_validation(check)
                letter = get_column_letter(index)
                check.add(f"{letter}2:{letter}5000")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def template_csv(table: str, language: str) -> bytes:
    """The headers of one table as a CSV file (UTF-8 with BOM, so spreadsheet programs read the accents)."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow([col.header(language) for col in TABLE[table].columns])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
