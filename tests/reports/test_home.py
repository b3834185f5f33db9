"""The landing page shows the programme, in Vietnamese by default, scoped to what the user may see."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1)


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    login = client.get("/accounts/login/")
    assert login.status_code == 200
    assert "Đăng nhập" in login.content.decode()


@pytest.mark.django_db
def test_staff_see_the_whole_programme_in_vietnamese_number_format(staff_client):
    html = staff_client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    assert '<html lang="vi">' in html  # Vietnamese even when the browser asks for English
    assert figure(html, "electricity_kwh") == "4.400.000"
    assert figure(html, "water_m3") == "20.800"
    assert figure(html, "cost_usd") == "800.000"
    assert figure(html, "co2e_t") == "87.000"
    assert figure(html, "recp_identified") == "612"
    assert figure(html, "recp_proposed") == "295"
    assert figure(html, "is_count") == "62"
    for park in ["KCN Hiệp Phước", "KCN Amata", "KCN Đình Vũ", "KCN Hòa Khánh", "KCN Trà Nóc 1"]:
        assert park in html
    assert "1.686" in html  # Hiep Phuoc's area, Vietnamese grouping


@pytest.mark.django_db
def test_the_language_switch_gives_english_with_english_number_format(staff_client):
    response = staff_client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    html = staff_client.get("/").content.decode()
    assert '<html lang="en">' in html
    assert "Eco-industrial parks programme" in html
    assert figure(html, "electricity_kwh") == "4,400,000"


@pytest.mark.django_db
def test_a_park_manager_sees_only_their_park(manager_client):
    html = manager_client.get("/").content.decode()
    assert "KCN Đình Vũ" in html
    assert "KCN Hiệp Phước" not in html and "KCN Amata" not in html
    assert figure(html, "is_count") == "24"
    assert figure(html, "recp_identified") == "207"


@pytest.mark.django_db
def test_a_partner_has_no_web_pages(client, partner_user):
    client.force_login(partner_user)
    assert client.get("/").status_code == 403


def count_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/").status_code == 200
    return len(queries)


@pytest.mark.django_db
def test_the_landing_page_query_count_is_pinned_and_does_not_grow_with_the_data(client, staff_user, manager_user):
    client.force_login(staff_user)
    whole_programme, again = count_queries(client), count_queries(client)
    client.force_login(manager_user)
    one_park, one_park_again = count_queries(client), count_queries(client)
    # The first view after a change counts the measures and enterprises (3 queries, tests/reports/test_home_counts.py);
    # the counts are then kept until the next write. A park manager's parks are read once more, for the counts' key.
    assert (whole_programme, one_park) == (9, 10)
    assert (again, one_park_again) == (6, 7)
