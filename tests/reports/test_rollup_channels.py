"""Whatever door a change comes through, the roll-up ends equal to a from-scratch aggregate and every measure keeps
the lines it was last given. Operations are drawn from every channel a person or a script uses: page forms posted as
a browser posts the rendered form, status steps, the API's PUT and PATCH, the admin's save, delete and bulk delete,
an import of a spreadsheet, and an enterprise moved in the admin."""

import itertools
from decimal import Decimal

import pytest
from django.db.models import F
from django.test import Client
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from enterprises.models import Enterprise
from measures.models import ImportJob, Measure, Resource
from parks.models import Park
from tests.forms_helper import form_fields
from tests.measures.import_files import filled_template, recp_row, upload
from tests.reports.scratch import differences, from_scratch, table_now

pytestmark = pytest.mark.usefixtures("eager_tasks")

ADMIN_CONFIRMATION = 1  # the admin's pages start with the log-out form
TITLES = itertools.count()

ops = st.one_of(
    st.tuples(st.just("page_create"), st.integers(0, 40), st.integers(1, 500_000)),
    st.tuples(st.just("page_edit"), st.integers(0, 30), st.integers(0, 2)),
    st.tuples(st.just("page_step"), st.integers(0, 30)),
    st.tuples(st.just("api_patch"), st.integers(0, 30), st.integers(2019, 2026)),
    st.tuples(st.just("api_put"), st.integers(0, 30), st.integers(1, 500_000)),
    st.tuples(st.just("admin_save"), st.integers(0, 30), st.booleans()),
    st.tuples(st.just("admin_delete"), st.integers(0, 30)),
    st.tuples(st.just("admin_bulk_delete"), st.integers(0, 30), st.integers(0, 30)),
    st.tuples(st.just("import"), st.integers(0, 30), st.integers(1, 500_000)),
    st.tuples(st.just("move"), st.integers(0, 40), st.integers(0, 10)),
)


def lines_of(measure_id: int) -> list:
    """A measure's lines as the test expects them: resource and quantity."""
    measure = Measure.objects.get(pk=measure_id)
    rows = [("s", s.resource_id, s.quantity.normalize()) for s in measure.savings.all()]
    rows += [("f", f.resource_id, f.quantity.normalize()) for f in measure.flows.all()]
    return sorted(rows)


class Channels:
    """The doors, each used as its user uses it; `lines` holds what each measure was last given."""

    def __init__(self, staff, admin):
        self.staff, self.admin = Client(), Client()
        self.staff.force_login(staff)
        self.admin.force_login(admin)
        self.api = APIClient()
        self.api.force_authenticate(staff)
        self.staff_user = staff
        self.created: list[int] = []
        self.lines: dict[int, list] = {}
        self.electricity = Resource.objects.get(code="electricity")
        self.water = Resource.objects.get(code="water")
        self.enterprises = list(Enterprise.objects.filter(code__startswith="demo-").order_by("pk"))

    def pick(self, index: int) -> int | None:
        return self.created[index % len(self.created)] if self.created else None

    def page_create(self, e: int, kwh: int) -> None:
        enterprise = self.enterprises[e % len(self.enterprises)]
        page = self.staff.get(f"/measures/new/recp/?enterprise={enterprise.pk}").content.decode()
        _, data = form_fields(page, form_id="measure-form")
        data |= {"technique": ["good_housekeeping"], "title_vi": [f"Giải pháp {next(TITLES)}"],
                 "savings-0-resource": [str(self.electricity.pk)], "savings-0-quantity": [str(kwh)],
                 "savings-0-unit": ["kWh"]}  # fmt: skip
        response = self.staff.post("/measures/new/recp/", data)
        assert response.status_code == 302, response.content.decode()[:2000]
        pk = int(response["Location"].strip("/").split("/")[-1])
        self.created.append(pk)
        self.lines[pk] = [("s", self.electricity.pk, Decimal(kwh).normalize())]

    def page_edit(self, i: int, mode: int) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        url = f"/measures/{pk}/edit/"
        _, data = form_fields(self.staff.get(url).content.decode(), form_id="measure-form")
        if mode == 1:
            data["title_en"] = [f"Edited on the page {next(TITLES)}"]
        elif mode == 2:
            quantity = Decimal(data["savings-0-quantity"][0].replace(".", "").replace(",", "."))
            data["savings-0-quantity"] = [str(quantity + 1)]
        response = self.staff.post(url, data)
        assert response.status_code == 302, response.content.decode()[:2000]
        self.lines[pk] = lines_of(pk) if mode == 2 else self.lines[pk]

    def page_step(self, i: int) -> None:
        pk = self.pick(i)
        measure = Measure.objects.get(pk=pk) if pk else None
        step = {"identified": "proposed", "proposed": "accepted", "accepted": "implemented"}.get(
            getattr(measure, "status", "")
        )
        if step is None:
            return
        url = f"/measures/{pk}/status/?to={step}"
        action, data = form_fields(self.staff.get(url).content.decode(), form_id="status-form")
        assert self.staff.post(action or url, data).status_code == 302

    def api_patch(self, i: int, year: int) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        version = self.api.get(f"/api/v1/measures/{pk}/").json()["version"]
        response = self.api.patch(f"/api/v1/measures/{pk}/", {"estimate_year": year, "version": version}, format="json")
        assert response.status_code == 200, response.json()

    def api_put(self, i: int, kwh: int) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        read = self.api.get(f"/api/v1/measures/{pk}/").json()
        body = {k: v for k, v in read.items() if k not in ("co2e_trail", "status_history", "allowed_transitions")}
        for saving in body["savings"]:
            if saving["resource"] == self.electricity.pk or saving.get("resource_code") == "electricity":
                saving["quantity"] = str(kwh)
        response = self.api.put(f"/api/v1/measures/{pk}/", body, format="json")
        assert response.status_code == 200, response.json()
        self.lines[pk] = lines_of(pk)

    def admin_save(self, i: int, change: bool) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        url = reverse("admin:measures_measure_change", args=[pk])
        data = form_fields(self.admin.get(url).content.decode(), form_id="measure_form")[1]
        if change:
            data["title_en"] = [f"Edited in the admin {next(TITLES)}"]
        response = self.admin.post(url, data)
        assert response.status_code == 302, response.context and response.context.get("errors")

    def admin_delete(self, i: int) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        url = reverse("admin:measures_measure_delete", args=[pk])
        data = form_fields(self.admin.get(url).content.decode(), index=ADMIN_CONFIRMATION)[1]
        assert self.admin.post(url, data).status_code == 302
        self.created.remove(pk)
        del self.lines[pk]

    def admin_bulk_delete(self, i: int, j: int) -> None:
        doomed = {self.pick(i), self.pick(j)} - {None}
        if not doomed:
            return
        changelist = reverse("admin:measures_measure_changelist")
        confirm = self.admin.post(changelist, {"action": "delete_selected", "_selected_action": sorted(doomed)})
        data = form_fields(confirm.content.decode(), index=ADMIN_CONFIRMATION)[1]
        assert self.admin.post(changelist, data).status_code == 302
        for pk in doomed:
            self.created.remove(pk)
            del self.lines[pk]

    def import_(self, i: int, kwh: int) -> None:
        pk = self.pick(i)
        if pk is None:
            return
        measure = Measure.objects.select_related("enterprise").get(pk=pk)
        when = measure.identified_on.strftime("%d/%m/%Y")
        row = recp_row(measure.reference, measure.enterprise.code, saving_1_quantity=kwh, identified_on=when,
                       estimate_year=measure.estimate_year, status=measure.status)  # fmt: skip
        if measure.implemented_on:
            row["implemented_on"] = measure.implemented_on.strftime("%d/%m/%Y")
        content = filled_template(self.staff_user, measures=[row])
        response = self.staff.post(reverse("measures:import"), {"file": upload(content)})
        assert response.status_code == 302
        job = int(response["Location"].rstrip("/").split("/")[-1])
        confirmed = self.staff.post(reverse("measures:import_confirm", args=[job]))
        assert confirmed.status_code == 302
        done = ImportJob.objects.get(pk=job)
        assert done.state == ImportJob.State.DONE, (done.state, done.errors)
        self.lines[pk] = sorted([("s", self.electricity.pk, Decimal(kwh).normalize()),
                                 ("s", self.water.pk, Decimal(1500))])  # fmt: skip

    def move(self, e: int, p: int) -> None:
        enterprise = self.enterprises[e % len(self.enterprises)]
        parks = list(Park.objects.exclude(pk=enterprise.park_id).order_by("pk"))
        url = reverse("admin:enterprises_enterprise_change", args=[enterprise.pk])
        data = form_fields(self.admin.get(url).content.decode(), form_id="enterprise_form")[1]
        data["park"] = [str(parks[p % len(parks)].pk)]
        assert self.admin.post(url, data).status_code == 302

    def apply(self, op) -> None:
        name = "import_" if op[0] == "import" else op[0]
        getattr(self, name)(*op[1:])


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sequence=st.lists(ops, min_size=2, max_size=8))
def test_after_changes_through_every_door_the_roll_up_equals_a_from_scratch_aggregate(
    sequence, django_capture_on_commit_callbacks, staff_user, admin_user
):
    channels = Channels(staff_user, admin_user)
    # Every door runs with the callbacks its commit schedules (the roll-up's enqueue), the first create too: left
    # outside, its roll-up mark waited for a later write, and a sequence of saves that change nothing never sent one.
    with django_capture_on_commit_callbacks(execute=True):
        channels.page_create(0, 1000)
    for op in sequence:
        with django_capture_on_commit_callbacks(execute=True):
            channels.apply(op)
    assert differences(from_scratch(), table_now()) == []
    for pk, lines in channels.lines.items():
        assert lines_of(pk) == lines, pk  # every measure kept the lines it was last given
    misplaced = Measure.objects.filter(kind="recp").exclude(park_id=F("enterprise__park_id"))
    assert not misplaced.exists()  # an RECP measure counts in its enterprise's park, whatever moved it
