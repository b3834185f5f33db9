"""Enterprises (staff may write) and outside organisations (read-only), scoped to the caller."""

from ecopark.api.views import ModelViewSet, ReadOnlyViewSet
from enterprises.api.serializers import EnterpriseSerializer, OrganisationSerializer
from enterprises.filtersets import EnterpriseFilterSet, OrganisationFilterSet
from enterprises.selectors import enterprises_visible_to, organisations_visible_to


class EnterpriseViewSet(ModelViewSet):
    """Enterprises in the caller's parks. Partners see the names only of enterprises that consented."""

    serializer_class = EnterpriseSerializer
    filterset_class = EnterpriseFilterSet
    ordering_fields = ["id", "code"]  # not by name: partners must not learn withheld names from the order
    ordering = ["id"]

    def get_queryset(self):
        return enterprises_visible_to(self.request.user)


class OrganisationViewSet(ReadOnlyViewSet):
    """City agencies, utilities and others that take part in symbiosis exchanges."""

    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilterSet
    ordering_fields = ["id", "name_vi"]
    ordering = ["id"]

    def get_queryset(self):
        return organisations_visible_to(self.request.user)
