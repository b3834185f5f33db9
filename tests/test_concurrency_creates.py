"""Many people creating measures at the same moment, through the pages and the API (PostgreSQL: real concurrent
writers): nobody gets a 500, every measure gets its own reference and keeps its savings, and a reference someone took
a moment earlier comes back as an error on the reference field with the rest of the form kept. And on the embedded
SQLite a newcomer runs, a few people previewing and saving at once all succeed."""

import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from ecopark.roles import Role
from measures.models import Measure, MeasureSaving, Resource
from tests.api.conftest import key_client
from tests.factories import EnterpriseFactory
from tests.forms_helper import form_fields

# Real concurrent writers: threads with their own connections, seeing each other's commits.
on_postgresql = pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
ROOT = Path(__file__).resolve().parents[1]

PEOPLE = 20


def at_once(count: int, work: Callable[[int], object]) -> list:
    """Run work(0) … work(count - 1) in as many threads released together; the results, or the exceptions raised."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as exc:  # reported by the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a request never finished"
    return results


@pytest.fixture
def staff(reference_data):
    user = get_user_model().objects.create_user("staff.concurrent", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    return user


@pytest.fixture
def enterprise(reference_data):
    return EnterpriseFactory()


def staff_clients(user, count: int) -> list[Client]:
    clients = []
    for _ in range(count):
        client = Client(raise_request_exception=False)  # a 500 is an answer here, counted below
        client.force_login(user)
        clients.append(client)
    return clients


def new_measure_form(client: Client, enterprise, *, title: str, reference: str = "") -> tuple[str, dict]:
    """The new-measure page's form as a browser would post it, filled in with one saving of electricity."""
    page = client.get("/measures/new/recp/")
    assert page.status_code == 200
    html = page.content.decode()
    index = next(i for i in range(10) if "title_vi" in form_fields(html, index=i)[1])  # the page has other forms
    action, data = form_fields(html, index=index)
    electricity = Resource.objects.get(code="electricity")
    data |= {
        "enterprise": [str(enterprise.pk)],
        "technique": [Measure.Technique.GOOD_HOUSEKEEPING],
        "reference": [reference],
        "title_vi": [title],
        "identified_on": ["15/03/2023"],
        "estimate_year": ["2023"],
        "savings-0-resource": [str(electricity.pk)],
        "savings-0-quantity": ["1000"],
        "savings-0-unit": ["kWh"],
    }
    return action or "/measures/new/recp/", data


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_twenty_people_create_measures_in_the_pages_at_once(staff, enterprise):
    clients = staff_clients(staff, PEOPLE)
    forms = [new_measure_form(clients[i], enterprise, title=f"Giải pháp đồng thời {i}") for i in range(PEOPLE)]

    responses = at_once(PEOPLE, lambda i: clients[i].post(*forms[i]))

    assert [getattr(r, "status_code", r) for r in responses] == [302] * PEOPLE
    measures = Measure.objects.filter(enterprise=enterprise)
    references = sorted(measures.values_list("reference", flat=True))
    assert references == [f"{enterprise.park.code}-{n:04d}" for n in range(1, PEOPLE + 1)]
    assert sorted(measures.values_list("title_vi", flat=True)) == sorted(f"Giải pháp đồng thời {i}" for i in range(20))
    assert MeasureSaving.objects.filter(measure__in=measures).count() == PEOPLE
    assert set(measures.values_list("electricity_kwh", flat=True)) == {Decimal(1000)}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_a_reference_typed_by_several_people_at_once_is_saved_once_and_the_others_keep_their_form(staff, enterprise):
    clients = staff_clients(staff, 5)
    forms = [new_measure_form(clients[i], enterprise, title=f"Nhập tay {i}", reference="typed-ref") for i in range(5)]

    responses = at_once(5, lambda i: clients[i].post(*forms[i], HTTP_ACCEPT_LANGUAGE="en"))

    codes = sorted(getattr(r, "status_code", r) for r in responses)
    assert codes == [200, 200, 200, 200, 302]
    assert Measure.objects.filter(reference="typed-ref").count() == 1
    for response in responses:
        if response.status_code == 200:  # the form again, with what they typed and the error on the reference
            form = response.context["form"]
            assert "reference" in form.errors, form.errors
            assert form.data["title_vi"].startswith("Nhập tay")
            assert 'value="typed-ref"' in response.content.decode()


def api_body(enterprise, reference: str) -> dict:
    return {
        "reference": reference,
        "kind": "recp",
        "enterprise": enterprise.code,
        "technique": "process_control",
        "title_vi": f"Giải pháp {reference}",
        "identified_on": "2023-02-01",
        "estimate_year": 2023,
        "savings": [{"resource": "electricity", "quantity": "12.5", "unit": "MWh"}],
    }


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_twenty_scripts_create_measures_through_the_api_at_once(staff, enterprise):
    clients = [key_client(staff) for _ in range(PEOPLE)]
    # Ten references, each sent by two scripts at the same moment: one of each pair is saved, the other told why.
    references = [f"api-at-once-{i // 2}" for i in range(PEOPLE)]

    responses = at_once(
        PEOPLE,
        lambda i: clients[i].post(
            "/api/v1/measures/", api_body(enterprise, references[i]), format="json", HTTP_ACCEPT_LANGUAGE="en"
        ),
    )

    codes = [getattr(r, "status_code", r) for r in responses]
    assert sorted(codes) == [201] * 10 + [400] * 10, codes
    for response in responses:
        if response.status_code == 400:
            assert list(response.json()["error"]["fields"]) == ["reference"], response.json()
    measures = Measure.objects.filter(enterprise=enterprise)
    assert sorted(measures.values_list("reference", flat=True)) == sorted(set(references))
    assert MeasureSaving.objects.filter(measure__in=measures).count() == 10
    assert set(measures.values_list("electricity_kwh", flat=True)) == {Decimal(12500)}


@on_postgresql
@pytest.mark.django_db(transaction=True)
def test_twenty_scripts_with_their_own_references_all_succeed(staff, enterprise):
    clients = [key_client(staff) for _ in range(PEOPLE)]

    responses = at_once(
        PEOPLE, lambda i: clients[i].post("/api/v1/measures/", api_body(enterprise, f"api-own-{i}"), format="json")
    )

    assert [getattr(r, "status_code", r) for r in responses] == [201] * PEOPLE
    measures = Measure.objects.filter(enterprise=enterprise)
    assert measures.count() == PEOPLE
    assert MeasureSaving.objects.filter(measure__in=measures).count() == PEOPLE


def test_on_the_embedded_sqlite_a_few_people_saving_at_once_all_succeed(tmp_path):
    """The default a newcomer runs (`make run`, SQLite): previews and saves from six people at once, five times."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env |= {"DJANGO_SETTINGS_MODULE": "ecopark.settings.dev", "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    result = subprocess.run(
        [sys.executable, "-m", "tests.sqlite_writers", "6", "5"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    outcome = json.loads(result.stdout.strip().splitlines()[-1])
    assert (outcome["journal_mode"], outcome["transaction_mode"]) == ("wal", "IMMEDIATE")
    failed = [a for a in outcome["answers"] if a["status"] not in (200, 302)]
    assert not failed, failed[0]
    assert len(outcome["answers"]) == 30
    assert outcome["measures"] == 15  # every save kept, no preview


# The same moments, made to happen on any database: another save takes the reference after the form was checked.

TAKEN_VI = "Một giải pháp khác vừa được lưu với mã này; hãy chọn mã khác."


@pytest.fixture
def taken_meanwhile(monkeypatch):
    """Once a new measure has passed its checks, another measure takes its reference (as a save at that very moment
    would); returns the measure that took it."""
    from measures import services

    check_shape, taker = services._check_shape, {}

    def check_then_taken(measure):
        check_shape(measure)
        if measure.pk is None and not taker:
            taker["measure"] = Measure.objects.exclude(reference=measure.reference).order_by("pk").first()
            Measure.objects.filter(pk=taker["measure"].pk).update(reference=measure.reference)

    monkeypatch.setattr(services, "_check_shape", check_then_taken)
    return taker


@pytest.mark.django_db
def test_a_typed_reference_taken_meanwhile_is_an_error_on_the_field_and_the_form_is_kept(staff_client, taken_meanwhile):
    enterprise = EnterpriseFactory()
    before = Measure.objects.count()
    action, data = new_measure_form(staff_client, enterprise, title="Giữ nguyên nội dung", reference="typed-meanwhile")
    response = staff_client.post(action, data)
    assert response.status_code == 200
    assert response.context["form"].errors["reference"] == [TAKEN_VI]
    html = response.content.decode()
    assert 'value="typed-meanwhile"' in html and "Giữ nguyên nội dung" in html
    assert Measure.objects.count() == before


@pytest.mark.django_db
def test_a_typed_reference_taken_meanwhile_answers_400_naming_the_field_in_the_api(staff_user, taken_meanwhile):
    response = key_client(staff_user).post(
        "/api/v1/measures/", api_body(EnterpriseFactory(), "api-meanwhile"), format="json", HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"reference": [TAKEN_VI]}


@pytest.mark.django_db
def test_a_number_taken_meanwhile_is_drawn_again(staff_client, taken_meanwhile):
    enterprise = EnterpriseFactory()
    response = staff_client.post(*new_measure_form(staff_client, enterprise, title="Đánh số lại"))
    assert response.status_code == 302
    measure = Measure.objects.get(title_vi="Đánh số lại")
    park = enterprise.park.code
    assert Measure.objects.filter(reference=f"{park}-0001").exists()  # the one that took the first number
    assert measure.reference == f"{park}-0002"
