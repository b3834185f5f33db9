"""Partners' keys: Bearer authentication, revocation, expiry, throttling, `create_partner`, errors' shape."""

import datetime
import io
import os

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from ecopark.api.authentication import cache_key
from ecopark.models import ApiKey, key_digest
from ecopark.services import apikey_create, apikey_revoke, partner_create
from parks.models import Park
from tests.api.conftest import key_client
from tests.forms_helper import form_data

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


ADD = "/admin/ecopark/apikey/add/"


def test_programme_staff_make_keys_in_the_admin_for_themselves(staff_client, staff_user):
    page = staff_client.get(ADD).content.decode()
    data = form_data(page, form_id="apikey_form")
    assert data["owner"] == [str(staff_user.pk)]  # the only owner offered, already chosen
    data["name"] = ["Staff's own script"]
    response = staff_client.post(ADD, data, follow=True)
    assert response.status_code == 200
    api_key = ApiKey.objects.get(name="Staff's own script")
    assert api_key.owner == staff_user and api_key.created_by == staff_user


@pytest.mark.parametrize("owner", ["admin", "partner"])
def test_programme_staff_cannot_make_a_key_for_anyone_else_in_the_admin(staff_client, owner):
    owner = get_user_model().objects.get(username=owner)
    data = form_data(staff_client.get(ADD).content.decode(), form_id="apikey_form")
    data.update(owner=[str(owner.pk)], name=["Someone else's key"])
    response = staff_client.post(ADD, data)
    assert response.status_code == 200  # the form again, with the reason on the owner field
    assert response.context["adminform"].form.errors["owner"]
    assert not ApiKey.objects.filter(name="Someone else's key").exists()


def test_only_an_administrator_makes_a_key_for_another_user_on_every_path(staff_user, admin_user, partner_user):
    with pytest.raises(ValidationError) as refused:
        apikey_create(owner=admin_user, name="escalation", created_by=staff_user)
    assert refused.value.error_dict["owner"][0].code == "not_own_key"
    with pytest.raises(ValidationError):
        partner_create(name="A partner of staff", created_by=staff_user)
    assert not ApiKey.objects.filter(name__in=["escalation", "A partner of staff"]).exists()
    api_key, _key = apikey_create(owner=partner_user, name="made by the administrator", created_by=admin_user)
    assert api_key.created_by == admin_user
    assert apikey_create(owner=staff_user, name="mine", created_by=staff_user)[0].owner == staff_user


def test_a_key_owned_by_the_administrator_but_made_by_staff_does_nothing(staff_user, admin_user):
    """A key made before the rule (or put in the database by hand) carries no more than its creator holds."""
    client = key_client(admin_user)
    ApiKey.objects.filter(pk=client.api_key.pk).update(created_by=staff_user)
    response = client.post("/api/v1/measures/", {}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "This API key carries more rights than the person who made it."


def test_the_admin_never_changes_a_keys_owner_nor_lifts_a_revocation(admin_client, staff_user, partner_user):
    client = key_client(partner_user)
    apikey_revoke(api_key=client.api_key)
    url = f"/admin/ecopark/apikey/{client.api_key.pk}/change/"
    data = form_data(admin_client.get(url).content.decode(), form_id="apikey_form")
    assert "owner" not in data and "revoked_at_0" not in data  # shown, not editable
    data["owner"], data["revoked_at_0"], data["revoked_at_1"] = [str(staff_user.pk)], [""], [""]
    assert admin_client.post(url, data).status_code == 302
    client.api_key.refresh_from_db()
    assert client.api_key.owner == partner_user and client.api_key.revoked_at is not None


@pytest.fixture(params=["local memory", "redis"])
def key_cache(request, settings):
    """The key cache as the embedded default keeps it, and on Redis (REDIS_URL) as production does."""
    if request.param == "redis":
        url = os.environ.get("REDIS_URL")
        if not url:
            pytest.skip("REDIS_URL is not set")
        settings.CACHES = {"default": {"BACKEND": "ecopark.cache.RedisCache", "LOCATION": url}}
    else:
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    cache.clear()
    yield request.param
    cache.clear()


def _cached_and_working(client) -> None:
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    assert isinstance(cache.get(cache_key(client.api_key.prefix)), ApiKey)  # the next request would not ask the db


def _deactivate(user) -> None:
    user.is_active = False
    user.save()


STOPS = {
    "revoked": lambda key, owner, creator: apikey_revoke(api_key=key),
    "revoked in bulk": lambda key, owner, creator: ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now()),
    "expired in bulk": lambda key, owner, creator: ApiKey.objects.filter(pk=key.pk).update(
        expires_at=timezone.now() - datetime.timedelta(seconds=1)
    ),
    "deleted in bulk": lambda key, owner, creator: ApiKey.objects.filter(pk=key.pk).delete(),
    "owner deactivated": lambda key, owner, creator: _deactivate(owner),
    "owner deleted": lambda key, owner, creator: owner.delete(),
    "creator deactivated": lambda key, owner, creator: _deactivate(creator),
    "creator no longer an administrator": lambda key, owner, creator: creator.groups.clear(),
    "creator's group deleted": lambda key, owner, creator: Group.objects.filter(name="administrator").delete(),
    "creator deleted": lambda key, owner, creator: creator.delete(),
}


@pytest.mark.parametrize("stop", list(STOPS))
def test_a_key_stopped_by_any_path_is_refused_on_the_next_request_though_cached(key_cache, stop, partner_user):
    creator = get_user_model().objects.create_user("second.admin", is_staff=True)  # an administrator by group only
    creator.groups.add(Group.objects.get(name="administrator"))
    api_key, key = apikey_create(owner=partner_user, name="stopped", created_by=creator)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.api_key = api_key
    _cached_and_working(client)
    STOPS[stop](api_key, partner_user, creator)
    assert client.get(URL).status_code == 401
    assert client.get(URL).status_code == 401


def test_a_key_read_while_it_was_revoked_is_not_cached_over_the_revocation(key_cache, partner_user):
    """A request that read the key before the revocation committed must not put its copy back in the cache."""
    client = key_client(partner_user)
    stale = ApiKey.objects.select_related("owner", "created_by").get(pk=client.api_key.pk)
    apikey_revoke(api_key=client.api_key)
    cache.add(cache_key(stale.prefix), stale, 60)  # what the slow request does last
    assert client.get(URL).status_code == 401


def test_the_admin_revokes_expires_and_deletes_cached_keys_at_once(key_cache, admin_client, partner_user):
    revoked, expired, deleted = (key_client(partner_user) for _ in range(3))
    for client in (revoked, expired, deleted):
        _cached_and_working(client)
    changelist = "/admin/ecopark/apikey/"
    admin_client.post(changelist, {"action": "revoke_keys", "_selected_action": [revoked.api_key.pk]})
    url = f"/admin/ecopark/apikey/{expired.api_key.pk}/change/"
    data = form_data(admin_client.get(url).content.decode(), form_id="apikey_form")
    data.update(expires_at_0=["01/01/2020"], expires_at_1=["00:00:00"])
    assert admin_client.post(url, data).status_code == 302, admin_client.post(url, data).context["adminform"].errors
    admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [deleted.api_key.pk], "post": "yes"}
    )
    assert not ApiKey.objects.filter(pk=deleted.api_key.pk).exists()
    assert [c.get(URL).status_code for c in (revoked, expired, deleted)] == [401, 401, 401]


def test_removing_the_owner_from_the_staff_group_in_the_admin_takes_effect_at_once(key_cache, admin_client, staff_user):
    client = key_client(staff_user)
    _cached_and_working(client)
    url = f"/admin/auth/user/{staff_user.pk}/change/"
    data = form_data(admin_client.get(url).content.decode(), form_id="user_form")
    data["groups"] = []
    assert admin_client.post(url, data).status_code == 302
    assert client.get(URL).status_code == 403  # the key works, but its owner has no role any more


def test_deactivating_the_owner_in_the_admin_takes_effect_at_once(key_cache, admin_client, manager_user):
    client = key_client(manager_user)
    _cached_and_working(client)
    url = f"/admin/auth/user/{manager_user.pk}/change/"
    data = form_data(admin_client.get(url).content.decode(), form_id="user_form")
    data.pop("is_active")
    assert admin_client.post(url, data).status_code == 302
    assert client.get(URL).status_code == 401
