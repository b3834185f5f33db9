"""Provinces and parks: read-only, scoped to the caller."""

from ecopark.api.views import ReadOnlyViewSet
from parks.api.serializers import ParkSerializer, ProvinceSerializer
from parks.filtersets import ParkFilterSet, ProvinceFilterSet
from parks.selectors import parks_visible_to, provinces_visible_to


class ProvinceViewSet(ReadOnlyViewSet):
    """The programme's provinces (a park manager: those of their parks)."""

    serializer_class = ProvinceSerializer
    filterset_class = ProvinceFilterSet
    ordering_fields = ["id", "code", "name_vi"]
    ordering = ["id"]

    def get_queryset(self):
        return provinces_visible_to(self.request.user)


class ParkViewSet(ReadOnlyViewSet):
    """The programme's industrial parks (a park manager: their own)."""

    serializer_class = ParkSerializer
    filterset_class = ParkFilterSet
    ordering_fields = ["id", "code", "name_vi", "area_ha"]
    ordering = ["id"]

    def get_queryset(self):
        return parks_visible_to(self.request.user)
