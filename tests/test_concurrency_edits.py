"""Twenty people saving the same measure at the same moment through its edit page (PostgreSQL: real concurrent
writers): one save wins per version, every other is told what was saved (409, never a 500), and people who save again
after seeing it all land, each exactly once, with the measure's lines intact."""

import datetime
from decimal import Decimal

import pytest

from ecopark.audit import subject_of
from ecopark.models import AuditEntry
from measures.models import Measure, Resource
from measures.services import SavingInput, measure_create
from tests.factories import recp_measure
from tests.forms_helper import form_fields
from tests.test_concurrency_creates import PEOPLE, at_once, enterprise, on_postgresql, staff, staff_clients  # noqa: F401

pytestmark = [pytest.mark.django_db(transaction=True), on_postgresql]
FORM = "measure-form"


@pytest.fixture
def measure(staff, enterprise):  # noqa: F811
    electricity = Resource.objects.get(code="electricity")
    water = Resource.objects.get(code="water")
    return measure_create(
        measure=recp_measure(enterprise, identified_on=datetime.date(2023, 1, 5), estimate_year=2023),
        savings=[SavingInput(electricity, Decimal("120000"), "kWh"), SavingInput(water, Decimal("800"), "m3")],
        created_by=staff,
    )


def _lines(measure: Measure) -> list:
    return list(measure.savings.order_by("pk").values("id", "resource_id", "quantity", "unit"))


def test_twenty_saves_of_one_version_give_one_winner_and_nineteen_conflicts(staff, measure):  # noqa: F811
    clients = staff_clients(staff, PEOPLE)
    url = f"/measures/{measure.pk}/edit/"
    lines = _lines(measure)
    forms = []
    for client in clients:  # everyone opens the form on the same version
        data = form_fields(client.get(url).content.decode(), form_id=FORM)[1]
        forms.append(data)

    def save(i: int) -> int:
        data = dict(forms[i], title_en=[f"Title by editor {i}"])
        return clients[i].post(url, data).status_code

    statuses = at_once(PEOPLE, save)
    assert sorted(statuses) == [302] + [409] * (PEOPLE - 1), statuses
    measure.refresh_from_db()
    winner = statuses.index(302)
    assert measure.title_en == f"Title by editor {winner}" and measure.version == 2
    assert _lines(measure) == lines


def test_twenty_editors_who_save_again_after_a_conflict_all_land_once(staff, measure):  # noqa: F811
    clients = staff_clients(staff, PEOPLE)
    url = f"/measures/{measure.pk}/edit/"
    lines = _lines(measure)

    def edit_until_saved(i: int) -> list[int]:
        """Open the form, set this editor's title, save; on a conflict, save the page the conflict shows (which keeps
        this editor's change on the newer version), as a person would."""
        statuses = []
        page = clients[i].get(url).content.decode()
        _, data = form_fields(page, form_id=FORM)
        data["title_en"] = [f"Title by editor {i}"]
        for _attempt in range(PEOPLE + 1):
            response = clients[i].post(url, data)
            statuses.append(response.status_code)
            if response.status_code != 409:
                return statuses
            _, data = form_fields(response.content.decode(), form_id=FORM)
        return statuses

    results = at_once(PEOPLE, edit_until_saved)
    assert all(isinstance(r, list) and r[-1] == 302 and set(r) <= {302, 409} for r in results), results
    measure.refresh_from_db()
    assert measure.version == 1 + PEOPLE  # every save landed, one after the other
    titles = [
        e.changes["title_en"][1]
        for e in AuditEntry.objects.filter(subject=subject_of(measure), action="update").order_by("id")
        if "title_en" in e.changes
    ]
    assert sorted(titles) == sorted(f"Title by editor {i}" for i in range(PEOPLE))  # each once: no update lost
    assert _lines(measure) == lines


def test_twenty_people_taking_the_same_status_step_at_once_take_it_once(staff, measure):  # noqa: F811
    clients = staff_clients(staff, PEOPLE)
    url = f"/measures/{measure.pk}/status/?to=proposed"
    forms = [form_fields(client.get(url).content.decode(), form_id="status-form") for client in clients]

    def step(i: int) -> int:
        action, data = forms[i]
        return clients[i].post(action or url, data).status_code

    statuses = at_once(PEOPLE, step)
    assert 500 not in statuses and statuses.count(302) >= 1, statuses
    measure.refresh_from_db()
    assert measure.status == "proposed" and measure.version == 2
    assert measure.status_changes.filter(to_status="proposed").count() == 1  # the step is recorded once
