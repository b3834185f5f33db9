"""Reading spreadsheets people fill in: XLSX (cached values of formulas, merged cells filled) and CSV (UTF-8 with or
without BOM, commas or semicolons), numbers in Vietnamese (1.234,5) or English (1,234.5) form, and dates as
dd/mm/yyyy or ISO.

Cells come out as the spreadsheet holds them (text stripped, numbers, dates); what a column means is the importer's
business. Every problem is a ValidationError with a message for the user.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecopark.uploads import CSV, XLSX, FileType

EMPTY = ""


@dataclass
class Sheet:
    """A table read from a file: its name and its non-blank rows as (row number in the file, cells)."""

    name: str
    rows: list[tuple[int, list]] = field(default_factory=list)


@dataclass
class Workbook:
    sheets: list[Sheet]
    delimiter: str = ""  # for a CSV file: the separator found


def column_letter(index: int) -> str:
    """The spreadsheet name of a column (0 -> A, 26 -> AA)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _clean(value):
    if value is None:
        return EMPTY
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 1e15 else Decimal(repr(value))
    if isinstance(value, datetime.datetime):
        return value.date() if value.time() == datetime.time() else value
    return value


def _non_blank(rows) -> list[tuple[int, list]]:
    kept = []
    for number, cells in rows:
        while cells and cells[-1] == EMPTY:
            cells.pop()
        if cells:
            kept.append((number, cells))
    return kept


def read_xlsx(upload) -> Workbook:
    """Every sheet of an XLSX file, with the cached values of formulas and merged cells filled from their first cell."""
    from python_calamine import CalamineWorkbook

    upload.seek(0)
    try:
        book = CalamineWorkbook.from_filelike(upload)
        sheets = []
        for name in book.sheet_names:
            sheet = book.get_sheet_by_name(name)
            grid = [[_clean(v) for v in row] for row in sheet.iter_rows()]
            top, left = sheet.start or (0, 0)
            for (r1, c1), (r2, c2) in sheet.merged_cell_ranges or []:
                r1, r2, c1, c2 = r1 - top, r2 - top, c1 - left, c2 - left
                if not (0 <= r1 < len(grid) and c1 >= 0 and c1 < len(grid[r1])):
                    continue
                value = grid[r1][c1]
                for r in range(r1, min(r2, len(grid) - 1) + 1):
                    row = grid[r]
                    row.extend([EMPTY] * (c2 + 1 - len(row)))
                    for c in range(c1, c2 + 1):
                        row[c] = value
            if left:
                grid = [[EMPTY] * left + row for row in grid]
            sheets.append(Sheet(name, _non_blank((top + i + 1, row) for i, row in enumerate(grid))))
    except Exception as exc:  # calamine raises its own errors for a damaged file; none of them is the user's fault
        raise ValidationError(
            _("The spreadsheet could not be read (it may be damaged or protected): %(error)s") % {"error": exc},
            code="corrupt",
        ) from exc
    finally:
        upload.seek(0)
    return Workbook(sheets)


def read_csv(upload, name: str) -> Workbook:
    """A CSV file in UTF-8 (with or without BOM), separated by commas or semicolons (whichever the header uses)."""
    upload.seek(0)
    raw = upload.read()
    upload.seek(0)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _("The CSV file is not in UTF-8. Save it again as “CSV UTF-8 (comma delimited)”."), code="encoding"
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, [_clean(v) for v in row]) for row in reader]
    except csv.Error as exc:
        raise ValidationError(
            _("The CSV file could not be read near line %(line)s: %(error)s") % {"line": reader.line_num, "error": exc},
            code="corrupt",
        ) from exc
    return Workbook([Sheet(name, _non_blank(rows))], delimiter=delimiter)


def read_workbook(upload, kind: FileType) -> Workbook:
    if kind == XLSX:
        return read_xlsx(upload)
    if kind == CSV:
        return read_csv(upload, name=upload.name or "CSV")
    raise ValidationError(_("Only XLSX and CSV files can be imported."), code="type")


# Numbers as a person types them. Vietnamese: 1.234.567,89; English: 1,234,567.89; both: 1234 or 12.
_VI = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_EN = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$")
_SPACES = re.compile(r"[\s\u00a0\u202f]")


@dataclass(frozen=True)
class NumberReading:
    """How the numbers typed as text in a file are read: with a decimal comma (Vietnamese) or point (English)."""

    decimal: str  # "," or "."
    reason: str

    @property
    def example(self) -> str:
        return "1.234,5" if self.decimal == "," else "1,234.5"

    def describe(self) -> str:
        form = _("Vietnamese form") if self.decimal == "," else _("English form")
        return _("Numbers typed as text were read in %(form)s (%(example)s): %(reason)s") % {
            "form": form,
            "example": self.example,
            "reason": self.reason,
        }


def number_reading(samples: list[tuple[str, str]], *, delimiter: str, language: str) -> NumberReading:
    """Decide how to read a file's numbers from the numbers typed in it (`samples`: (cell name, text)).

    A number only one form can read ("1.234,5", "0,75" or "1,234.5", "0.75") decides; if the file has both, it
    is an error naming one of each. Otherwise a semicolon-separated CSV reads Vietnamese, and then the user's
    language decides.
    """
    vi = en = None
    for where, text in samples:
        compact = _SPACES.sub("", text)
        as_vi, as_en = bool(_VI.match(compact)), bool(_EN.match(compact))
        if as_vi and not as_en and vi is None:
            vi = (where, text)
        elif as_en and not as_vi and en is None:
            en = (where, text)
    if vi and en:
        raise ValidationError(
            _(
                "The file mixes number forms: %(vi_cell)s “%(vi)s” is Vietnamese (decimal comma) and %(en_cell)s "
                "“%(en)s” is English (decimal point). Use one form throughout."
            )
            % {"vi_cell": vi[0], "vi": vi[1], "en_cell": en[0], "en": en[1]},
            code="number_forms",
        )
    if vi:
        return NumberReading(",", _("%(cell)s reads “%(text)s”.") % {"cell": vi[0], "text": vi[1]})
    if en:
        return NumberReading(".", _("%(cell)s reads “%(text)s”.") % {"cell": en[0], "text": en[1]})
    if delimiter == ";":
        return NumberReading(",", _("the file is separated by semicolons."))
    if language == "vi":
        return NumberReading(",", _("no number decides it, so the language of the page was followed."))
    return NumberReading(".", _("no number decides it, so the language of the page was followed."))


NOT_A_NUMBER = gettext_lazy("“%(text)s” is not a number (numbers here are written like %(example)s).")


def parse_number(value, reading: NumberReading) -> Decimal:
    """A cell as a Decimal: a number cell as it is, a text in the file's number form; else ValueError."""
    if isinstance(value, bool):
        raise ValueError(str(value))
    if isinstance(value, int | Decimal):
        return Decimal(value)
    text = _SPACES.sub("", str(value))
    pattern = _VI if reading.decimal == "," else _EN
    if not pattern.match(text):
        raise ValueError(text)
    thousands = "." if reading.decimal == "," else ","
    try:
        return Decimal(text.replace(thousands, "").replace(reading.decimal, "."))
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only digits
        raise ValueError(text) from exc


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")


def parse_date(value) -> datetime.date:
    """A cell as a date: a date cell, or text as dd/mm/yyyy (also with - or .) or yyyy-mm-dd; else ValueError (a
    date that does not exist, such as 31/02/2024, included)."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = str(value).strip()
    if match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    elif match := _DMY.match(text):
        day, month, year = (int(g) for g in match.groups())
    else:
        raise ValueError(text)
    return datetime.date(year, month, day)  # ValueError for a day that does not exist
