"""Measures (staff write; park managers too when the programme allows) and the reference data behind figures."""

from django.db.models import Prefetch
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from ecopark.api.exceptions import Conflict
from ecopark.api.pagination import CachedCountPagination
from ecopark.api.views import CachedListMixin, ModelViewSet, ReadOnlyViewSet, parks_scope
from ecopark.audit import entries_as_data
from ecopark.counts import REGISTER
from measures.api.serializers import (
    LIST_RELATED,
    EmissionFactorSerializer,
    ExchangeRateSerializer,
    MeasureListSerializer,
    MeasureSerializer,
    ResourceSerializer,
    TransitionSerializer,
)
from measures.filtersets import MeasureFilterSet
from measures.models import (
    Co2eTrailLine,
    EmissionFactor,
    ExchangeRate,
    Measure,
    MeasureSaving,
    Resource,
    ResourceFlow,
)
from measures.selectors import LIST_COLUMNS, changes_since, measure_rows, measures_visible_to
from measures.services import StaleEdit, measure_delete, measure_transition


class MeasureViewSet(CachedListMixin, ModelViewSet):
    """RECP measures and symbiosis exchanges counted in the caller's parks, with their figures.

    Partners see enterprise names and financial fields only where every enterprise taking part consented.
    """

    list_cache_versions = (Measure._meta.db_table, REGISTER)  # every write of measures, and of their parties

    filterset_class = MeasureFilterSet
    pagination_class = CachedCountPagination
    ordering_fields = ["id", "reference", "estimate_year", "reference_year", "co2e_t", "electricity_kwh", "water_m3",
                       "updated_at"]  # fmt: skip
    ordering = ["id"]
    park_managers_may_write = True

    def get_serializer_class(self):
        return MeasureListSerializer if self.action == "list" else MeasureSerializer

    def get_queryset(self):
        measures = measures_visible_to(self.request.user)
        if self.action == "list":
            # Read as rows; the page's parks and enterprises are attached after paging (measure_rows).
            return measures.values(*LIST_COLUMNS)
        return measures.select_related(*LIST_RELATED).prefetch_related(
            Prefetch("savings", MeasureSaving.objects.select_related("resource")),
            Prefetch("flows", ResourceFlow.objects.select_related("resource")),
            Prefetch("co2e_trail", Co2eTrailLine.objects.select_related("resource", "factor")),
            "status_changes__changed_by",
        )

    def count_basis(self, request) -> tuple[str, str]:
        """What the list's rows depend on besides the filters, and the version of the measures, for the count."""
        return parks_scope(request.user), self.list_versions()[Measure._meta.db_table]

    def paginate_queryset(self, queryset):
        # The count and the page's parks and enterprises are kept under the versions the list cache's key holds
        # (read once, with the key or here).
        page = super().paginate_queryset(queryset)
        return page if page is None else measure_rows(list(page), register_version=self.list_versions()[REGISTER])

    def perform_update(self, serializer):
        try:
            serializer.save()
        except StaleEdit as exc:
            current = Measure.objects.get(pk=serializer.instance.pk)
            since = changes_since(current, serializer.validated_data.get("version")) or []
            raise Conflict(exc.messages[0], changes=entries_as_data(since), version=current.version) from exc

    def perform_destroy(self, instance):
        measure_delete(measure_id=instance.pk, deleted_by=self.request.user)

    @extend_schema(request=TransitionSerializer, responses=MeasureSerializer)
    @action(detail=True, methods=["post"])
    def transition(self, request, pk=None):
        """Move the measure along its lifecycle (propose, accept, implement, verify, reject, withdraw)."""
        measure = self.get_object()
        step = TransitionSerializer(data=request.data)
        step.is_valid(raise_exception=True)
        measure_transition(measure=measure, changed_by=request.user, **step.validated_data)
        fresh = self.get_queryset().get(pk=measure.pk)
        return Response(MeasureSerializer(fresh, context=self.get_serializer_context()).data, status=status.HTTP_200_OK)


class ResourceViewSet(ReadOnlyViewSet):
    """What measures save and exchanges move, with the canonical unit each is counted in."""

    serializer_class = ResourceSerializer
    queryset = Resource.objects.all()
    filterset_fields = ["code", "category"]
    ordering_fields = ["id", "code"]
    ordering = ["id"]


class EmissionFactorViewSet(ReadOnlyViewSet):
    """Emission factors with their year and source (the grid factor of each year, IPCC fuel defaults)."""

    serializer_class = EmissionFactorSerializer
    queryset = EmissionFactor.objects.select_related("resource")
    filterset_fields = ["resource__code", "region", "year", "basis", "is_official"]
    ordering_fields = ["id", "year"]
    ordering = ["id"]


class ExchangeRateViewSet(ReadOnlyViewSet):
    """Annual average exchange rates (VND per USD) with their source."""

    serializer_class = ExchangeRateSerializer
    queryset = ExchangeRate.objects.all()
    filterset_fields = ["currency", "year", "is_official"]
    ordering_fields = ["id", "year"]
    ordering = ["id"]
