"""Reading spreadsheets people fill in: XLSX (cached values of formulas, merged cells filled) and CSV (UTF-8 with or
without BOM, commas or semicolons), numbers in Vietnamese (1.234,5) or English (1,234.5) form, and dates as
dd/mm/yyyy or ISO.

Cells come out as the spreadsheet holds them (text stripped, numbers, dates); what a column means is the importer's
business. Every problem is a ValidationError with a message for the user.

A file is read whatever it claims about itself in bounded memory and time: `read_workbook` reads it in a child
process with a memory and time limit (ecopark.spreadsheet_worker), and there an XLSX file's parts are first streamed
through expat, refusing a DTD (entity bombs), a cell or merged range beyond the limits, or a file that unpacks to too
much, before any grid is built.
"""

import csv
import datetime
import io
import logging
import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from xml.parsers import expat

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecopark.uploads import CSV, XLSX, FileType, looks_like_utf16, password_protected

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


@dataclass(frozen=True)
class Limits:
    """How far a sheet may reach and how long a cell may be; anything beyond refuses the file before its grid is
    built."""

    rows: int
    columns: int = 60
    cell_chars: int = 5000

    @classmethod
    def from_settings(cls) -> "Limits":
        from django.conf import settings

        return cls(rows=settings.IMPORT_MAX_ROWS)

    @property
    def cells(self) -> int:
        """The most cells a workbook may hold in all (room for two full tables)."""
        return 2 * self.rows * self.columns


# What the parts of an XLSX file may unpack to, in all: a real 20,000-row workbook unpacks to some 50 MB.
MAX_UNPACKED_BYTES = 200 * 1024 * 1024
MAX_PARTS = 10_000
_CELL_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?(\d{1,7})$")

logger = logging.getLogger(__name__)


def _position(ref: str) -> tuple[int, int] | None:
    """(row number, column index) of a cell name such as "B7", or None."""
    match = _CELL_REF.match(ref or "")
    if not match:
        return None
    column = 0
    for letter in match.group(1).upper():
        column = column * 26 + ord(letter) - 64
    return int(match.group(2)), column - 1


def _too_far(sheet: str, row: int, column: int, limits: Limits) -> ValidationError:
    return ValidationError(
        _(
            "The sheet “%(sheet)s” has a cell at %(cell)s, far outside the table (an import reads at most %(rows)s "
            "rows and %(columns)s columns). Delete the stray cells (or split the file) and save it again."
        ),
        code="too_far",
        params={
            "sheet": sheet,
            "cell": f"{column_letter(column)}{row}",
            "rows": limits.rows,
            "columns": limits.columns,
        },
    )


def _too_long(sheet: str, row: int, column: int, length: int, limits: Limits) -> ValidationError:
    return ValidationError(
        _(
            "Cell %(cell)s of “%(sheet)s” holds %(length)s characters; a cell may hold at most %(limit)s. Shorten it "
            "and save the file again."
        ),
        code="cell_too_long",
        params={"sheet": sheet, "cell": f"{column_letter(column)}{row}", "length": length, "limit": limits.cell_chars},
    )


def _too_many_cells(limits: Limits) -> ValidationError:
    return ValidationError(
        _("The workbook holds more than %(cells)s cells (merged ones counted), more than an import reads. Split it."),
        code="too_many_cells",
        params={"cells": limits.cells},
    )


def _damaged() -> ValidationError:
    return ValidationError(
        _(
            "The spreadsheet could not be read: it may be damaged. Open it in Excel, save it again as “Excel "
            "Workbook (.xlsx)” and upload it again."
        ),
        code="corrupt",
    )


class _Parts:
    """The XML parts of an XLSX archive read through expat in pieces, with what they unpack to counted: a DTD (where
    entity bombs live; a spreadsheet never has one) refuses the file, and a part's elements go to a callback."""

    def __init__(self, archive: zipfile.ZipFile):
        self.archive = archive
        self.unpacked = 0

    def read(self, name: str, on_element=None) -> None:
        parser = expat.ParserCreate(namespace_separator="}")
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

        def refuse(*args):
            raise ValidationError(
                _("The spreadsheet holds XML entity declarations, which a spreadsheet never needs; it was not read."),
                code="entities",
            )

        parser.StartDoctypeDeclHandler = refuse
        parser.EntityDeclHandler = refuse
        if on_element:
            parser.StartElementHandler = lambda tag, attrs: on_element(tag.rpartition("}")[2], attrs)
        try:
            with self.archive.open(name) as part:
                while chunk := part.read(1 << 20):
                    self.unpacked += len(chunk)
                    if self.unpacked > MAX_UNPACKED_BYTES:
                        raise _damaged()
                    parser.Parse(chunk, False)
            parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as exc:
            logger.info("spreadsheet part %s refused: %s", name, exc)
            raise _damaged() from exc
        except RuntimeError as exc:  # zipfile: a part encrypted with a password
            raise password_protected() from exc


def _sheet_names(archive: zipfile.ZipFile, parts: _Parts) -> dict[str, str]:
    """Part name -> sheet name (as its tab shows it), from the workbook and its relationships."""
    ids: dict[str, str] = {}
    targets: dict[str, str] = {}
    names = set(archive.namelist())

    def sheet(tag, attrs):
        if tag == "sheet":
            rid = next((v for k, v in attrs.items() if k.endswith("}id")), "")
            ids[rid] = attrs.get("name", "")

    def relationship(tag, attrs):
        if tag == "Relationship":
            target = attrs.get("Target", "")
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
            targets[attrs.get("Id", "")] = path

    if "xl/workbook.xml" in names:
        parts.read("xl/workbook.xml", sheet)
    if "xl/_rels/workbook.xml.rels" in names:
        parts.read("xl/_rels/workbook.xml.rels", relationship)
    return {targets[rid]: name for rid, name in ids.items() if rid in targets}


def check_xlsx(upload, limits: Limits) -> None:
    """Stream every XML part of an XLSX file and refuse it, with a message naming the sheet and the cell, if a cell,
    the declared dimension or a merged range lies beyond `limits`, if it has a DTD, or if it unpacks to too much.
    Nothing is kept but counters, so this costs the same whatever the file claims."""
    upload.seek(0)
    try:
        archive = zipfile.ZipFile(upload)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise _damaged() from exc
    if len(infos) > MAX_PARTS or sum(info.file_size for info in infos) > MAX_UNPACKED_BYTES:
        raise _damaged()
    if any(info.flag_bits & 0x1 for info in infos):
        raise password_protected()
    parts = _Parts(archive)
    sheets = _sheet_names(archive, parts)
    cells = 0
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")) or info.filename in ("xl/workbook.xml",):
            continue
        name = sheets.get(info.filename)
        if name is None:
            parts.read(info.filename)
            continue
        position = {"row": 0, "column": -1, "merged": 0}

        def within(row: int, column: int, name=name) -> None:
            if row > limits.rows or column >= limits.columns:
                raise _too_far(name, row, column, limits)

        def element(tag, attrs, name=name, position=position):
            nonlocal cells
            if tag == "c":
                cells += 1
                if cells > limits.cells:
                    raise _too_many_cells(limits)
                found = _position(attrs.get("r", ""))
                if found:
                    position["row"], position["column"] = found
                else:
                    position["column"] += 1
                within(position["row"], position["column"])
            elif tag == "row":
                number = attrs.get("r", "")
                position["row"] = int(number) if number.isdigit() else position["row"] + 1
                position["column"] = -1
            elif tag in ("dimension", "mergeCell"):
                first, _colon, last = attrs.get("ref", "").partition(":")
                start, end = _position(first), _position(last or first)
                if end:
                    within(*end)
                if tag == "mergeCell" and start and end:
                    # Filling merged ranges costs their area: bounded in all, not per range.
                    position["merged"] += (abs(end[0] - start[0]) + 1) * (abs(end[1] - start[1]) + 1)
                    if position["merged"] > limits.cells:
                        raise _too_many_cells(limits)

        parts.read(info.filename, element)
    upload.seek(0)


def read_xlsx(upload, limits: Limits | None = None) -> Workbook:
    """Every sheet of an XLSX file, with the cached values of formulas and merged cells filled from their first cell;
    the file is checked against `limits` (check_xlsx) before any sheet is read."""
    from python_calamine import CalamineWorkbook

    limits = limits or Limits.from_settings()
    check_xlsx(upload, limits)
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
        logger.info("spreadsheet refused by calamine: %s", exc)
        raise _damaged() from exc
    finally:
        upload.seek(0)
    for sheet in sheets:
        for number, cells in sheet.rows:
            for index, value in enumerate(cells):
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise _too_long(sheet.name, number, index, len(value), limits)
    return Workbook(sheets)


def _line_of(data, offset: int) -> int:
    return data.count(b"\n" if isinstance(data, bytes) else "\n", 0, offset) + 1


def read_csv(upload, name: str, limits: Limits | None = None) -> Workbook:
    """A CSV file in UTF-8 (with or without BOM), separated by commas or semicolons (whichever the header uses).
    Another encoding, a NUL byte, a quotation mark left open, a cell too long or beyond `limits` is refused with a
    message naming the row."""
    limits = limits or Limits.from_settings()
    upload.seek(0)
    raw = upload.read()
    upload.seek(0)
    if looks_like_utf16(raw):
        raise ValidationError(
            _(
                "The CSV file is in UTF-16 (“Unicode Text”), not in UTF-8. Save it again as “CSV UTF-8 (comma "
                "delimited)”."
            ),
            code="encoding",
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            _(
                "The CSV file is not in UTF-8: row %(row)s holds a character in another encoding (such as Windows "
                "or TCVN3). Save it again as “CSV UTF-8 (comma delimited)”."
            ),
            code="encoding",
            params={"row": _line_of(raw, exc.start)},
        ) from exc
    if (nul := text.find("\x00")) >= 0:
        raise ValidationError(
            _(
                "Row %(row)s of the CSV file holds a NUL character (a zero byte), which a text file never has: it was "
                "probably saved by another program or is not a CSV file. Save it again as “CSV UTF-8 (comma "
                "delimited)”."
            ),
            code="nul",
            params={"row": _line_of(text, nul)},
        )
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    # A cell's length is checked below, with a message naming it; the csv module's own limit would only say "field".
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    started = 1
    try:
        for row in reader:
            cells = [_clean(v) for v in row]
            while cells and cells[-1] == EMPTY:
                cells.pop()
            if len(cells) > limits.columns or (cells and reader.line_num > limits.rows):
                column = len(cells) - 1 if len(cells) > limits.columns else 0
                raise _too_far(name, started, column, limits)
            for index, value in enumerate(cells):
                if isinstance(value, str) and len(value) > limits.cell_chars:
                    raise _too_long(name, started, index, len(value), limits)
            rows.append((reader.line_num, cells))
            started = reader.line_num + 1
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise ValidationError(
                _(
                    'Row %(row)s of the CSV file opens a quotation mark (") that is never closed, so the rest of the '
                    "file would be read as one cell. Close the quotation mark (or remove it) and save the file again."
                ),
                code="open_quote",
                params={"row": started},
            ) from exc
        raise ValidationError(
            _(
                'Row %(row)s of the CSV file has a quotation mark (") in the wrong place: a cell in quotation marks '
                "must end with one right before the separator. Correct the row and save the file again."
            ),
            code="quote",
            params={"row": reader.line_num},
        ) from exc
    return Workbook([Sheet(name, _non_blank(rows))], delimiter=delimiter)


def read_here(upload, kind: FileType, limits: Limits | None = None) -> Workbook:
    """The workbook of a file read in this process (the child that `read_workbook` starts reads files with it)."""
    if kind == XLSX:
        return read_xlsx(upload, limits)
    if kind == CSV:
        return read_csv(upload, name=upload.name or "CSV", limits=limits)
    raise ValidationError(_("Only XLSX and CSV files can be imported."), code="type")


def read_workbook(upload, kind: FileType) -> Workbook:
    """The workbook of an uploaded file, read in a child process with a memory and time limit: a file built to
    exhaust them is refused with a message and costs the web or Celery worker nothing."""
    from ecopark.spreadsheet_worker import read_in_child

    if kind not in (XLSX, CSV):
        raise ValidationError(_("Only XLSX and CSV files can be imported."), code="type")
    return read_in_child(upload, kind, Limits.from_settings())


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
