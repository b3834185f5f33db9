"""The product's URLs and a floor: the same 50 measures as /api/v1/measures/, with .values() and JsonResponse."""

from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.urls import path

from ecopark.urls import urlpatterns as product

MEASURE_FIELDS = [
    "id", "reference", "kind", "park_id", "enterprise_id", "technique", "exchange_type", "source_enterprise_id",
    "source_park_id", "source_organisation_id", "sink_enterprise_id", "sink_park_id", "sink_organisation_id",
    "title_vi", "title_en", "status", "status_reason", "identified_on", "estimate_year", "implemented_on",
    "verified_on", "investment", "investment_currency", "annual_cost_saving", "cost_currency", "co2e_entered_t",
    "co2e_method", "co2e_justification", "reference_year", "electricity_kwh", "water_m3", "cost_usd", "cost_vnd",
    "co2e_t", "co2e_computed_t", "co2e_biogenic_t", "electricity_kwh_verified", "water_m3_verified",
    "co2e_verified_t", "figures_note", "version", "created_at", "updated_at",
]  # fmt: skip


@login_not_required
def floor(request):
    """The page's measures (`?page=n`, of 50), then the codes and names of its parks and enterprises: three plain
    queries."""
    from enterprises.models import Enterprise
    from measures.models import Measure
    from parks.models import Park

    start = (int(request.GET.get("page", "1")) - 1) * 50
    rows = list(Measure.objects.order_by("id").values(*MEASURE_FIELDS)[start : start + 50])
    park_ids = {r[f] for r in rows for f in ("park_id", "source_park_id", "sink_park_id")} - {None}
    firm_ids = {r[f] for r in rows for f in ("enterprise_id", "source_enterprise_id", "sink_enterprise_id")} - {None}
    parks = dict(Park.objects.order_by().filter(pk__in=park_ids).values_list("pk", "code"))
    firms = {pk: (code, name) for pk, code, name in
             Enterprise.objects.order_by().filter(pk__in=firm_ids).values_list("pk", "code", "name")}  # fmt: skip
    for row in rows:
        for field in ("park", "source_park", "sink_park"):
            row[field] = parks.get(row.pop(f"{field}_id"))
        for field in ("enterprise", "source_enterprise", "sink_enterprise"):
            code, name = firms.get(row.pop(f"{field}_id"), (None, None))
            row[field] = code
            if field == "enterprise":
                row["enterprise_name"] = name
    return JsonResponse({"results": rows})


urlpatterns = [*product, path("bench/floor/", floor)]
