"""Production smoke check: /healthz answers 200 with database and broker ok, and the Celery worker does real work."""

import json
import os
import sys
import time
import urllib.error
import urllib.request

import django

base = sys.argv[1]
deadline = time.monotonic() + 60
while True:
    try:
        with urllib.request.urlopen(f"{base}/healthz", timeout=5) as response:  # noqa: S310 (http on loopback)
            body = json.load(response)
            assert response.status == 200, response.status
            break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.5)
assert body == {"status": "ok", "database": "ok", "broker": "ok"}, body
print("healthz:", body)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ecopark.settings.production")
django.setup()
from measures.models import Measure  # noqa: E402
from measures.tasks import recompute_measure_co2e  # noqa: E402

measure = Measure.objects.exclude(co2e_computed_t=0).order_by("pk").first()
expected = measure.co2e_t
Measure.objects.filter(pk=measure.pk).update(co2e_t=0, co2e_computed_t=0)
result = recompute_measure_co2e.delay([measure.pk]).get(timeout=60)
measure.refresh_from_db()
assert result == 1 and measure.co2e_t == expected, (result, measure.co2e_t, expected)
print(f"worker recomputed {measure.reference}: {measure.co2e_t} tCO2e")

# The API through gunicorn with production settings: a partner's key, the programme's roll-up, a page of measures.
from ecopark.services import partner_create  # noqa: E402

_api_key, key = partner_create(name="CI smoke partner", days=1)
headers = {"Authorization": f"Bearer {key}", "X-Forwarded-Proto": "https", "Accept-Language": "en"}
for path in [
    "/api/v1/rollups/?level=programme&stage=potential",
    "/api/v1/measures/?page_size=5",
    "/api/v1/measures/?page_size=5",
]:  # fmt: skip (the second page comes from the cached key and count)
    request = urllib.request.Request(base + path, headers=headers)  # noqa: S310 (http on loopback)
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200, (path, response.status)
        data = json.load(response)
    assert data["results"], (path, data)
    print(f"API {path}: {len(data['results'])} rows")
request = urllib.request.Request(base + "/api/v1/measures/", data=b"{}", headers=headers, method="POST")  # noqa: S310
try:
    urllib.request.urlopen(request, timeout=10)  # noqa: S310
    raise AssertionError("a partner could write")
except urllib.error.HTTPError as refused:
    assert refused.code == 403, refused.code
print("API: partner read works, partner write refused")
