"""The OpenAPI schema: valid, complete, and the API keeps to it under generated requests (schemathesis)."""

import io

import pytest
import schemathesis
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from schemathesis import checks

from ecopark.wsgi import application
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db


def test_the_schema_is_valid_and_describes_every_endpoint_and_parameter():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    import json

    schema = json.loads(out.getvalue())
    paths = schema["paths"]
    for resource in ["provinces", "parks", "enterprises", "organisations", "measures", "resources",
                     "emission-factors", "exchange-rates", "targets"]:  # fmt: skip
        assert f"/api/v1/{resource}/" in paths and f"/api/v1/{resource}/{{id}}/" in paths
    names = {p["name"] for p in paths["/api/v1/rollups/"]["get"]["parameters"]}
    assert {"level", "id", "kind", "stage", "year"} <= names
    measure_params = {p["name"] for p in paths["/api/v1/measures/"]["get"]["parameters"]}
    assert {"page", "page_size", "cursor", "ordering", "park", "status", "year"} <= measure_params
    assert "bearerAuth" in schema["components"]["securitySchemes"]


def test_the_schema_and_the_docs_are_served(staff_api, staff_client):
    assert staff_api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").status_code == 200
    page = staff_client.get("/api/v1/docs/")
    assert page.status_code == 200 and b"swagger-ui" in page.content and b"cdn" not in page.content.lower()


def _schema():
    """The schema as the app generates it (no database needed), for schemathesis to generate requests from."""
    import django

    django.setup()
    from drf_spectacular.generators import SchemaGenerator
    from rest_framework.renderers import JSONRenderer

    raw = SchemaGenerator().get_schema(request=None, public=True)
    import json

    return schemathesis.openapi.from_dict(json.loads(JSONRenderer().render(raw)))


api_schema = _schema()
api_schema.app = application  # requests go straight to the WSGI app, inside the test's transaction


# No server error, and nothing that contradicts the schema: status, content type, body and headers; a request
# without the key must be refused.
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_schema_conformance,
    checks.response_headers_conformance,
    checks.ignored_auth,
]


@pytest.fixture
def _keep_the_test_connection():
    """Requests sent straight to the WSGI app would close the test's database connection at their end; Django's
    own test client prevents that the same way."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(staff_user, _keep_the_test_connection) -> str:
    return key_client(staff_user, requests_per_minute=100_000)._credentials["HTTP_AUTHORIZATION"]


@api_schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_the_api_keeps_to_its_schema(case, bearer):
    """Generated requests to every operation: no server error, and every answer as the schema describes it."""
    case.call_and_validate(headers={"Authorization": bearer}, checks=CHECKS)
