"""List pages: filter, accent-insensitive search, sort, paginate and export a queryset the same way on every page.

A page declares its columns once; the table's sortable headers and the CSV and XLSX exports both come from them,
so an export holds exactly the rows and columns the filtered list shows.
"""

import csv
import datetime
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from ecopark.admin import spreadsheet_safe
from ecopark.text import fold
from ecopark.uploads import XLSX

PAGE_SIZES = (10, 25, 50, 100)
DEFAULT_PAGE_SIZE = 25
EXPORT_FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    """A column of a list: its key (in `?sort=` and the export), its header, its value for an export, and the
    database ordering that sorts by it (None: not sortable)."""

    key: str
    label: Any
    value: Callable[[Any], Any]
    order_by: tuple[str, ...] | None = None
    numeric: bool = False
    listed: bool = True  # False: in the export only


class Echo:
    """A file-like object whose write returns the line: csv.writer's output streamed without buffering."""

    def write(self, value: str) -> str:
        return value


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, int | float | Decimal | datetime.date):
        return value
    return spreadsheet_safe(str(value))


def search_words(q: str) -> list[str]:
    """The folded words of a search: every one must match ("dinh vu" finds "Đình Vũ")."""
    return [word for word in fold(q).split() if word][:8]


def search_text_matches(rows: QuerySet, words: list[str]) -> QuerySet:
    """Rows whose folded `search_text` holds every word."""
    for word in words:
        rows = rows.filter(search_text__contains=word)
    return rows


class ListPaginator(Paginator):
    """Pages of an ordered queryset, for lists of up to millions of rows.

    The count may come from the caller (kept between writes); a page nearer the end than the start is read in the
    reverse order, so that the last pages cost what the first do instead of skipping every row before them; and with
    `by_id`, the page's ids are chosen first (the filters and the ordering alone, which indexes answer) and then its
    rows read with their joins: PostgreSQL plans a join of many tables for longer than it takes to choose 25 rows.
    """

    def __init__(self, object_list, per_page, *, count: Callable[[QuerySet], int] | None = None, by_id: bool = False):
        super().__init__(object_list, per_page)
        self._count, self._by_id = count, by_id

    @cached_property
    def count(self) -> int:
        return super().count if self._count is None else self._count(self.object_list)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = min(bottom + self.per_page, self.count)
        if not self._by_id:
            return self._get_page(self._slice(self.object_list, bottom, top), number, self)
        ids = self._slice(self.object_list.values_list("pk", flat=True), bottom, top)
        found = self.object_list.order_by().in_bulk(ids)
        return self._get_page([found[pk] for pk in ids if pk in found], number, self)

    def _slice(self, rows: QuerySet, bottom: int, top: int) -> list:
        after = self.count - top
        if after >= bottom:
            return list(rows[bottom:top])
        # The ordering ends with a unique column (ListPage's tiebreak), so the reverse order is exactly reversed.
        return list(rows.reverse()[after : self.count - bottom])[::-1]


class ListPage:
    """One request's view of a list: the filter form, the search, the ordering, one page and the total count."""

    def __init__(
        self,
        request,
        *,
        queryset: QuerySet,
        filterset_class,
        columns: list[Column],
        default_sort: str,
        search: Callable[[QuerySet, list[str]], QuerySet] | None = None,
        tiebreak: str = "pk",
        count: Callable[[QuerySet], int] | None = None,
        by_id: bool = False,
    ) -> None:
        self.request = request
        self.columns = columns
        self.count = count  # how to count the rows (e.g. ecopark.counts.kept_count); None: a COUNT each time
        self.by_id = by_id  # choose the page's ids first, then read its rows (see ListPaginator)
        params = request.GET
        self.filterset = filterset_class(params or None, queryset=queryset, request=request)
        rows = self.filterset.qs if self.filterset.is_bound and self.filterset.is_valid() else queryset
        self.q = params.get("q", "").strip()[:200]
        words = search_words(self.q)
        if search and words:
            rows = search(rows, words)
        sortable = {c.key: c for c in columns if c.order_by}
        sort = params.get("sort", default_sort)
        key = sort.removeprefix("-")
        if key not in sortable:
            sort, key = default_sort, default_sort.removeprefix("-")
        self.sort = sort
        descending = sort.startswith("-")
        ordering = [f"-{f}" if descending else f for f in sortable[key].order_by]
        self.rows = rows.order_by(*ordering, f"-{tiebreak}" if descending else tiebreak)
        try:
            self.per_page = int(params.get("per_page", DEFAULT_PAGE_SIZE))
        except ValueError:
            self.per_page = DEFAULT_PAGE_SIZE
        if self.per_page not in PAGE_SIZES:
            self.per_page = DEFAULT_PAGE_SIZE

    def page(self):
        """The page asked for (the last one if the number is past the end)."""
        paginator = ListPaginator(self.rows, self.per_page, count=self.count, by_id=self.by_id)
        return paginator.get_page(self.request.GET.get("page"))

    def headers(self) -> list[dict]:
        """Each column's header with the link that sorts by it (ascending, or descending if sorted ascending)."""
        params = self.request.GET.copy()
        params.pop("page", None)
        headers = []
        for column in self.columns:
            if not column.listed:
                continue
            header = {"label": column.label, "numeric": column.numeric, "key": column.key, "sorted": None}
            if column.order_by:
                current = self.sort.removeprefix("-") == column.key
                descending = self.sort.startswith("-")
                params["sort"] = f"-{column.key}" if current and not descending else column.key
                header["url"] = "?" + params.urlencode()
                if current:
                    header["sorted"] = "descending" if descending else "ascending"
            headers.append(header)
        return headers

    page_sizes = PAGE_SIZES

    @property
    def query(self) -> str:
        """The current query without the page and export (for links that set them), ending in & if not empty."""
        params = self.request.GET.copy()
        for name in ("page", "export"):
            params.pop(name, None)
        query = params.urlencode()
        return f"{query}&" if query else ""

    @property
    def export_format(self) -> str | None:
        """ "csv" or "xlsx" when the request asks for an export (`?export=`), else None."""
        fmt = self.request.GET.get("export")
        return fmt if fmt in EXPORT_FORMATS else None

    def export(self, *, name: str) -> HttpResponse:
        """Every row the filter matches (not only this page), with the page's columns, as CSV or XLSX."""
        fmt = self.export_format
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        filename = f"{name}-{stamp}.{fmt}"
        headers = [str(c.label) for c in self.columns]
        rows = ([_cell(c.value(obj)) for c in self.columns] for obj in self.rows.iterator(chunk_size=2000))
        if fmt == "xlsx":
            response = HttpResponse(_xlsx(headers, rows, title=name), content_type=XLSX.media_type)
        else:
            response = StreamingHttpResponse(_csv_lines(headers, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


def _csv_lines(headers: list[str], rows: Iterable[list]) -> Iterable[str]:
    """The CSV text line by line, after a byte-order mark (spreadsheet programs then read Vietnamese as UTF-8)."""
    writer = csv.writer(Echo(), lineterminator="\r\n")
    yield "\ufeff"
    yield writer.writerow(headers)
    for row in rows:
        yield writer.writerow(row)


def _xlsx(headers: list[str], rows: Iterable[list], *, title: str) -> bytes:
    from openpyxl import Workbook  # only when an XLSX is asked for: not at every start
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    bold = Font(bold=True)
    header = [WriteOnlyCell(sheet, value=text) for text in headers]
    for cell in header:
        cell.font = bold
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
