"""/api/v1/: every endpoint, the OpenAPI schema and its interactive documentation."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import SimpleRouter

from enterprises.api.views import EnterpriseViewSet, OrganisationViewSet
from measures.api.views import EmissionFactorViewSet, ExchangeRateViewSet, MeasureViewSet, ResourceViewSet
from parks.api.views import ParkViewSet, ProvinceViewSet
from reports.api.views import DashboardView, ProgrammeTargetViewSet, RollupView

router = SimpleRouter()
router.register("provinces", ProvinceViewSet, basename="province")
router.register("parks", ParkViewSet, basename="park")
router.register("enterprises", EnterpriseViewSet, basename="enterprise")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("measures", MeasureViewSet, basename="measure")
router.register("resources", ResourceViewSet, basename="resource")
router.register("emission-factors", EmissionFactorViewSet, basename="emissionfactor")
router.register("exchange-rates", ExchangeRateViewSet, basename="exchangerate")
router.register("targets", ProgrammeTargetViewSet, basename="target")

app_name = "api"
urlpatterns = [
    *router.urls,
    path("rollups/", RollupView.as_view(), name="rollups"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]
# Keys are not sessions: DRF checks who is calling (401 without a key or session), not the log-in middleware
# (DRF's views say so themselves). The documentation is a page for people: it sends them to log in first.
urlpatterns.append(
    path("docs/", login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema")), name="docs")
)
