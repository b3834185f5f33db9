"""Partners' keys: Bearer authentication, revocation, expiry, throttling, `create_partner`, errors' shape."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ecopark.models import ApiKey, key_digest
from ecopark.services import apikey_revoke
from parks.models import Park
from tests.api.conftest import key_client

pytestmark = pytest.mark.django_db
URL = "/api/v1/parks/"


def test_a_key_reads_and_only_its_digest_is_stored(partner_api):
    response = partner_api.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == Park.objects.count()
    api_key = partner_api.api_key
    key = partner_api._credentials["HTTP_AUTHORIZATION"].split()[1]
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert key not in (stored.digest, stored.prefix) and stored.digest == key_digest(key)
    assert stored.last_used_at is not None


def test_no_key_answers_401_with_the_scheme_to_use():
    response = APIClient().get(URL)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer ek_0000_wrong", "Bearer a b", "Bearer"])
def test_a_wrong_key_answers_401(header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(URL).status_code == 401


def test_a_tampered_key_answers_401(partner_api):
    key = partner_api._credentials["HTTP_AUTHORIZATION"].split()[1]
    partner_api.credentials(HTTP_AUTHORIZATION=f"Bearer {key[:-2]}xx")
    assert partner_api.get(URL).status_code == 401


def test_a_revoked_key_answers_401_at_once(partner_api):
    assert partner_api.get(URL).status_code == 200
    apikey_revoke(api_key=partner_api.api_key)
    response = partner_api.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key was revoked."


def test_an_expired_key_answers_401_in_the_callers_language(partner_user):
    client = key_client(partner_user, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert client.get(URL, HTTP_ACCEPT_LANGUAGE="en").json()["error"]["message"] == "This API key has expired."
    assert client.get(URL, HTTP_ACCEPT_LANGUAGE="vi").json()["error"]["message"] == "Khóa API này đã hết hạn."


def test_an_inactive_owners_key_answers_401(partner_user):
    client = key_client(partner_user)
    partner_user.is_active = False
    partner_user.save()
    assert client.get(URL).status_code == 401


def test_over_the_limit_answers_429_with_retry_after(partner_user):
    client = key_client(partner_user, requests_per_minute=3)
    assert [client.get(URL).status_code for _ in range(3)] == [200, 200, 200]
    response = client.get(URL, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["error"]["code"] == "throttled"
    other = key_client(partner_user)  # the limit is per key
    assert other.get(URL).status_code == 200


def test_create_partner_prints_a_working_key_on_its_last_line():
    out = io.StringIO()
    call_command("create_partner", "Ministry of Industry and Trade", stdout=out)
    key = out.getvalue().strip().splitlines()[-1]
    assert key.startswith("ek_")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get("/api/v1/measures/?page_size=1").status_code == 200
    assert client.post("/api/v1/measures/", {}, format="json").status_code == 403  # a partner reads only
    api_key = ApiKey.objects.get(prefix=key.split("_")[1])
    assert api_key.owner.username == "ministry-of-industry-and-trade"
    assert not api_key.owner.has_usable_password()
    assert (api_key.expires_at - timezone.now()).days in (364, 365)


def test_create_partner_will_not_turn_staff_into_a_partner():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="staff"):
        call_command("create_partner", "staff", stdout=io.StringIO())


def test_a_key_made_in_the_admin_is_shown_once(admin_client, partner_user):
    response = admin_client.post(
        "/admin/ecopark/apikey/add/",
        {"owner": partner_user.pk, "name": "UNIDO dashboard", "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"},
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(m) for m in response.context["messages"]]
    key = next(word for m in shown for word in m.split() if word.startswith("ek_"))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert client.get(URL).status_code == 200
    api_key = ApiKey.objects.get(name="UNIDO dashboard")
    assert api_key.created_by.username == "admin"
    page = admin_client.get(f"/admin/ecopark/apikey/{api_key.pk}/change/").content.decode()
    assert key not in page


def test_a_change_of_the_owners_role_or_activity_reaches_a_cached_key_at_once(partner_user):
    from django.contrib.auth.models import Group

    client = key_client(partner_user)
    assert client.get(URL).status_code == 200  # the key, its owner and role are now cached
    partner_user.groups.remove(Group.objects.get(name="partner"))
    assert client.get(URL).status_code == 403  # no role any more
    Group.objects.get(name="partner").user_set.add(partner_user)
    assert client.get(URL).status_code == 200
    partner_user.is_active = False
    partner_user.save()
    assert client.get(URL).status_code == 401


def test_create_api_key_acts_as_an_existing_user_within_their_scope(manager_user):
    out = io.StringIO()
    call_command("create_api_key", "manager.deepc", "--name", "DEEP C report", stdout=out)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {out.getvalue().strip().splitlines()[-1]}")
    parks = client.get(URL).json()["results"]
    assert [park["code"] for park in parks] == ["dinh-vu"]


def test_programme_staff_make_keys_in_the_admin_too(staff_client, partner_user):
    response = staff_client.post(
        "/admin/ecopark/apikey/add/",
        {"owner": partner_user.pk, "name": "Staff-made key", "expires_at_0": "2030-01-01", "expires_at_1": "00:00:00"},
        follow=True,
    )
    assert response.status_code == 200
    assert ApiKey.objects.get(name="Staff-made key").created_by.username == "staff"
