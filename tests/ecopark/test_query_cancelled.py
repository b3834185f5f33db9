"""A statement PostgreSQL cancels at the statement timeout answers 503 with `Retry-After` and a short message in the
person's language, as a page or as the API's JSON error, never a server error.

A real cancellation: another connection holds the measures' table (as a long migration would) and the request's
statement waits for it past a statement timeout of 300 ms.
"""

import contextlib

import pytest
from django.core.cache import cache
from django.db import connection, connections, transaction

from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="the statement timeout is PostgreSQL's")

MESSAGE = {
    "en": "The database took too long to answer, so this request was stopped.",
    "vi": "Cơ sở dữ liệu trả lời quá lâu nên yêu cầu này đã bị dừng.",
}


@contextlib.contextmanager
def measures_held_by_another_connection():
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SET LOCAL lock_timeout = '5s'")  # never hang the suite if the test's own work holds it
            cursor.execute("LOCK TABLE measures_measure IN ACCESS EXCLUSIVE MODE")
        yield
    finally:
        other.close()  # ends its transaction: the lock goes with it


@contextlib.contextmanager
def statement_timeout_of_300_ms():
    """The test's connection is the request's: a short timeout on it, and the aborted transaction rolled back after
    (SET is undone with the test's own transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = 300")
    point = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(point)


@on_postgresql
@pytest.mark.parametrize("language", ["vi", "en"])
def test_a_page_whose_statement_is_cancelled_answers_503_asking_to_try_again(staff_client, settings, language):
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    cache.clear()  # the list's count must be asked of the database
    with measures_held_by_another_connection(), statement_timeout_of_300_ms():
        response = staff_client.get("/measures/", {"q": "hoi"})
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    page = response.content.decode()
    assert MESSAGE[language] in page
    assert '<a href="/measures/?q=hoi">' in page  # try again: the same page


@on_postgresql
@pytest.mark.parametrize("language", ["vi", "en"])
def test_an_api_call_whose_statement_is_cancelled_answers_503_json_in_the_callers_language(
    staff_user, settings, language
):
    settings.API_LIST_CACHE_SECONDS = 0
    api = key_client(staff_user)
    cache.clear()
    with measures_held_by_another_connection(), statement_timeout_of_300_ms():
        response = api.get("/api/v1/measures/", {"kind": "recp"}, HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert (error["status"], error["code"]) == (503, "timeout")
    assert error["message"].startswith(MESSAGE[language])


def test_the_schema_documents_the_503(staff_user):
    schema = key_client(staff_user).get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "503" in schema["paths"]["/api/v1/measures/"]["get"]["responses"]


@on_postgresql
@pytest.mark.django_db(transaction=True)  # the session is committed, so that another connection can lock its table
@pytest.mark.parametrize("path", ["/measures/", "/api/v1/measures/"])
def test_a_statement_cancelled_before_the_view_in_a_middleware_answers_503_too(reference_data, client, settings, path):
    """The session is read by a middleware, before any view: its statement cancelled answers the same 503."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from ecopark.roles import Role

    user = get_user_model().objects.create_user("staff.cancelled")
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.raise_request_exception = False  # as a browser meets it: through the server's error handler
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            cursor.execute("LOCK TABLE django_session IN ACCESS EXCLUSIVE MODE")
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 300")
        try:
            response = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET statement_timeout")
    finally:
        other.close()
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert MESSAGE["en"] in response.content.decode()
