"""Project-wide views: the health check."""

import logging

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.db import connection
from django.http import JsonResponse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def _check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any failure means "not ok"; the log keeps the detail
        logger.exception("health check: database")
        return "error"
    return "ok"


def _check_broker() -> str:
    import redis

    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
        client.ping()
    except Exception:
        logger.exception("health check: broker")
        return "error"
    return "ok"


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """200 when the database (and the broker, when one is configured) answers; 503 otherwise."""
    checks = {"database": _check_database()}
    if settings.REDIS_URL:
        checks["broker"] = _check_broker()
    healthy = all(value == "ok" for value in checks.values())
    return JsonResponse({"status": "ok" if healthy else "error", **checks}, status=200 if healthy else 503)


def not_found(request, exception=None):
    """404: JSON in the API's error shape under /api/, the usual page elsewhere."""
    from django.views.defaults import page_not_found

    from ecopark.middleware import API_PREFIX

    if request.path.startswith(API_PREFIX):
        error = {"status": 404, "code": "not_found", "message": str(_("Not found."))}
        return JsonResponse({"error": error}, status=404)
    return page_not_found(request, exception)


def server_error(request):
    """500: JSON in the API's error shape under /api/, the usual page elsewhere. A statement cancelled by the
    statement timeout before any view ran (in a middleware: the session, the user) answers the 503 a view's would."""
    import sys

    from django.views.defaults import server_error as page_server_error

    from ecopark.middleware import API_PREFIX, is_query_cancelled, query_cancelled_response

    exception = sys.exc_info()[1]  # called while the uncaught exception is handled
    if exception is not None and is_query_cancelled(exception):
        return query_cancelled_response(request, exception)
    if request.path.startswith(API_PREFIX):
        error = {"status": 500, "code": "server_error", "message": str(_("Something went wrong on our side."))}
        return JsonResponse({"error": error}, status=500)
    return page_server_error(request)
