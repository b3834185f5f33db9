"""The parks page: an accent-free search finds a park; a park manager sees only their parks."""

import pytest

pytestmark = pytest.mark.django_db


def test_dinh_vu_without_accents_finds_the_park(staff_client):
    page = staff_client.get("/parks/?q=dinh+vu")
    assert [p.code for p in page.context["page"]] == ["dinh-vu"]


def test_a_park_manager_lists_only_their_parks(manager_client):
    page = manager_client.get("/parks/")
    assert [p.code for p in page.context["page"]] == ["dinh-vu"]
