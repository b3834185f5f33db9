"""Production settings plus the benchmark's floor endpoint (never part of the product's URLs)."""

from ecopark.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
