"""Programme targets, and the roll-ups: the same rows the dashboards read, scoped and cacheable (ETag)."""

import contextlib
import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.http import Http404
from django.utils.http import http_date, parse_http_date_safe, quote_etag
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from ecopark.api.fields import withholds_confidential
from ecopark.api.permissions import PageReaders
from ecopark.api.views import AuditedMixin, ReadOnlyViewSet
from enterprises.selectors import enterprises_visible_to
from parks.selectors import provinces_visible_to, visible_park_ids
from reports.api.serializers import (
    DashboardQuerySerializer,
    DashboardSerializer,
    ProgrammeTargetSerializer,
    RollupQuerySerializer,
    RollupResponseSerializer,
)
from reports.dashboards import dashboard, scope_for
from reports.disclosure import PROTECTED, catching_up, withheld_for_partners
from reports.models import ProgrammeTarget, RollupRow
from reports.selectors import as_of, enterprise_as_of, enterprise_rows
from reports.services import FIGURES as ROLLED_UP

FIGURES = (*ROLLED_UP, "measure_count", "enterprise_count")
MONEY = list(PROTECTED)  # withheld from partners where the disclosure rule says so


class ProgrammeTargetViewSet(ReadOnlyViewSet):
    """The programme's targets (e.g. 612 RECP options for 68 enterprises) with their source."""

    serializer_class = ProgrammeTargetSerializer
    queryset = ProgrammeTarget.objects.all()
    filterset_fields = ["indicator"]
    ordering_fields = ["id", "indicator"]
    ordering = ["id"]


def _table_rows(user, query: dict, withheld: frozenset) -> list[dict]:
    """Rows of the roll-up table for a programme, province or park query, within the caller's scope; the money of
    the `withheld` cells is left out."""
    level = query["level"]
    rows = RollupRow.objects.filter(
        level=level, kind=query["kind"], technique=query["technique"], year=query["year"]
    ).order_by("scope_id", "stage")
    if "stage" in query:
        rows = rows.filter(stage=query["stage"])
    if level == RollupRow.Level.PROVINCE:
        visible = set(provinces_visible_to(user).values_list("pk", flat=True))
    elif level == RollupRow.Level.PARK:
        ids = visible_park_ids(user)
        visible = None if ids is None else set(ids)
    else:
        visible = None
    if "id" in query and level != RollupRow.Level.PROGRAMME:
        if visible is not None and query["id"] not in visible:
            raise Http404
        rows = rows.filter(scope_id=query["id"])
    elif visible is not None:
        rows = rows.filter(scope_id__in=visible)
    return [
        _withhold(
            {"level": r.level, "id": None if level == RollupRow.Level.PROGRAMME else r.scope_id, "kind": r.kind,
             "technique": r.technique, "stage": r.stage, "year": r.year, **{f: getattr(r, f) for f in FIGURES},
             "as_of": r.computed_at},
            (r.level, r.scope_id, r.kind, r.technique, r.stage, r.year) in withheld,
        )
        for r in rows
    ]  # fmt: skip


def _withhold(row: dict, withheld: bool) -> dict:
    """The row as the caller may read it: the protected money null and named when withheld."""
    if withheld:
        row.update(dict.fromkeys(MONEY))
    return {**row, "withheld": MONEY if withheld else [], "suppressed": withheld}


def _enterprise_rows(request, query: dict, withheld: frozenset) -> list[dict]:
    """An enterprise's rows, computed from its measures; partners never see a non-consenting one's money, nor a
    consenting one's where it would show a non-consenting partner's in an exchange (`withheld`)."""
    enterprise = enterprises_visible_to(request.user).filter(pk=query["id"]).first()
    if enterprise is None:
        raise Http404
    # A non-consenting enterprise's own money, ever; a consenting one's while a change to its measures waits for the
    # table (its cells are computed as they are now, the rule decided on the table's).
    own = withholds_confidential(request) and (not enterprise.partner_consent or catching_up(enterprise.pk))
    latest = enterprise_as_of(enterprise.pk)
    rows = []
    for row in enterprise_rows(enterprise.pk):
        if (row["kind"], row["technique"], row["year"]) != (query["kind"], query["technique"], query["year"]):
            continue
        if "stage" in query and row["stage"] != query["stage"]:
            continue
        key = ("enterprise", enterprise.pk, row["kind"], row["technique"], row["stage"], row["year"])
        rows.append(
            _withhold(
                {"level": "enterprise", "id": enterprise.pk, "kind": row["kind"], "technique": row["technique"],
                 "stage": row["stage"], "year": row["year"], **{f: row[f] for f in FIGURES}, "as_of": latest},
                own or key in withheld,
            )
        )  # fmt: skip
    return rows


@contextlib.contextmanager
def _one_snapshot():
    """The rows and what the disclosure rule reads, from one snapshot of the database on PostgreSQL, so that a roll-up
    committed in between cannot pair new rows with an older account of them. (SQLite, the embedded default, runs
    no read transaction here: every transaction takes its write lock.)"""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


class RollupView(AuditedMixin, APIView):
    """Savings rolled up by programme, province, park or enterprise; potential, realised and verified.

    The dashboards read the same rows. Poll cheaply: send the `ETag` back as `If-None-Match` (or `Last-Modified`
    as `If-Modified-Since`) and an unchanged answer is `304 Not Modified` with no body.

    **Disclosure rule (partners' keys).** Partners do not see the money of a measure in which an enterprise that did
    not consent takes part. A row's `cost_usd` and `cost_vnd` are therefore `null`, listed in `withheld`, with
    `suppressed: true` (never a zero), wherever the row, alone or added to and subtracted from the other rows and the
    money the measures list shows, would let a partner work out withheld money of fewer than 3 non-consenting
    enterprises, or money of which one of them holds 85 % or more (USD or VND). The thresholds are the *Disclosure
    rule* in the admin. Coarser rows are kept first: all kinds and years before one, the programme before provinces,
    parks and enterprises, potential before realised and verified. A non-consenting enterprise's own rows are always
    suppressed; a consenting one's by the same rule where its exchanges with non-consenting enterprises are in them,
    and for the few seconds a change to its measures waits for the roll-up. Savings (kWh, m3, tCO2e) and counts are
    never suppressed (partners read them per measure). A row with `suppressed: false` holds every measure. Staff and
    park managers always get every figure.
    """

    @extend_schema(
        parameters=[RollupQuerySerializer],
        responses={
            200: RollupResponseSerializer,
            304: OpenApiResponse(description="Unchanged since the ETag or date sent."),
        },
    )
    def get(self, request):
        params = RollupQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        partner = withholds_confidential(request)
        with _one_snapshot() if partner else contextlib.nullcontext():
            withheld = withheld_for_partners() if partner else frozenset()
            if query["level"] == "enterprise":
                rows = _enterprise_rows(request, query, withheld)
            else:
                rows = _table_rows(request.user, query, withheld)
        stamps = [row["as_of"] for row in rows if row["as_of"] is not None]
        body = RollupResponseSerializer({"as_of": as_of(stamps), "results": rows}).data
        figures = [{k: v for k, v in row.items() if k != "as_of"} for row in body["results"]]
        etag = quote_etag(hashlib.sha256(json.dumps(figures, cls=DjangoJSONEncoder).encode()).hexdigest()[:32])
        newest = max(stamps) if stamps else None
        response = Response(status=304) if self._unchanged(request, etag, newest) else Response(body)
        response["ETag"] = etag
        if newest is not None:
            response["Last-Modified"] = http_date(newest.timestamp())
        response["Cache-Control"] = "private, no-cache"
        return response

    @staticmethod
    def _unchanged(request, etag: str, newest) -> bool:
        sent = request.headers.get("If-None-Match")
        if sent is not None:
            return etag in [tag.strip() for tag in sent.split(",")] or sent.strip() == "*"
        since = parse_http_date_safe(request.headers.get("If-Modified-Since", ""))
        return since is not None and newest is not None and int(newest.timestamp()) <= since


class DashboardView(AuditedMixin, APIView):
    """A dashboard's data (programme, province, park or enterprise), as the dashboard pages draw it.

    For the people who use the pages (programme staff and park managers); partners read the same roll-up rows
    through `/rollups/`. A scope outside the caller's parks answers 404.
    """

    permission_classes = [PageReaders]

    @extend_schema(parameters=[DashboardQuerySerializer], responses={200: DashboardSerializer})
    def get(self, request):
        params = DashboardQuerySerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        query = params.validated_data
        scope = scope_for(request.user, query["level"], query.get("id", 0))
        return Response(dashboard(request.user, scope, kind=query["kind"], year=query["year"]))
