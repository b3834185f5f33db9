"""Import of enterprises and measures from a spreadsheet: columns, reading the rows, and writing them all or none.

One run reads the file (`ecopark.spreadsheet`), turns each row into the values the register holds, and writes them
through the services (`enterprise_create`/`enterprise_update`, `measures_create_many`, `measure_update`,
`measure_transition`), so an import is checked by the same code as the forms and the API. A preview is the same
run inside a transaction that is rolled back, stopped before the new measures are inserted: every check the insert
makes has run by then, the database's check constraints included, so a file that previews as ready imports.

Rows carry stable references (the enterprise's code, the measure's reference): a row whose reference exists updates
that record, and a row that would change nothing is left alone, so uploading the same file twice changes nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from ecopark.access import may_write_enterprises
from ecopark.audit import audit_context
from ecopark.locks import hold_until_commit
from ecopark.spreadsheet import NOT_A_NUMBER, NumberReading, Workbook, column_letter, number_reading, parse_date
from ecopark.spreadsheet import parse_number as _parse_number
from ecopark.text import fold
from enterprises.models import Enterprise, Organisation
from enterprises.selectors import enterprises_visible_to, organisations_visible_to
from enterprises.services import enterprise_create, enterprise_update
from measures.models import SINK_FIELDS, SOURCE_FIELDS, Currency, Measure, Resource, ResourceFlow
from measures.selectors import measures_visible_to
from measures.services import (
    NEXT_STATUS,
    FlowInput,
    NewMeasure,
    SavingInput,
    measure_transition,
    measure_update,
    measures_create_many,
)
from measures.units import UNITS
from parks.selectors import parks_visible_to
from reports.services import rollup_once

SAVING_LINES = 4
FLOW_LINES = 3
PLAN_LIMIT = 2000  # rows of the plan kept for the preview (the counts cover every row)
IMPORT_LOCK = "measures.import"  # held by a running import's transaction (ecopark.locks)

TEXT, NUMBER, YEAR, DATE, CHOICE, BOOL, CURRENCY, RESOURCE, UNIT = (
    "text",
    "number",
    "year",
    "date",
    "choice",
    "bool",
    "currency",
    "resource",
    "unit",
)


@dataclass(frozen=True)
class Col:
    """A column of the template: its key, its header in Vietnamese and in English (both accepted), what it holds."""

    key: str
    vi: str
    en: str
    kind: str = TEXT
    required: bool = False
    choices: type | None = None  # a TextChoices for CHOICE columns
    help: str = ""

    def header(self, language: str) -> str:
        return self.vi if language == "vi" else self.en


ENTERPRISE_COLUMNS = [
    Col(
        "code",
        "Mã doanh nghiệp",
        "Enterprise code",
        required=True,
        help=gettext_lazy("A stable code you choose: letters, digits and hyphens (e.g. dv-cong-ty-a)."),
    ),
    Col("park", "Mã KCN", "Park code", required=True, help=gettext_lazy("The code of the park (see Lists).")),
    Col("name", "Tên doanh nghiệp", "Enterprise name", required=True),
    Col("sector_code", "Mã ngành VSIC", "VSIC sector code"),
    Col("size", "Quy mô", "Size", CHOICE, choices=Enterprise.Size),
    Col(
        "joined_programme",
        "Tham gia chương trình",
        "Joined the programme",
        BOOL,
        help=gettext_lazy("Yes or no (có/không)."),
    ),
    Col(
        "partner_consent",
        "Đồng ý chia sẻ với đối tác",
        "Consents to partners seeing its figures",
        BOOL,
        help=gettext_lazy("Yes or no (có/không). Without consent partners see it only inside totals."),
    ),
]

MEASURE_COLUMNS = [
    Col(
        "reference",
        "Mã giải pháp",
        "Measure reference",
        required=True,
        help=gettext_lazy("A stable reference: uploading the file again updates the measure with this reference."),
    ),
    Col("kind", "Loại", "Kind", CHOICE, required=True, choices=Measure.Kind),
    Col(
        "park",
        "Mã KCN",
        "Park code",
        help=gettext_lazy("For an exchange: the park whose totals count it. For RECP: the enterprise's park."),
    ),
    Col("enterprise", "Mã doanh nghiệp", "Enterprise code", help=gettext_lazy("For an RECP measure.")),
    Col(
        "technique",
        "Kỹ thuật RECP",
        "RECP technique",
        CHOICE,
        choices=Measure.Technique,
        help=gettext_lazy("For an RECP measure."),
    ),
    Col(
        "exchange_type",
        "Loại trao đổi",
        "Type of exchange",
        CHOICE,
        choices=Measure.ExchangeType,
        help=gettext_lazy("For an exchange."),
    ),
    Col(
        "source",
        "Bên cung cấp",
        "Source",
        help=gettext_lazy("For an exchange: an enterprise code, a park code or an outside organisation's name."),
    ),
    Col("sink", "Bên nhận", "Sink", help=gettext_lazy("For an exchange, as the source.")),
    Col(
        "title_vi",
        "Tên giải pháp (tiếng Việt)",
        "Title (Vietnamese)",
        help=gettext_lazy("A title in Vietnamese or in English (or both)."),
    ),
    Col("title_en", "Tên giải pháp (tiếng Anh)", "Title (English)"),
    Col("description_vi", "Mô tả (tiếng Việt)", "Description (Vietnamese)"),
    Col("description_en", "Mô tả (tiếng Anh)", "Description (English)"),
    Col(
        "status",
        "Trạng thái",
        "Status",
        CHOICE,
        choices=Measure.Status,
        help=gettext_lazy("Empty: identified. A measure is verified on its page, with its evidence."),
    ),
    Col(
        "status_reason", "Lý do trạng thái", "Reason for the status", help=gettext_lazy("Needed to reject or withdraw.")
    ),
    Col(
        "identified_on",
        "Ngày xác định",
        "Identified on",
        DATE,
        required=True,
        help=gettext_lazy("dd/mm/yyyy or yyyy-mm-dd."),
    ),
    Col("estimate_year", "Năm ước tính", "Year of the estimate", YEAR, required=True),
    Col(
        "implemented_on",
        "Ngày thực hiện",
        "Implemented on",
        DATE,
        help=gettext_lazy("Needed when the status is implemented."),
    ),
    Col("investment", "Vốn đầu tư", "Investment", NUMBER),
    Col(
        "investment_currency",
        "Tiền tệ vốn đầu tư",
        "Investment currency",
        CURRENCY,
        help=gettext_lazy("VND or USD (empty: USD)."),
    ),
    Col("annual_cost_saving", "Tiết kiệm chi phí mỗi năm", "Annual cost saving", NUMBER),
    Col(
        "cost_currency",
        "Tiền tệ tiết kiệm",
        "Cost saving currency",
        CURRENCY,
        help=gettext_lazy("VND or USD (empty: USD)."),
    ),
    Col(
        "co2e_entered_t",
        "tCO2e mỗi năm (nhập tay)",
        "Entered tCO2e per year",
        NUMBER,
        help=gettext_lazy("Leave empty to compute it from the savings."),
    ),
    Col("co2e_method", "Phương pháp tính tCO2e", "Method of the entered tCO2e"),
    Col("co2e_justification", "Giải trình tCO2e", "Justification of the entered tCO2e"),
    *[
        col
        for n in range(1, SAVING_LINES + 1)
        for col in (
            Col(f"saving_{n}_resource", f"Tiết kiệm {n}: tài nguyên", f"Saving {n}: resource", RESOURCE),
            Col(f"saving_{n}_quantity", f"Tiết kiệm {n}: lượng mỗi năm", f"Saving {n}: quantity per year", NUMBER),
            Col(f"saving_{n}_unit", f"Tiết kiệm {n}: đơn vị", f"Saving {n}: unit", UNIT),
        )
    ],
    *[
        col
        for n in range(1, FLOW_LINES + 1)
        for col in (
            Col(f"flow_{n}_resource", f"Dòng {n}: tài nguyên", f"Flow {n}: resource", RESOURCE),
            Col(f"flow_{n}_quantity", f"Dòng {n}: lượng mỗi năm", f"Flow {n}: quantity per year", NUMBER),
            Col(f"flow_{n}_unit", f"Dòng {n}: đơn vị", f"Flow {n}: unit", UNIT),
            Col(
                f"flow_{n}_direction",
                f"Dòng {n}: chiều",
                f"Flow {n}: direction",
                CHOICE,
                choices=ResourceFlow.Direction,
            ),
        )
    ],
]


# The columns that are fields of the measure as they are (parties and lines are resolved apart).
MEASURE_FIELDS = frozenset(
    c.key
    for c in MEASURE_COLUMNS
    if not c.key.startswith(("saving_", "flow_")) and c.key not in ("park", "enterprise", "source", "sink")
)


@dataclass(frozen=True)
class Table:
    key: str
    label: str
    columns: list[Col]
    identifying: tuple[str, ...]  # the columns whose headers tell this table apart


TABLES = [
    Table("enterprises", gettext_lazy("Enterprises"), ENTERPRISE_COLUMNS, ("code", "name")),
    Table("measures", gettext_lazy("Measures"), MEASURE_COLUMNS, ("reference",)),
]
TABLE = {t.key: t for t in TABLES}


def _header_key(text) -> str:
    return " ".join(fold(str(text)).replace("*", " ").split())


def _header_names(table: Table) -> dict[str, str]:
    names = {}
    for col in table.columns:
        for name in (col.vi, col.en, f"{col.vi} / {col.en}", f"{col.en} / {col.vi}", col.key):
            names[_header_key(name)] = col.key
    return names


HEADERS = {t.key: _header_names(t) for t in TABLES}


def choice_lookup(choices) -> dict[str, str]:
    """Every way a person may write a choice: its code, its English label, its Vietnamese label (folded)."""
    lookup = {}
    for value, label in choices.choices:
        lookup[fold(value)] = value
        for language in ("en", "vi"):
            with translation.override(language):
                lookup[fold(str(label))] = value
    return lookup


YES = {"yes", "y", "x", "1", "true", "co", "dung"}
NO = {"no", "n", "0", "false", "khong", "sai"}
UNIT_NAMES = {fold(code): code for code in UNITS} | {"m³": "m3", "lit": "L", "litre": "L", "liter": "L", "tan": "t"}


@dataclass
class RowError:
    sheet: str
    row: int
    column: str  # the column's letter and header as in the file, or "" for the row as a whole
    message: str

    def as_dict(self) -> dict:
        return {"sheet": self.sheet, "row": self.row, "column": self.column, "message": self.message}


@dataclass
class Row:
    """A row of the file: its number, the values read from the columns present, and the columns it came from."""

    sheet: str
    number: int
    table: str
    values: dict = field(default_factory=dict)
    failed: bool = False


@dataclass
class Outcome:
    """What an import did or would do: counts by table and action, the rows' plan, errors and notes."""

    counts: dict = field(default_factory=dict)
    plan: list = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    row_count: int = 0

    @property
    def ok(self) -> bool:
        return not self.errors

    def count(self, table: str, action: str) -> None:
        self.counts.setdefault(table, {"create": 0, "update": 0, "unchanged": 0})[action] += 1


class Aborted(Exception):
    """Raised inside the import's transaction to roll it back (a preview, or an import with errors)."""


Progress = Callable[[str, int, int], None]


class Importer:
    """One run of an import for a user: `run(workbook, commit=False)` previews, `commit=True` writes (all or none)."""

    def __init__(self, user, *, language: str, progress: Progress | None = None):
        self.user = user
        self.language = language
        self.progress = progress or (lambda stage, done, total: None)
        self.outcome = Outcome()
        self.columns: dict[str, dict[str, tuple[int, str]]] = {}  # table -> key -> (index, header as written)

    # Reading ---------------------------------------------------------------------------------------------------

    def error(self, row: Row, column: str | None, message: str) -> None:
        """An error in a row: on the column of that key (letter and header as in the file), or on the row as a
        whole when `column` is None. The row is then left out of what is written."""
        where = ""
        if column in self.columns.get(row.table, {}):
            index, header = self.columns[row.table][column]
            where = f"{column_letter(index)} · {header}"
        elif column is not None:
            where = _field_label(row.table, column)
        self.outcome.errors.append(RowError(row.sheet, row.number, where, str(message)))
        row.failed = True

    def _find_tables(self, workbook: Workbook) -> dict[str, tuple[str, list[tuple[int, list]]]]:
        """Which sheet holds which table, judged by the headers; the header row is the first that names columns."""
        found: dict[str, tuple[str, list]] = {}
        for sheet in workbook.sheets:
            for position, (number, cells) in enumerate(sheet.rows[:10]):
                keys = {t.key: {HEADERS[t.key].get(_header_key(c)) for c in cells} - {None} for t in TABLES}
                # A table's header names its identifying columns and at least three of its columns in all (the
                # "Code, Name" headings of a list of parks are not a table of enterprises).
                table = next(
                    (t for t in reversed(TABLES) if set(t.identifying) <= keys[t.key] and len(keys[t.key]) >= 3),
                    None,
                )
                if table is None:
                    continue
                if table.key in found:
                    self.outcome.errors.append(
                        RowError(
                            sheet.name,
                            number,
                            "",
                            _("A second sheet of %(table)s: put all rows in one sheet.") % {"table": table.label},
                        )
                    )
                    break
                self._read_header(table, sheet.name, number, cells)
                found[table.key] = (sheet.name, sheet.rows[position + 1 :])
                break
        if not found and not self.outcome.errors:
            self.outcome.errors.append(
                RowError(
                    workbook.sheets[0].name if workbook.sheets else "",
                    1,
                    "",
                    _(
                        "No table of the template was found: the first row must hold its column headers, such as "
                        "“%(measure)s” or “%(enterprise)s”. Download the template to see them."
                    )
                    % {
                        "measure": MEASURE_COLUMNS[0].header(self.language),
                        "enterprise": ENTERPRISE_COLUMNS[0].header(self.language),
                    },
                )
            )
        return found

    def _read_header(self, table: Table, sheet: str, number: int, cells: list) -> None:
        columns: dict[str, tuple[int, str]] = {}
        ignored = []
        for index, cell in enumerate(cells):
            if cell == "":
                continue
            key = HEADERS[table.key].get(_header_key(cell))
            if key is None:
                ignored.append(f"{column_letter(index)} “{cell}”")
            elif key in columns:
                self.outcome.errors.append(
                    RowError(
                        sheet,
                        number,
                        f"{column_letter(index)} · {cell}",
                        _("This column appears twice (also column %(other)s).")
                        % {"other": column_letter(columns[key][0])},
                    )
                )
            else:
                columns[key] = (index, str(cell))
        for col in table.columns:
            if col.required and col.key not in columns:
                self.outcome.errors.append(
                    RowError(
                        sheet,
                        number,
                        "",
                        _("The column “%(column)s” is missing.") % {"column": col.header(self.language)},
                    )
                )
        if ignored:
            self.outcome.notes.append(
                _("%(table)s: these columns are not in the template and were left out: %(columns)s.")
                % {"table": table.label, "columns": ", ".join(ignored)}
            )
        self.columns[table.key] = columns

    def _number_reading(self, workbook: Workbook, tables) -> NumberReading:
        samples = []
        for key, (_sheet, rows) in tables.items():
            numeric = [
                (index, col)
                for col in TABLE[key].columns
                if col.kind in (NUMBER, YEAR) and col.key in self.columns[key]
                for index in [self.columns[key][col.key][0]]
            ]
            for number, cells in rows:
                for index, _col in numeric:
                    if index < len(cells) and isinstance(cells[index], str) and cells[index]:
                        samples.append((f"{column_letter(index)}{number}", cells[index]))
        return number_reading(samples, delimiter=workbook.delimiter, language=self.language)

    def _parse_rows(self, table: Table, sheet: str, rows: list) -> list[Row]:
        parsed = []
        lookups = {c.key: choice_lookup(c.choices) for c in table.columns if c.kind == CHOICE}
        present = self.columns[table.key]
        cols = [c for c in table.columns if c.key in present]
        for number, cells in rows:
            row = Row(sheet, number, table.key)
            for col in cols:
                index = present[col.key][0]
                raw = cells[index] if index < len(cells) else ""
                if raw == "":
                    if col.required:
                        self.error(row, col.key, _("This cell must not be empty."))
                    row.values[col.key] = None if col.kind != TEXT else ""
                    continue
                try:
                    row.values[col.key] = self._value(col, raw, lookups.get(col.key))
                except ValueError as exc:
                    self.error(row, col.key, exc.args[0] if exc.args else str(raw))
            parsed.append(row)
        return parsed

    def _value(self, col: Col, raw, lookup):
        """A cell as the register holds it; a ValueError carries the message for the user."""
        kind = col.kind
        if kind == TEXT:
            return str(raw) if not isinstance(raw, Decimal | float) else format(raw, "f")
        if kind in (NUMBER, YEAR):
            try:
                value = _parse_number(raw, self.reading)
            except ValueError:
                raise ValueError(NOT_A_NUMBER % {"text": raw, "example": self.reading.example}) from None
            if kind == YEAR:
                if value != value.to_integral_value():
                    raise ValueError(_("“%(text)s” is not a year.") % {"text": raw})
                return int(value)
            return value
        if kind == DATE:
            try:
                return parse_date(raw)
            except ValueError:
                raise ValueError(
                    _("“%(text)s” is not a date that exists (write dates as dd/mm/yyyy or yyyy-mm-dd).") % {"text": raw}
                ) from None
        if kind == CHOICE:
            value = lookup.get(fold(str(raw)))
            if value is None:
                raise ValueError(
                    _("“%(text)s” is not one of the allowed values (see the Lists sheet of the template).")
                    % {"text": raw}
                )
            return value
        if kind == BOOL:
            text = fold(str(raw))
            if text in YES or raw is True:
                return True
            if text in NO or raw is False:
                return False
            raise ValueError(_("“%(text)s” is not yes or no (có/không).") % {"text": raw})
        if kind == CURRENCY:
            text = str(raw).upper()
            if text not in Currency.values:
                raise ValueError(_("“%(text)s” is not a currency we take (VND or USD).") % {"text": raw})
            return text
        if kind == RESOURCE:
            resource = self.resources.get(fold(str(raw)))
            if resource is None:
                raise ValueError(_("“%(text)s” is not a known resource (see the Lists sheet).") % {"text": raw})
            return resource
        if kind == UNIT:
            unit = UNIT_NAMES.get(fold(str(raw)))
            if unit is None:
                raise ValueError(_("“%(text)s” is not a known unit (see the Lists sheet).") % {"text": raw})
            return unit
        raise AssertionError(kind)  # pragma: no cover

    def count_rows(self, workbook: Workbook) -> int:
        """How many rows of the template's tables the workbook has (to decide whether a task imports it)."""
        with translation.override(self.language):
            tables = self._find_tables(workbook)
        return sum(len(rows) for _sheet, rows in tables.values())

    # Running ---------------------------------------------------------------------------------------------------

    def run(self, workbook: Workbook, *, commit: bool) -> Outcome:
        """Read the workbook and write its rows in one transaction, kept only if `commit` and there is no error."""
        self.commit = commit
        with translation.override(self.language):
            self.resources = {}
            for resource in Resource.objects.all():
                for name in (resource.code, resource.name_vi, resource.name_en):
                    self.resources[fold(name)] = resource
            tables = self._find_tables(workbook)
            if self.outcome.errors:
                return self.outcome
            try:
                self.reading = self._number_reading(workbook, tables)
            except ValidationError as error:
                self.outcome.errors.append(RowError("", 0, "", error.messages[0]))
                return self.outcome
            self.outcome.notes.insert(0, self.reading.describe())
            if workbook.delimiter:
                self.outcome.notes.insert(
                    1,
                    _("The CSV file is separated by “%(delimiter)s”.")
                    % {"delimiter": _("semicolons") if workbook.delimiter == ";" else _("commas")},
                )
            parsed = {key: self._parse_rows(TABLE[key], sheet, rows) for key, (sheet, rows) in tables.items()}
            self.outcome.row_count = sum(len(rows) for rows in parsed.values())
            if not self.outcome.row_count:
                self.outcome.errors.append(
                    RowError(next(iter(tables.values()))[0], 0, "", _("The file has headers but no rows."))
                )
                return self.outcome
            try:
                with transaction.atomic(), audit_context(actor=self.user, channel="import"), rollup_once():
                    # One import (or preview: it writes, then rolls back) at a time: a second one waits here, then
                    # reads the rows the first wrote, and finds them unchanged or updates them, as a second upload of
                    # the same file does. Two imports of overlapping rows would otherwise lock them in two orders.
                    hold_until_commit(IMPORT_LOCK)
                    self.done = 0
                    if "enterprises" in parsed:
                        self._enterprises(parsed["enterprises"])
                    if "measures" in parsed:
                        self._measures(parsed["measures"])
                    if self.outcome.errors or not commit:
                        raise Aborted
            except Aborted:
                pass
            self.outcome.errors.sort(key=lambda e: (e.sheet, e.row))
            return self.outcome

    def _tick(self, stage: str) -> None:
        self.done += 1
        if self.done % 200 == 0 or self.done == self.outcome.row_count:
            self.progress(stage, self.done, self.outcome.row_count)

    def _plan(self, table: str, row: Row, reference: str, name: str, action: str, fields=()) -> None:
        self.outcome.count(table, action)
        if len(self.outcome.plan) < PLAN_LIMIT:
            self.outcome.plan.append(
                {
                    "table": table,
                    "row": row.number,
                    "reference": reference,
                    "name": name,
                    "action": action,
                    "fields": [str(f) for f in fields],
                }
            )

    def _service_errors(self, row: Row, error: ValidationError, fields_to_columns: dict | None = None) -> None:
        """A service's ValidationError on the row, each message on the column of its field when there is one."""
        mapping = fields_to_columns or {}
        if hasattr(error, "error_dict"):
            for name, errors in error.error_dict.items():
                column = None if name == NON_FIELD_ERRORS else mapping.get(name, name)
                for message in ValidationError(errors).messages:
                    self.error(row, column, message)
        else:
            for item in error.error_list:
                column = mapping.get(f"code:{item.code}")
                self.error(row, column, ValidationError([item]).messages[0])

    def _duplicates(self, rows: list[Row], key: str) -> None:
        first: dict[str, int] = {}
        for row in rows:
            value = row.values.get(key)
            if not value:
                continue
            if value in first:
                self.error(
                    row,
                    key,
                    _("“%(value)s” is already on row %(row)s of this file.") % {"value": value, "row": first[value]},
                )
            else:
                first[value] = row.number

    # Enterprises -----------------------------------------------------------------------------------------------

    def _enterprises(self, rows: list[Row]) -> None:
        self._duplicates(rows, "code")
        may_write = may_write_enterprises(self.user)
        parks = {p.code: p for p in parks_visible_to(self.user)}
        codes = [r.values["code"] for r in rows if r.values.get("code")]
        existing = {e.code: e for e in Enterprise.objects.filter(code__in=codes).select_related("park")}
        visible = set(enterprises_visible_to(self.user).filter(code__in=codes).values_list("code", flat=True))
        for row in rows:
            self._tick("enterprises")
            if row.failed:
                continue
            if not may_write:
                self.error(row, None, _("Only programme staff add or change enterprises."))
                continue
            values = dict(row.values)
            if "park" in values:
                park = parks.get(values["park"])
                if park is None:
                    self.error(
                        row,
                        "park",
                        _("No park has the code “%(code)s”.") % {"code": values["park"]},
                    )
                    continue
                values["park"] = park
            for key, empty in (("joined_programme", False), ("partner_consent", False), ("size", "")):
                if key in values and values[key] is None:
                    values[key] = empty
            code = values["code"]
            try:
                with transaction.atomic():
                    if code in existing:
                        enterprise = existing[code]
                        if code not in visible:
                            raise ValidationError({"code": _("This code is already used by another enterprise.")})
                        changes = {k: v for k, v in values.items() if getattr(enterprise, k) != v}
                        if not changes:
                            self._plan("enterprises", row, code, enterprise.name, "unchanged")
                            continue
                        enterprise_update(enterprise_id=enterprise.pk, changes=changes)
                        self._plan(
                            "enterprises",
                            row,
                            code,
                            values.get("name", enterprise.name),
                            "update",
                            [Enterprise._meta.get_field(k).verbose_name for k in changes],
                        )
                    else:
                        enterprise_create(enterprise=Enterprise(**values))
                        self._plan("enterprises", row, code, values["name"], "create")
            except ValidationError as error:
                self._service_errors(row, error)
            except IntegrityError:  # a rule only the database knows: the row is refused, the rest still checked
                self.error(row, None, _("The database refused this row."))

    # Measures --------------------------------------------------------------------------------------------------

    def _measures(self, rows: list[Row]) -> None:
        self._duplicates(rows, "reference")
        user = self.user
        self.parks = {p.code: p for p in parks_visible_to(user)}
        named = {r.values.get(key) for r in rows for key in ("enterprise", "source", "sink")} - {None, ""}
        self.enterprises = {e.code: e for e in enterprises_visible_to(user).filter(code__in=named)}
        self.organisations: dict[str, list[Organisation]] = {}
        for organisation in organisations_visible_to(user):
            for name in {fold(organisation.name_vi), fold(organisation.name_en or organisation.name_vi)}:
                self.organisations.setdefault(name, []).append(organisation)
        references = [r.values["reference"] for r in rows if r.values.get("reference")]
        existing = {
            m.reference: m
            for m in Measure.objects.filter(reference__in=references).prefetch_related("savings", "flows")
        }
        writable = set(measures_visible_to(user).filter(reference__in=references).values_list("reference", flat=True))
        new_items: list[tuple[Row, NewMeasure]] = []
        for row in rows:
            self._tick("measures")
            if row.failed:
                continue
            built = self._build(row)
            if built is None:
                continue
            fields, savings, flows = built
            reference = fields["reference"]
            if reference in existing:
                if reference not in writable:
                    self.error(
                        row,
                        "reference",
                        _("This reference is already used by a measure outside your parks."),
                    )
                    continue
                self._update(row, existing[reference], fields, savings, flows)
            else:
                status = fields.pop("status", None) or Measure.Status.IDENTIFIED
                measure = Measure(**fields, status=status)
                new_items.append((row, NewMeasure(measure, savings or [], flows or [])))
        if new_items:
            # A preview stops before the inserts: every check of the insert has run by then, the database's check
            # constraints included (an import the database still refuses is written not at all, its rows named).
            errors = measures_create_many([item for _row, item in new_items], created_by=user, write=self.commit)
            for index, row_errors in errors.items():
                row = new_items[index][0]
                for error in row_errors:
                    self._service_errors(row, error, self._line_columns(row))
            self.progress("write", self.outcome.row_count, self.outcome.row_count)
            if not errors:
                for row, item in new_items:
                    self._plan("measures", row, item.measure.reference, item.measure.title, "create")

    def _party(self, row: Row, key: str) -> dict | None:
        """The source or sink named in the cell, as the measure's three party fields (one set)."""
        text = row.values.get(key)
        fields = SOURCE_FIELDS if key == "source" else SINK_FIELDS
        if not text:
            return dict.fromkeys(fields)
        found = []
        if text in self.enterprises:
            found.append((fields[0], self.enterprises[text]))
        if text in self.parks:
            found.append((fields[1], self.parks[text]))
        found += [(fields[2], o) for o in self.organisations.get(fold(text), [])]
        if len(found) != 1:
            message = (
                _("“%(text)s” is not an enterprise code, a park code or an outside organisation's name.")
                if not found
                else _("“%(text)s” names more than one party; use the enterprise or park code.")
            )
            self.error(row, key, message % {"text": text})
            return None
        chosen = dict.fromkeys(fields)
        chosen[found[0][0]] = found[0][1]
        return chosen

    def _build(self, row: Row):
        """The measure's fields and its savings and flows (None where the file has no such columns); None on error."""
        values = row.values
        kind = values["kind"]
        fields = {k: v for k, v in values.items() if k in MEASURE_FIELDS}
        for key in ("investment_currency", "cost_currency"):
            if key in fields and fields[key] is None:
                fields[key] = Currency.USD
        for key in ("technique", "exchange_type", "status"):
            if key in fields and fields[key] is None:
                fields[key] = ""
        if "status" in fields and not fields["status"]:
            fields["status"] = Measure.Status.IDENTIFIED
        ok = True
        park = None
        if values.get("park"):
            park = self.parks.get(values["park"])
            if park is None:
                self.error(
                    row,
                    "park",
                    _("No park you may change has the code “%(code)s”.") % {"code": values["park"]},
                )
                ok = False
        if kind == Measure.Kind.RECP:
            enterprise = self.enterprises.get(values.get("enterprise") or "")
            if enterprise is None:
                message = (
                    _("No enterprise you may change has the code “%(code)s”.") % {"code": values["enterprise"]}
                    if values.get("enterprise")
                    else _("An RECP measure needs the code of its enterprise.")
                )
                self.error(row, "enterprise", message)
                return None
            if park is not None and park != enterprise.park:
                self.error(
                    row,
                    "park",
                    _("%(enterprise)s is in %(park)s.") % {"enterprise": enterprise.name, "park": enterprise.park.name},
                )
                ok = False
            if not values.get("technique"):
                self.error(row, "technique", _("An RECP measure needs its technique."))
                ok = False
            fields.update(enterprise=enterprise, park=enterprise.park, exchange_type="")
            fields.update(dict.fromkeys((*SOURCE_FIELDS, *SINK_FIELDS)))
        else:
            if park is None and ok:
                self.error(row, "park", _("An exchange needs the park whose totals count it."))
                ok = False
            if not values.get("exchange_type"):
                self.error(row, "exchange_type", _("An exchange needs its type."))
                ok = False
            for key in ("source", "sink"):
                if not values.get(key):
                    self.error(row, key, _("An exchange needs a source and a sink."))
                    ok = False
                    continue
                party = self._party(row, key)
                if party is None:
                    ok = False
                else:
                    fields.update(party)
            fields.update(park=park, enterprise=None, technique="")
        if not (values.get("title_vi") or values.get("title_en")):
            self.error(
                row,
                "title_vi" if "title_vi" in self.columns["measures"] else None,
                _("Give the measure a title, in Vietnamese or in English."),
            )
            ok = False
        status = fields.get("status") or Measure.Status.IDENTIFIED
        if status in Measure.REALISED_STATUSES and not values.get("implemented_on"):
            self.error(row, "implemented_on", _("An implemented measure needs this date."))
            ok = False
        if status in Measure.CLOSED_STATUSES and not values.get("status_reason"):
            self.error(row, "status_reason", _("Give the reason for rejecting or withdrawing."))
            ok = False
        if values.get("co2e_entered_t") is not None and not values.get("co2e_method"):
            self.error(
                row,
                "co2e_method",
                _("An entered tCO2e needs the method it was worked out with."),
            )
            ok = False
        savings = self._lines(row, "saving", SAVING_LINES)
        flows = self._lines(row, "flow", FLOW_LINES)
        if savings is False or flows is False or not ok:
            return None
        if flows and kind != Measure.Kind.IS:
            self.error(row, "flow_1_resource", _("Only a symbiosis exchange has resource flows."))
            return None
        return fields, savings, flows

    def _lines(self, row: Row, prefix: str, count: int):
        """The savings or flows typed in the row's column groups; None if the file has none of those columns,
        False after an error."""
        present = self.columns["measures"]
        if not any(f"{prefix}_{n}_resource" in present for n in range(1, count + 1)):
            return None
        lines = []
        ok = True
        for n in range(1, count + 1):
            keys = [f"{prefix}_{n}_{part}" for part in ("resource", "quantity", "unit")]
            resource, quantity, unit = (row.values.get(k) for k in keys)
            if resource is None and quantity is None and unit is None:
                continue
            for key, value in zip(keys, (resource, quantity, unit), strict=True):
                if value is None:
                    self.error(
                        row,
                        key if key in present else None,
                        _("Fill in the resource, the quantity and the unit of line %(n)s.") % {"n": n},
                    )
                    ok = False
                    break
            else:
                if prefix == "saving":
                    # A minus sign typed in the file is the confirmation that the measure increases use (the
                    # resource must still allow it): a spreadsheet has no tick box, and the sign is explicit.
                    lines.append(SavingInput(resource, quantity, unit, negative_confirmed=quantity < 0))
                else:
                    direction = row.values.get(f"{prefix}_{n}_direction") or ResourceFlow.Direction.FORWARD
                    lines.append(FlowInput(resource, quantity, unit, direction))
        return lines if ok else False

    def _line_columns(self, row: Row) -> dict:
        """Where the services' line errors go: the first line of the row (the message names the resource)."""
        prefix = "flow" if row.values.get("kind") == Measure.Kind.IS and self._has("flow_1_resource") else "saving"
        return {
            "code:unit": f"{prefix}_1_unit" if self._has(f"{prefix}_1_unit") else None,
            "code:negative": "saving_1_quantity",
            "code:not_positive": "flow_1_quantity",
            "code:implausible": f"{prefix}_1_quantity",
            "code:duplicate": "saving_1_resource",
            "code:flows": "flow_1_resource",
            **{f: "source" for f in SOURCE_FIELDS},
            **{f: "sink" for f in SINK_FIELDS},
        }

    def _has(self, key: str) -> bool:
        return key in self.columns["measures"]

    def _update(self, row: Row, measure: Measure, fields: dict, savings, flows) -> None:
        status = fields.pop("status", None)
        fields.pop("reference")
        status_reason = fields.pop("status_reason", None)
        implemented_on = fields.pop("implemented_on", None)
        if implemented_on and measure.implemented_on and implemented_on != measure.implemented_on:
            self.error(
                row,
                "implemented_on",
                _("The implementation date of an implemented measure is changed on its page."),
            )
            return
        changes = {k: v for k, v in fields.items() if not _same(measure, k, v)}
        if savings is not None:
            old = sorted((s.resource_id, s.quantity.normalize(), s.unit) for s in measure.savings.all())
            new = sorted((s.resource.pk, s.quantity.normalize(), s.unit) for s in savings)
            if old == new:
                savings = None
            else:  # verified values stay with their resource
                verified = {s.resource_id: s.verified_quantity for s in measure.savings.all()}
                savings = [
                    SavingInput(s.resource, s.quantity, s.unit, v, s.negative_confirmed or (v is not None and v < 0))
                    for s in savings
                    for v in [verified.get(s.resource.pk)]
                ]
        if flows is not None:
            old = sorted((f.resource_id, f.quantity.normalize(), f.unit, f.direction) for f in measure.flows.all())
            new = sorted((f.resource.pk, f.quantity.normalize(), f.unit, f.direction) for f in flows)
            if old == new:
                flows = None
        steps = self._steps(row, measure, status, implemented_on, status_reason)
        if steps is None:
            return
        if not changes and savings is None and flows is None and not steps:
            self._plan("measures", row, measure.reference, measure.title, "unchanged")
            return
        labels = [Measure._meta.get_field(k).verbose_name for k in changes]
        labels += [_("savings")] if savings is not None else []
        labels += [_("resource flows")] if flows is not None else []
        labels += [_("status")] if steps else []
        try:
            with transaction.atomic():
                if changes or savings is not None or flows is not None:
                    measure = measure_update(
                        measure_id=measure.pk, changes=changes, savings=savings, flows=flows, changed_by=self.user
                    )
                for to_status, effective_on in steps:
                    measure_transition(
                        measure=measure,
                        to_status=to_status,
                        changed_by=self.user,
                        effective_on=effective_on,
                        reason=status_reason or "",
                    )
        except IntegrityError:  # a rule only the database knows: the row is refused, the rest still checked
            self.error(row, None, _("The database refused this row."))
            return
        except ValidationError as error:
            self._service_errors(
                row,
                error,
                {
                    **self._line_columns(row),
                    "code:date": "implemented_on",
                    "code:future": "implemented_on",
                    "code:reason": "status_reason",
                },
            )
            return
        self._plan("measures", row, measure.reference, measure.title, "update", labels)

    def _steps(self, row: Row, measure: Measure, status, implemented_on, reason) -> list | None:
        """The lifecycle steps from the measure's status to the file's (forward only), with their dates."""
        if not status or status == measure.status:
            return []
        if status == Measure.Status.VERIFIED:
            self.error(
                row,
                "status",
                _("A measure is verified on its page, with the measured values and the evidence."),
            )
            return None
        today = timezone.localdate()
        if status in Measure.CLOSED_STATUSES and measure.status not in Measure.CLOSED_STATUSES:
            return [(status, today)]
        path, current = [], measure.status
        while current in NEXT_STATUS and current != status:
            current = NEXT_STATUS[current]
            path.append(current)
        if current != status:
            self.error(
                row,
                "status",
                _("A measure that is %(from)s cannot go back to %(to)s.")
                % {"from": measure.get_status_display(), "to": Measure.Status(status).label},
            )
            return None
        dates = []
        for step in path:
            if step == Measure.Status.IMPLEMENTED:
                dates.append((step, implemented_on or today))
            else:
                dates.append((step, min(today, implemented_on or today)))
        return dates


def _same(measure: Measure, name: str, new) -> bool:
    """Whether the measure already holds this value (a foreign key compared by id, without loading it)."""
    if name in FOREIGN_KEYS:
        return getattr(measure, f"{name}_id") == (new.pk if new is not None else None)
    old = getattr(measure, name)
    return (old is None and new == "") or old == new


FOREIGN_KEYS = {"park", "enterprise", *SOURCE_FIELDS, *SINK_FIELDS}


def _field_label(table: str, name: str) -> str:
    """A field named by a service, as the person reads it (source_enterprise is the source column)."""
    model = Enterprise if table == "enterprises" else Measure
    try:
        return str(model._meta.get_field(name).verbose_name)
    except Exception:
        return name
