"""Production smoke check: /healthz answers 200 with database and broker ok, and the Celery worker does real work."""

import json
import os
import sys
import time
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
