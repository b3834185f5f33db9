"""Request handling of our own: the language, the Content-Security-Policy (pages and static files), private answers
kept by no cache, the client's address, and a statement the database cancelled answered as "try again"."""

import logging

from django.conf import settings
from django.db import OperationalError
from django.http import HttpResponse, JsonResponse
from django.middleware.locale import LocaleMiddleware
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _

API_PREFIX = "/api/"
# PostgreSQL's code for a statement it cancelled: the statement timeout (DB_STATEMENT_TIMEOUT_MS), or an operator.
QUERY_CANCELED = "57014"
# How long a person or script is asked to wait before trying again after such a cancellation.
RETRY_AFTER_SECONDS = 30

logger = logging.getLogger(__name__)


class ChosenLanguageMiddleware(LocaleMiddleware):
    """Like Django's LocaleMiddleware, but the browser's Accept-Language is ignored: the default is Vietnamese.

    Staff in Viet Nam often use browsers set to English; the programme's working language is Vietnamese.
    """

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        supported = {code for code, _name in settings.LANGUAGES}
        if request.path.startswith(API_PREFIX) and chosen not in supported:
            # Scripts say what they want: the API follows Accept-Language (Vietnamese when it names neither).
            translation.activate(translation.get_language_from_request(request))
            request.LANGUAGE_CODE = translation.get_language()
            return
        language = chosen if chosen in supported else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()


# Everything the pages use comes from the app itself: no outside origin is allowed for anything.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",  # Django's admin sets a few inline style attributes
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Adds the Content-Security-Policy and Permissions-Policy headers to every response."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


def static_file_headers(headers, path: str, url: str) -> None:
    """Whitenoise's `add_headers_function`: static files answer before any middleware of ours runs, so they get the
    same policy here (an SVG or a file opened directly is a document too) and are never sniffed as another type."""
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"


class PrivateAnswersMiddleware:
    """An answer to a logged-in user or to an API key (pages, exports, evidence, API) is kept by no cache, neither a
    proxy's nor the browser's: `Cache-Control: private, no-store`. Anonymous answers (the log-in page) and static
    files (answered by whitenoise before this runs) keep their own caching."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        # The API sets request.user once it has checked a key (DRF passes the user to the underlying request);
        # an Authorization header alone marks the answer private too, whatever it said.
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or "HTTP_AUTHORIZATION" in request.META:
            response["Cache-Control"] = "private, no-store"
        return response


def client_ip(request) -> str:
    """The client's address: the connection's, or the one PROXY_COUNT trusted proxies recorded."""
    proxies = settings.PROXY_COUNT
    forwarded = [a.strip() for a in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if a.strip()]
    if proxies and len(forwarded) >= proxies:
        return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


class AuditContextMiddleware:
    """Changes made while answering a request are recorded as the user's, through the web or the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from ecopark.audit import audit_context

        # API views set their own context once they know the caller (a key is not a session).
        channel = (
            "admin" if request.path.startswith("/admin/") else "api" if request.path.startswith(API_PREFIX) else "web"
        )
        with audit_context(actor=getattr(request, "user", None), channel=channel):
            return self.get_response(request)


def is_query_cancelled(error: BaseException) -> bool:
    """Whether the database cancelled the statement (it ran past the statement timeout): the request may succeed when
    tried again, unlike a broken query or a lost connection."""
    if not isinstance(error, OperationalError):
        return False
    cause = error.__cause__
    return QUERY_CANCELED in (getattr(cause, "pgcode", None), getattr(cause, "sqlstate", None))


def query_cancelled_message() -> str:
    """What a person or script reads when their request's statement was cancelled, in the active language."""
    return _(
        "The database took too long to answer, so this request was stopped. Try again in a minute; if it happens "
        "again, narrow the filters or tell the programme's staff."
    )


class QueryCancelledMiddleware:
    """A statement cancelled by the statement timeout answers 503 with `Retry-After` and a short message in the
    user's language (a page, or JSON in the API's error shape), not a server error. The API's own views answer it in
    their exception handler (ecopark.api.exceptions); this covers the pages and any other view."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_query_cancelled(exception):
            return None
        return query_cancelled_response(request, exception)


def query_cancelled_response(request, exception) -> HttpResponse:
    """The 503 of a cancelled statement: from a view (`QueryCancelledMiddleware`), or from a middleware before the
    view (the session, the user) through the 500 handler (`ecopark.views.server_error`)."""
    logger.warning("%s %s: a statement was cancelled (%s)", request.method, request.path, exception)
    message = query_cancelled_message()
    if request.path.startswith(API_PREFIX):
        error = {"status": 503, "code": "timeout", "message": message}
        response = JsonResponse({"error": error}, status=503)
    else:
        # Drawn without the database (the transaction may be broken) and without the site's navigation.
        again = request.get_full_path() if request.method == "GET" else ""
        html = render_to_string("503.html", {"message": message, "again": again})
        response = HttpResponse(html, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
