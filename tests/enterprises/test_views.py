"""The enterprise pages: staff create and change enterprises; a duplicate is refused with nothing saved."""

import pytest

from enterprises.models import Enterprise
from parks.models import Park

pytestmark = pytest.mark.django_db


def _post(park: Park, **fields) -> dict:
    return {"park": str(park.pk), "code": "cty-thep-xanh", "name": "Công ty Thép Xanh", "sector_code": "2410",
            "size": "large", **fields}  # fmt: skip


def test_staff_create_an_enterprise_and_find_it_without_accents(staff_client):
    park = Park.objects.get(code="dinh-vu")
    response = staff_client.post("/enterprises/new/", _post(park))
    assert response.status_code == 302
    enterprise = Enterprise.objects.get(code="cty-thep-xanh")
    page = staff_client.get("/enterprises/?q=thep+xanh")
    assert [e.pk for e in page.context["page"]] == [enterprise.pk]


def test_a_duplicate_name_in_the_park_is_refused_and_nothing_is_saved(staff_client):
    park = Park.objects.get(code="dinh-vu")
    existing = Enterprise.objects.filter(park=park).first()
    before = Enterprise.objects.count()
    response = staff_client.post("/enterprises/new/", _post(park, name=existing.name, code="other-code"))
    assert response.status_code == 200 and response.context["form"].errors
    assert Enterprise.objects.count() == before


def test_a_park_manager_cannot_create_enterprises_nor_open_another_parks_enterprise(manager_client):
    assert manager_client.get("/enterprises/new/").status_code == 403
    other = Enterprise.objects.filter(park__code="hiep-phuoc").first()
    assert manager_client.get(f"/enterprises/{other.pk}/").status_code == 404
    own = Enterprise.objects.filter(park__code="dinh-vu").first()
    assert manager_client.get(f"/enterprises/{own.pk}/").status_code == 200


@pytest.mark.parametrize("language", ["vi", "en"])
def test_new_measure_link_of_an_enterprise_numbered_past_a_thousand_opens_its_form(staff_client, language):
    """Ids are not quantities: a link of enterprise 1221 must not read "1.221" (vi) or "1,221" (en), which opened
    the form with no enterprise chosen (found in CI, where the sequence had passed 1,000)."""
    import re

    from django.conf import settings

    park = Park.objects.get(code="dinh-vu")
    enterprise = Enterprise.objects.create(pk=1221, park=park, code="cty-so-1221", name="Công ty số 1221",
                                           sector_code="2410", size="small")  # fmt: skip
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    page = staff_client.get(f"/enterprises/{enterprise.pk}/").content.decode()
    link = re.search(r'href="(/measures/new/recp/\?enterprise=[^"]*)"', page).group(1)
    assert link.endswith("?enterprise=1221")
    form = staff_client.get(link).content.decode()
    assert re.search(r'<option value="1221" selected>', form)


def test_the_enterprise_history_reads_names_and_local_numbers_not_stored_values(staff_client):
    """Moving an enterprise shows the parks by name, not "park: 3 → 7"."""
    from django.conf import settings

    from enterprises.services import enterprise_update

    enterprise = Enterprise.objects.filter(park__code="dinh-vu").order_by("pk").first()
    target = Park.objects.exclude(pk=enterprise.park_id).order_by("pk").first()
    before = enterprise.park
    enterprise_update(enterprise_id=enterprise.pk, changes={"park": target})
    staff_client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = staff_client.get(f"/enterprises/{enterprise.pk}/").content.decode()
    history = page[page.index('id="history-title"') :]
    assert f"{before} → {target}" in history.replace("&#x27;", "'"), history[:2000]
    assert f": {before.pk} → {target.pk}" not in history
