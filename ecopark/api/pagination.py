"""Pages of 50 (up to 500) by number, or a cursor for full exports (`?cursor=` starts one, ordered by id).

A `page`, `page_size` or `cursor` that cannot be read answers 400 naming it (DRF would fall back to the default
size, or answer 404), and so does a `page_size` above 500 (DRF would give 500 rows without a word); a page past the
last one is 404."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.response import Response

from ecopark.counts import cached_count

PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


class ApiPagination(PageNumberPagination):
    """Page-number pages with `count`; with a `cursor` parameter, cursor pages (no count, stable under inserts)."""

    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    cursor_query_param = "cursor"

    def paginate_queryset(self, queryset, request, view=None):
        if self.cursor_query_param in request.query_params:
            self._cursor = _IdCursor()
            return self._cursor.paginate_queryset(queryset, request, view)
        self._cursor = None
        number = request.query_params.get(self.page_query_param)
        if number not in (None, "", *self.last_page_strings) and _whole_number(number) is None:
            raise ValidationError({self.page_query_param: [_("A page is a whole number from 1, or last.")]})
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        return _page_size(request, self.page_size_query_param)

    def get_paginated_response(self, data):
        if self._cursor is not None:
            return self._cursor.get_paginated_response(data)
        return super().get_paginated_response(data)

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results"],
            "properties": {
                "count": {"type": "integer", "description": "Rows the filter matches (page-number mode only)."},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["maximum"] = MAX_PAGE_SIZE
                parameter["description"] = f"Rows per page, from 1 to {MAX_PAGE_SIZE} (more answers 400)."
        parameters.append(
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Cursor mode for full exports: send it empty to start, then follow `next`. "
                "Ordered by id; `page` and `ordering` are ignored.",
                "schema": {"type": "string"},
            }
        )
        return parameters


def _whole_number(text: str) -> int | None:
    """The number a query value gives, if it is a whole number from 1 (digits only: no sign, no decimals)."""
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and int(text) >= 1 else None


def _page_size(request, param: str) -> int:
    """The page size asked for; one that is not a whole number from 1 to MAX_PAGE_SIZE is a 400 naming `param` (a
    larger one is refused rather than cut: the caller would otherwise take 500 rows for all it asked)."""
    sent = request.query_params.get(param)
    if sent in (None, ""):
        return PAGE_SIZE
    size = _whole_number(sent)
    if size is None or size > MAX_PAGE_SIZE:
        raise ValidationError(
            {param: [_("The page size is a whole number from 1 to %(max)s.") % {"max": MAX_PAGE_SIZE}]}
        )
    return size


class _IdCursor(CursorPagination):
    ordering = ("id",)  # a column every model has, readable from model instances and from `.values()` rows
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_ordering(self, request, queryset, view):
        return self.ordering

    def get_page_size(self, request):
        return _page_size(request, self.page_size_query_param)

    def decode_cursor(self, request):
        # A cursor is only ever one this API gave in `next` or `previous`: anything else is the caller's error (400,
        # not DRF's 404), and a position that is not an id would reach the database as one.
        invalid = ValidationError(
            {"cursor": [_("This cursor is not one the API gave; start again with cursor= empty.")]}
        )
        try:
            cursor = super().decode_cursor(request)
        except NotFound:
            raise invalid from None
        if cursor is not None and cursor.position is not None and _whole_number(cursor.position) is None:
            raise invalid
        return cursor

    def get_paginated_response(self, data):
        return Response({"next": self.get_next_link(), "previous": self.get_previous_link(), "results": data})


class CachedCountPaginator(Paginator):
    """A paginator whose count is remembered between writes of its table (ecopark.counts), under `scope`."""

    def __init__(self, object_list, per_page, *, scope: str, version: str):
        super().__init__(object_list, per_page)
        self.scope, self.version = scope, version

    @cached_property
    def count(self) -> int:
        def count() -> int:
            return super(CachedCountPaginator, self).count

        return cached_count(self.object_list, count, scope=self.scope, version=self.version)


# Query parameters that choose a page, its order or its format, never which rows: the count does not depend on them.
NOT_FILTERS = frozenset({"page", "page_size", "ordering", "format", "cursor"})


class CachedCountPagination(ApiPagination):
    """For the measures (a million rows): the same pages, with the count kept between writes.

    The count is kept under the view's `count_basis`: what its queryset depends on besides the filters (the caller's
    parks) with the filters sent, which together decide the rows counted; and the version of the table it read.
    """

    def paginate_queryset(self, queryset, request, view=None):
        filters = sorted((name, value) for name, values in request.query_params.lists() if name not in NOT_FILTERS
                         for value in values)  # fmt: skip
        scope, self._count_version = view.count_basis(request)
        self._count_scope = f"{scope}|{filters!r}"
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, queryset, page_size):  # called by DRF as a class would be
        return CachedCountPaginator(queryset, page_size, scope=self._count_scope, version=self._count_version)
