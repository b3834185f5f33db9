"""The REST API under /api/v1/: what every endpoint shares (keys, roles, pages, errors, CSV, throttling)."""
