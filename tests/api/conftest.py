"""API clients: a partner's key, a park manager's key, staff by session and by key."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from ecopark.services import apikey_create


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters and cached counts of one test must not reach the next."""
    cache.clear()
    yield
    cache.clear()


def key_client(user, **key_fields) -> APIClient:
    api_key, key = apikey_create(owner=user, name="test script")
    if key_fields:
        for field, value in key_fields.items():
            setattr(api_key, field, value)
        api_key.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.api_key = api_key
    return client


@pytest.fixture
def partner_api(partner_user):
    return key_client(partner_user)


@pytest.fixture
def manager_api(manager_user):
    return key_client(manager_user)


@pytest.fixture
def staff_api(staff_user):
    return key_client(staff_user)
