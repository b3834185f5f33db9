"""The permission matrix, built from the URL configuration itself: every URL, every role, every method.

A new URL pattern without a declared expectation fails `test_every_url_has_a_declared_expectation`.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from ecopark.roles import Role

ROLES = ["anonymous", "partner", "park_manager", "staff", "administrator"]
LOGIN = "/accounts/login/"

# name: (kwargs, {method: {role: expected status}}); "login" means a redirect to the log-in page.
EXPECTATIONS = {
    "home": ({}, {
        "GET": {"anonymous": "login", "partner": 403, "park_manager": 200, "staff": 200, "administrator": 200},
        "POST": {"anonymous": "login", "partner": 405, "park_manager": 405, "staff": 405, "administrator": 405},
    }),
    "healthz": ({}, {
        "GET": dict.fromkeys(ROLES, 200),
        "POST": dict.fromkeys(ROLES, 405),
    }),
    "login": ({}, {"GET": dict.fromkeys(ROLES, 200)}),
    "logout": ({}, {
        "GET": {"anonymous": "login", "partner": 405, "park_manager": 405, "staff": 405, "administrator": 405},
        "POST": {"anonymous": "login", "partner": 302, "park_manager": 302, "staff": 302, "administrator": 302},
    }),
    "set_language": ({}, {"POST": dict.fromkeys(ROLES, 302)}),
}  # fmt: skip


def _by_role(anonymous, partner, park_manager, staff, administrator=None) -> dict:
    administrator = staff if administrator is None else administrator
    return dict(zip(ROLES, [anonymous, partner, park_manager, staff, administrator], strict=True))


def _pk_of(model_path: str, **filters):
    """The id of an existing row, looked up when the matrix runs (ids differ between databases)."""

    def kwargs():
        from django.apps import apps

        return {"pk": apps.get_model(model_path).objects.filter(**filters).order_by("pk").first().pk}

    return kwargs


READ = _by_role(401, 200, 200, 200)
READ_IN_PARKS = _by_role(401, 200, 404, 200)  # the matrix's park manager has no park: every detail is out of scope
NOT_ALLOWED = _by_role(401, 403, 403, 405)  # writes to read-only data: refused by role first, then by method
WRITE_DENIED = _by_role(401, 403, 403, None)

# The API: lists and details of every resource, every method.
for basename, model, filters, detail_read, writable in [
    ("province", "parks.Province", {}, READ_IN_PARKS, False),
    ("park", "parks.Park", {"code": "dinh-vu"}, READ_IN_PARKS, False),
    ("enterprise", "enterprises.Enterprise", {}, READ_IN_PARKS, True),
    ("organisation", "enterprises.Organisation", {}, READ_IN_PARKS, False),
    ("measure", "measures.Measure", {"park__code": "dinh-vu"}, READ_IN_PARKS, True),
    ("resource", "measures.Resource", {}, READ, False),
    ("emissionfactor", "measures.EmissionFactor", {}, READ, False),
    ("exchangerate", "measures.ExchangeRate", {}, READ, False),
    ("target", "reports.ProgrammeTarget", {}, READ, False),
]:
    if writable:
        list_methods = {"GET": READ, "POST": _by_role(401, 403, 403, 400)}
        delete = 409 if basename == "enterprise" else 204  # an enterprise with measures is kept
        detail_methods = {
            "GET": detail_read,
            "PUT": _by_role(401, 403, 403, 400),
            "PATCH": _by_role(401, 403, 403, 200),
            "DELETE": _by_role(401, 403, 403, delete),
        }
    else:
        list_methods = {"GET": READ, "POST": NOT_ALLOWED}
        detail_methods = {"GET": detail_read, "PUT": NOT_ALLOWED, "PATCH": NOT_ALLOWED, "DELETE": NOT_ALLOWED}
    EXPECTATIONS[f"api:{basename}-list"] = ({}, list_methods)
    EXPECTATIONS[f"api:{basename}-detail"] = (_pk_of(model, **filters), detail_methods)
EXPECTATIONS["api:measure-transition"] = (
    _pk_of("measures.Measure", park__code="dinh-vu"),
    {"GET": _by_role(401, 405, 405, 405), "POST": _by_role(401, 403, 403, 400)},
)


def _evidence_pk():
    """An evidence file of a DEEP C measure (made when the matrix runs: the demo has none)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from measures.models import Evidence, Measure
    from measures.services import evidence_add

    evidence = Evidence.objects.order_by("pk").first()
    if evidence is None:
        measure = Measure.objects.filter(park__code="dinh-vu").order_by("pk").first()
        upload = SimpleUploadedFile("meter.pdf", b"%PDF-1.4 matrix", content_type="application/pdf")
        evidence = evidence_add(measure=measure, upload=upload, uploaded_by=None)
    return {"pk": evidence.pk}


def _import_job_pk():
    """An import of the demo's staff user (seen by every member of staff, by nobody else)."""
    from django.contrib.auth import get_user_model

    from measures.models import ImportJob

    job = ImportJob.objects.order_by("pk").first() or ImportJob.objects.create(
        uploaded_by=get_user_model().objects.get(username="staff"),
        original_name="matrix.xlsx",
        file_type="xlsx",
        size=1,
        language="en",
        state=ImportJob.State.INVALID,
    )
    return {"pk": job.pk}


# The pages: park managers read their parks (the matrix's manager has none: details are 404), partners use the API.
PAGE_READ = _by_role("login", 403, 200, 200)
PAGE_DETAIL = _by_role("login", 403, 404, 200)
GET_ONLY = _by_role("login", 405, 405, 405)
STAFF_FORM = _by_role("login", 403, 403, 200)  # a POST of nothing is an invalid form: shown again with its errors
ENTERPRISE = _pk_of("enterprises.Enterprise", park__code="dinh-vu")
MEASURE = _pk_of("measures.Measure", park__code="dinh-vu")
MEASURE_PARK = _pk_of("parks.Park", code="dinh-vu")
for name, kwargs, methods in [
    ("parks:list", {}, {"GET": PAGE_READ, "POST": GET_ONLY}),
    ("enterprises:list", {}, {"GET": PAGE_READ, "POST": GET_ONLY}),
    ("enterprises:new", {}, {"GET": STAFF_FORM, "POST": STAFF_FORM}),
    ("enterprises:detail", ENTERPRISE, {"GET": PAGE_DETAIL, "POST": GET_ONLY}),
    ("enterprises:edit", ENTERPRISE, {"GET": STAFF_FORM, "POST": STAFF_FORM}),
    ("measures:list", {}, {"GET": PAGE_READ, "POST": GET_ONLY}),
    ("measures:new", {"kind": "recp"}, {"GET": STAFF_FORM, "POST": STAFF_FORM}),
    ("measures:preview_new", {"kind": "is"}, {"GET": GET_ONLY, "POST": STAFF_FORM}),
    ("measures:detail", MEASURE, {"GET": PAGE_DETAIL, "POST": GET_ONLY}),
    ("measures:edit", MEASURE, {"GET": STAFF_FORM, "POST": STAFF_FORM}),
    ("measures:preview_edit", MEASURE, {"GET": GET_ONLY, "POST": STAFF_FORM}),
    # No step named: back to the measure's page.
    ("measures:status", MEASURE, {"GET": _by_role("login", 403, 403, 302), "POST": _by_role("login", 403, 403, 302)}),
    ("measures:evidence", _evidence_pk, {"GET": PAGE_DETAIL, "POST": GET_ONLY}),
    ("measures:import", {}, {"GET": STAFF_FORM, "POST": STAFF_FORM}),
    ("reports:dashboard", {}, {"GET": PAGE_READ, "POST": GET_ONLY}),
    ("reports:dashboard_scope", lambda: {"level": "park", **MEASURE_PARK()}, {"GET": PAGE_DETAIL, "POST": GET_ONLY}),
    ("measures:import_template", {"fmt": "xlsx"}, {"GET": STAFF_FORM, "POST": GET_ONLY}),
    ("measures:import_job", _import_job_pk, {"GET": STAFF_FORM, "POST": GET_ONLY}),
    ("measures:import_progress", _import_job_pk, {"GET": STAFF_FORM, "POST": GET_ONLY}),
    # Not ready (the matrix's import has errors): back to its page with a message.
    ("measures:import_confirm", _import_job_pk, {"GET": GET_ONLY, "POST": _by_role("login", 403, 403, 302)}),
]:
    EXPECTATIONS[name] = (kwargs, methods)
EXPECTATIONS["api:rollups"] = ({}, {"GET": READ, "POST": NOT_ALLOWED})
# The dashboards' data: for the people who use the pages, not partners' keys; reading only.
EXPECTATIONS["api:dashboard"] = ({}, {"GET": _by_role(401, 403, 200, 200), "POST": _by_role(401, 403, 403, 403)})
EXPECTATIONS["api:schema"] = ({}, {"GET": READ, "POST": _by_role(401, 403, 403, 403)})
EXPECTATIONS["api:docs"] = ({}, {"GET": _by_role("login", 200, 200, 200), "POST": _by_role("login", 403, 403, 403)})


def url_patterns(resolver=None, prefix="", namespace=""):
    """Every (route, name, namespace, callback) under the root URL configuration."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from url_patterns(pattern, route, pattern.namespace or namespace)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.name, namespace, pattern.callback


def user_for(role: str):
    if role == "anonymous":
        return None
    User = get_user_model()
    user = User.objects.create_user(f"matrix-{role}", password="Matrix-password-2024")
    if role == "administrator":
        user.is_staff = user.is_superuser = True
        user.save()
    else:
        group = {"partner": Role.PARTNER, "park_manager": Role.PARK_MANAGER, "staff": Role.STAFF}[role]
        user.groups.add(Group.objects.get(name=group.value))
        user.is_staff = role == "staff"
        user.save()
    return user


def test_every_url_has_a_declared_expectation():
    undeclared = [
        (route, name)
        for route, name, namespace, _ in url_patterns()
        if namespace != "admin" and (f"{namespace}:{name}" if namespace else name) not in EXPECTATIONS
    ]
    assert undeclared == [], "declare who may use these URLs in EXPECTATIONS"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_is_declared(client, role):
    user = user_for(role)
    if user:
        client.force_login(user)
    for name, (kwargs, methods) in EXPECTATIONS.items():
        url = reverse(name, kwargs=kwargs() if callable(kwargs) else kwargs)
        for method, by_role in methods.items():
            body = {"data": "{}", "content_type": "application/json"} if method not in ("GET", "DELETE") else {}
            response = getattr(client, method.lower())(url, **body)
            expected = by_role[role]
            if expected == "login":
                assert response.status_code == 302 and response["Location"].startswith(LOGIN), (name, method)
            else:
                assert response.status_code == expected, (name, method, role, response.status_code)
            if user:
                client.force_login(user)  # a log-out in the matrix must not change the next request's role


def admin_urls():
    """Every admin URL with sample arguments: an existing object's id where the route takes one."""
    for route, name, namespace, callback in url_patterns():
        if namespace != "admin" or not name:
            continue
        if name == "view_on_site":
            continue  # a redirect to the object's page outside the admin
        model_admin = getattr(callback, "model_admin", None)
        kwargs = {}
        for parameter in re.findall(r"<(?:\w+:)?(\w+)>", route):
            if parameter in ("object_id", "id"):
                obj = model_admin.model.objects.order_by("pk").first() if model_admin else None
                if obj is None:
                    break
                kwargs[parameter] = obj.pk
            elif parameter == "app_label":
                kwargs[parameter] = "measures"
        else:
            yield f"admin:{name}", reverse(f"admin:{name}", kwargs=kwargs)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["anonymous", "partner", "park_manager"])
def test_the_admin_turns_away_everyone_but_staff_on_every_admin_url(client, role):
    user = user_for(role)
    if user:
        client.force_login(user)
    checked = 0
    for name, url in admin_urls():
        if name in ("admin:login", "admin:logout", "admin:password_change_done", "admin:jsi18n"):
            continue
        response = client.get(url)
        location = response.get("Location", "")
        assert response.status_code == 302 and ("/admin/login/" in location or location.startswith(LOGIN)), (
            name,
            response.status_code,
        )
        checked += 1
    assert checked > 50


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["staff", "administrator"])
def test_staff_reach_the_admin_and_nothing_fails(client, role):
    client.force_login(user_for(role))
    for name, url in admin_urls():
        if name in ("admin:logout",):
            continue
        status = client.get(url).status_code
        assert status in (200, 302, 403), (name, url, status)
        if role == "administrator" and name.endswith(("_changelist", "_change")):
            assert status == 200, (name, url, status)
        if name.startswith(("admin:measures_", "admin:parks_", "admin:enterprises_")) and name.endswith("_changelist"):
            assert status == 200, (name, url, status)  # programme staff keep the register in the admin
