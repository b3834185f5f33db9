"""Pages of 50 (up to 500) by number, or a cursor for full exports (`?cursor=` starts one, ordered by id)."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property
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
        return super().paginate_queryset(queryset, request, view)

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


class _IdCursor(CursorPagination):
    ordering = ("id",)  # a column every model has, readable from model instances and from `.values()` rows
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_ordering(self, request, queryset, view):
        return self.ordering

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
