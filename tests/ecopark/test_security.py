"""Log-in lock-out, security headers and passwords, as a visitor meets them."""

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from ecopark.demo import DEMO_USERS


def fail_login(client, username: str, address: str = "10.0.0.1"):
    return client.post("/accounts/login/", {"username": username, "password": "wrong-password"}, REMOTE_ADDR=address)


@pytest.mark.django_db
def test_repeated_failures_lock_the_user_name_with_a_clear_message_even_with_the_right_password(client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert fail_login(client, "staff").status_code == 200
    locked = fail_login(client, "staff")
    assert locked.status_code == 429
    assert "Đăng nhập bị khóa" in locked.content.decode()
    assert "15 phút" in locked.content.decode()
    right = client.post(
        "/accounts/login/", {"username": "staff", "password": "ecopark-demo-staff"}, REMOTE_ADDR="10.9.9.9"
    )
    assert right.status_code == 429  # locked by user name, from any address
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_repeated_failures_from_one_address_lock_that_address_for_every_user_name(client, settings):
    for i in range(settings.AXES_FAILURE_LIMIT):
        fail_login(client, f"nobody-{i}", address="10.0.0.7")
    right = client.post(
        "/accounts/login/", {"username": "partner", "password": "ecopark-demo-partner"}, REMOTE_ADDR="10.0.0.7"
    )
    assert right.status_code == 429
    elsewhere = client.post(
        "/accounts/login/", {"username": "partner", "password": "ecopark-demo-partner"}, REMOTE_ADDR="10.0.0.8"
    )
    assert elsewhere.status_code == 302  # the user name itself is not locked


@pytest.mark.django_db
def test_every_page_forbids_outside_origins_and_framing(client):
    for url in ["/accounts/login/", "/healthz"]:
        policy = client.get(url).headers["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "http" not in policy  # no outside origin anywhere


def test_demo_passwords_pass_the_password_validators():
    for username, password, *_ in DEMO_USERS:
        try:
            validate_password(password)
        except ValidationError as error:  # pragma: no cover - shown on failure
            pytest.fail(f"{username}: {error.messages}")


def test_a_weak_password_is_refused():
    with pytest.raises(ValidationError):
        validate_password("12345678")


@pytest.mark.django_db
def test_forms_refuse_a_post_without_the_csrf_token(staff_user):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    assert client.post("/accounts/login/", {"username": "staff", "password": "ecopark-demo-staff"}).status_code == 403
    client.force_login(staff_user)
    assert client.post("/i18n/setlang/", {"language": "en", "next": "/"}).status_code == 403
    assert client.post("/accounts/logout/").status_code == 403
    assert client.get("/").status_code == 200  # still logged in: the refused log-out did nothing


@pytest.mark.django_db
def test_html_in_a_name_is_shown_as_text(staff_client):
    from parks.models import Park

    Park.objects.filter(code="hoa-khanh").update(name_vi="<script>alert('x')</script>KCN Hòa Khánh")
    html = staff_client.get("/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;KCN Hòa Khánh" in html


@pytest.mark.django_db
def test_every_url_that_takes_a_post_refuses_it_without_the_csrf_token(staff_user):
    """Built from the permission matrix: every page and API URL where staff may POST (declared to answer anything
    but 405) answers 403 to a logged-in staff browser session that sends no CSRF token, and changes nothing."""
    from django.test import Client
    from django.urls import reverse

    from ecopark.models import AuditEntry
    from tests.ecopark.test_permissions import EXPECTATIONS

    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    checked = []
    before = AuditEntry.objects.count()
    for name, (kwargs, methods) in EXPECTATIONS.items():
        if methods.get("POST", {}).get("staff") in (None, 405, 404, "login") or name == "login":
            continue
        url = reverse(name, kwargs=kwargs() if callable(kwargs) else kwargs)
        response = client.post(url, {"file": ""})
        assert response.status_code == 403, (name, response.status_code)
        checked.append(name)
    assert "measures:import" in checked and "measures:import_confirm" in checked and "api:measure-list" in checked
    assert AuditEntry.objects.count() == before


@pytest.mark.django_db
def test_a_page_refused_to_a_role_says_so_in_the_users_language(manager_client):
    response = manager_client.get("/measures/import/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "Không được phép" in html and '<html lang="vi">' in html  # the app's page, not a bare "403 Forbidden"


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["ecopark/app.css", "ecopark/favicon.svg", "vendor/htmx/htmx.min.js"])
def test_static_files_carry_the_policy_and_nosniff_and_stay_cacheable(client, path):
    from django.conf import settings

    response = client.get(settings.STATIC_URL + path)
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == client.get("/healthz")["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "public" in response["Cache-Control"]  # shared by everyone: a proxy may keep it


@pytest.mark.django_db
def test_whitenoise_adds_the_static_headers_to_collected_files_too(tmp_path, settings):
    from whitenoise import WhiteNoise

    from ecopark.middleware import CONTENT_SECURITY_POLICY

    (tmp_path / "app.css").write_text("body {}")
    add_headers = settings.WHITENOISE_ADD_HEADERS_FUNCTION  # as production serves the collected files
    served = WhiteNoise(None, root=tmp_path, prefix="static/", add_headers_function=add_headers)
    headers = dict(served.files["/static/app.css"].get_response("GET", {}).headers)
    assert headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_static_files_stay_cacheable_for_a_logged_in_user_and_anonymous_answers_keep_their_own(staff_client):
    from django.test import Client

    assert staff_client.get("/static/ecopark/app.css")["Cache-Control"] == "max-age=60, public"
    assert Client().get("/accounts/login/")["Cache-Control"].startswith("max-age=0")  # Django's never_cache, as it was


@pytest.mark.django_db
def test_every_answer_to_a_logged_in_user_is_kept_by_no_cache(staff_client, staff_user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from measures.models import Measure
    from measures.services import evidence_add

    evidence = evidence_add(
        measure=Measure.objects.filter(enterprise__park__code="dinh-vu").first(),
        upload=SimpleUploadedFile("report.pdf", b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"),
        uploaded_by=staff_user,
    )
    urls = [
        "/",  # a page
        "/measures/?export=csv&per_page=10",  # an export
        "/enterprises/?export=xlsx",
        f"/measures/evidence/{evidence.pk}/",  # an evidence download
        "/api/v1/parks/",  # the API with the browser's session
        "/api/v1/rollups/?level=programme",  # sets its own Cache-Control for ETags
        "/admin/ecopark/apikey/",
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url


@pytest.mark.django_db
def test_an_api_answer_to_a_key_is_kept_by_no_cache(partner_user):
    from rest_framework.test import APIClient

    from ecopark.services import apikey_create

    _api_key, key = apikey_create(owner=partner_user, name="headers")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    for url in ["/api/v1/parks/", "/api/v1/measures/?page_size=5&format=csv", "/api/v1/rollups/?level=programme"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url
    client.credentials(HTTP_AUTHORIZATION="Bearer ek_0000_wrong")
    assert client.get("/api/v1/parks/")["Cache-Control"] == "private, no-store"  # refused, still never kept
