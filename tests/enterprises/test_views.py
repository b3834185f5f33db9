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
