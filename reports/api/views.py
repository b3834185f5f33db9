"""Programme targets, and the roll-ups: the same rows the dashboards read, scoped and cacheable (ETag)."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder
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
from reports.models import ProgrammeTarget, RollupRow
from reports.selectors import as_of, enterprise_as_of, enterprise_rows
from reports.services import FIGURES as ROLLED_UP

FIGURES = (*ROLLED_UP, "measure_count", "enterprise_count")
MONEY = ["cost_usd", "cost_vnd"]  # withheld from partners where an enterprise did not consent


class ProgrammeTargetViewSet(ReadOnlyViewSet):
    """The programme's targets (e.g. 612 RECP options for 68 enterprises) with their source."""

    serializer_class = ProgrammeTargetSerializer
    queryset = ProgrammeTarget.objects.all()
    filterset_fields = ["indicator"]
    ordering_fields = ["id", "indicator"]
    ordering = ["id"]


def _table_rows(user, query: dict) -> list[dict]:
    """Rows of the roll-up table for a programme, province or park query, within the caller's scope."""
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
        {"level": r.level, "id": None if level == RollupRow.Level.PROGRAMME else r.scope_id, "kind": r.kind,
         "technique": r.technique, "stage": r.stage, "year": r.year, **{f: getattr(r, f) for f in FIGURES},
         "as_of": r.computed_at, "withheld": []}
        for r in rows
    ]  # fmt: skip


def _enterprise_rows(request, query: dict) -> list[dict]:
    """An enterprise's rows, computed from its measures; partners do not see a non-consenting one's cost."""
    enterprise = enterprises_visible_to(request.user).filter(pk=query["id"]).first()
    if enterprise is None:
        raise Http404
    withhold = withholds_confidential(request) and not enterprise.partner_consent
    latest = enterprise_as_of(enterprise.pk)
    rows = []
    for row in enterprise_rows(enterprise.pk):
        if (row["kind"], row["technique"], row["year"]) != (query["kind"], query["technique"], query["year"]):
            continue
        if "stage" in query and row["stage"] != query["stage"]:
            continue
        rows.append(
            {"level": "enterprise", "id": enterprise.pk, "kind": row["kind"], "technique": row["technique"],
             "stage": row["stage"], "year": row["year"], **{f: row[f] for f in FIGURES}, "as_of": latest,
             "withheld": MONEY if withhold else []}
        )  # fmt: skip
        if withhold:
            rows[-1].update(dict.fromkeys(MONEY))
    return rows


class RollupView(AuditedMixin, APIView):
    """Savings rolled up by programme, province, park or enterprise; potential, realised and verified.

    The dashboards read the same rows. Poll cheaply: send the `ETag` back as `If-None-Match` (or `Last-Modified`
    as `If-Modified-Since`) and an unchanged answer is `304 Not Modified` with no body.
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
        rows = _enterprise_rows(request, query) if query["level"] == "enterprise" else _table_rows(request.user, query)
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
