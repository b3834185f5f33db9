"""The dashboards at scale: server time of each level's page (Django's test client in-process, no network), against
a floor measured in the same run (the bare /healthz endpoint through the same client), with the queries counted; and
the JavaScript a dashboard page loads."""

import statistics
import time

from bench.run import ROOT
from bench.timing import counted, p95, timed

REQUESTS = 60


def _get(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def measure_dashboards() -> dict:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from ecopark.roles import Role, ensure_role_groups
    from parks.models import Park

    ensure_role_groups()
    user, _ = get_user_model().objects.get_or_create(username="bench-dashboards")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    client = Client()
    client.force_login(user)
    park = Park.objects.annotate(n=Count("measures")).order_by("-n").first()
    pages = {
        "programme": reverse("reports:dashboard"),
        "province": reverse("reports:dashboard_scope", args=["province", park.province_id]),
        "park": reverse("reports:dashboard_scope", args=["park", park.pk]),
        "park data (API)": reverse("api:dashboard") + f"?level=park&id={park.pk}",
    }
    floor = timed(lambda: _get(client, reverse("healthz")), requests=REQUESTS)
    results = {"floor_p95": p95(floor), "floor_p50": statistics.median(floor), "park_measures": park.n, "pages": {}}
    for name, url in pages.items():
        _get(client, url)  # warm: content types, translations, the cached counts
        queries, _ms = counted(lambda url=url: _get(client, url))
        times = timed(lambda url=url: _get(client, url), requests=REQUESTS)
        results["pages"][name] = {"p95": p95(times), "p50": statistics.median(times), "queries": queries}
    scripts = ["node_modules/echarts/dist/echarts.min.js", "node_modules/htmx.org/dist/htmx.min.js",
               "ecopark/static/ecopark/dashboard.js", "ecopark/static/ecopark/app.js"]  # fmt: skip
    # The first request after a change to the register counts the measures afresh (then it is kept in the cache).
    from ecopark.counts import REGISTER, bump_count_version

    cold = []
    for _ in range(5):
        bump_count_version(REGISTER)
        started = time.perf_counter()
        client.get(pages["programme"])
        cold.append((time.perf_counter() - started) * 1000)
    results["cold_programme_ms"] = statistics.median(cold)
    results["script_bytes"] = sum((ROOT / path).stat().st_size for path in scripts)
    return results
