"""Every change to the register is on record: who, when, through which channel, old and new values."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from ecopark.audit import audit_context
from ecopark.models import AuditEntry
from measures.models import EmissionFactor, Measure, MeasureSaving, Resource
from measures.services import SavingInput, measure_create, measure_transition, measure_update
from tests.factories import EnterpriseFactory, recp_measure


def entries_for(model, pk):
    return AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(model), object_id=str(pk))


def savings(*codes_and_kwh):
    return [SavingInput(Resource.objects.get(code=code), Decimal(kwh), unit) for code, kwh, unit in codes_and_kwh]


@pytest.mark.django_db
def test_a_measure_and_each_of_its_bulk_inserted_lines_are_recorded_with_actor_and_channel(staff_user):
    with audit_context(actor=staff_user, channel="api"):
        measure = measure_create(
            measure=recp_measure(EnterpriseFactory()),
            savings=savings(("electricity", 1000, "kWh"), ("water", 50, "m3"), ("diesel", 2, "t")),
        )
    created = entries_for(Measure, measure.pk).get()
    assert (created.action, created.actor, created.channel) == ("create", staff_user, "api")
    assert created.changes["title_vi"] == [None, "Tắt máy nén khí khi không dùng"]
    lines = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(MeasureSaving), actor=staff_user)
    assert lines.count() == 3  # one entry per inserted row
    assert {e.changes["unit"][1] for e in lines} == {"kWh", "m3", "t"}


@pytest.mark.django_db
def test_an_edit_records_old_and_new_values_and_a_transition_records_the_status(staff_user):
    measure = measure_create(measure=recp_measure(EnterpriseFactory()), savings=savings(("electricity", 10, "kWh")))
    with audit_context(actor=staff_user, channel="web"):
        measure_update(measure_id=measure.pk, changes={"title_vi": "Tiêu đề mới", "estimate_year": 2023})
        measure_transition(measure=measure, to_status="proposed", changed_by=staff_user,
                           effective_on=datetime.date(2022, 6, 1))  # fmt: skip
    update, transition = entries_for(Measure, measure.pk).filter(action="update").order_by("id")
    assert update.changes == {
        "title_vi": ["Tắt máy nén khí khi không dùng", "Tiêu đề mới"],
        "estimate_year": [2022, 2023],
        "version": [1, 2],  # which save it was (an edit conflict lists what was saved since a version)
    }
    assert transition.changes["status"] == ["identified", "proposed"]
    assert (transition.actor, transition.channel) == (staff_user, "web")


@pytest.mark.django_db
def test_an_entered_co2e_and_its_method_are_on_record(staff_user):
    measure = measure_create(measure=recp_measure(EnterpriseFactory()), savings=savings(("electricity", 10, "kWh")))
    with audit_context(actor=staff_user, channel="web"):
        measure_update(
            measure_id=measure.pk,
            changes={"co2e_entered_t": Decimal("120.5"), "co2e_method": "Metered boiler fuel, 12 months"},
        )
    entry = entries_for(Measure, measure.pk).get(action="update")
    assert entry.changes == {
        "co2e_entered_t": [None, "120.500"],
        "co2e_method": ["", "Metered boiler fuel, 12 months"],
        "version": [1, 2],
    }


@pytest.mark.django_db
def test_changing_a_saving_records_its_old_and_new_quantity_and_replacing_one_records_both_rows(staff_user):
    measure = measure_create(measure=recp_measure(EnterpriseFactory()), savings=savings(("electricity", 10, "kWh")))
    line = measure.savings.get()
    with audit_context(actor=staff_user, channel="web"):
        measure_update(measure_id=measure.pk, changes={}, savings=savings(("electricity", 20, "kWh")))
    assert measure.savings.get().pk == line.pk  # the same line, changed in place
    changed = entries_for(MeasureSaving, line.pk).get(action="update")
    assert changed.changes["quantity"] == ["10.0000", "20.0000"]
    with audit_context(actor=staff_user, channel="web"):
        measure_update(measure_id=measure.pk, changes={}, savings=savings(("water", 5, "m3")))
    deleted = entries_for(MeasureSaving, line.pk).get(action="delete")
    assert deleted.changes["quantity"] == ["20.0000", None]
    assert AuditEntry.objects.filter(action="create", actor=staff_user, changes__quantity=[None, "5.0000"]).exists()


@pytest.mark.django_db
def test_a_factor_corrected_in_the_admin_is_recorded_as_the_admins_change(client, admin_user, eager_tasks):
    client.force_login(admin_user)
    factor = EmissionFactor.objects.get(resource__code="electricity", year=2023)
    url = reverse("admin:measures_emissionfactor_change", args=[factor.pk])
    data = {f: getattr(factor, f) for f in ["region", "year", "per_unit", "basis", "source", "note"]}
    data.update(resource=factor.resource_id, value="0.6600", is_official="on")
    assert client.post(url, {k: "" if v is None else v for k, v in data.items()}).status_code == 302
    entry = entries_for(EmissionFactor, factor.pk).get()
    assert (entry.actor, entry.channel, entry.action) == (admin_user, "admin", "update")
    assert entry.changes == {"value": ["0.659200", "0.660000"]}


@pytest.mark.django_db
def test_audit_entries_cannot_be_changed_or_deleted_through_the_app_and_export_safely(client, admin_user):
    client.force_login(admin_user)
    Measure.objects.filter(reference="demo-recp-005").update(title_vi='=HYPERLINK("http://x")')
    with audit_context(actor=admin_user, channel="web"):
        measure = Measure.objects.get(reference="demo-recp-005")
        measure_update(measure_id=measure.pk, changes={"title_vi": "Sửa"})
    entry = entries_for(Measure, measure.pk).get(action="update")
    change = reverse("admin:ecopark_auditentry_change", args=[entry.pk])
    assert client.post(change, {"channel": "web"}).status_code == 403
    assert client.post(reverse("admin:ecopark_auditentry_delete", args=[entry.pk]), {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=entry.pk).exists()

    response = client.post(
        reverse("admin:ecopark_auditentry_changelist"), {"action": "export_csv", "_selected_action": [entry.pk]}
    )
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:3] == ["thời điểm", "người thực hiện", "kênh"]  # Vietnamese, the user's language
    assert rows[1][6:] == ["title_vi", '\'=HYPERLINK("http://x")', "Sửa"]  # the formula is neutralised


@pytest.mark.django_db
def test_a_bulk_change_leaves_one_entry_per_changed_row_with_actor_and_channel(staff_user):
    from enterprises.services import enterprise_update
    from tests.factories import ParkFactory

    enterprise = EnterpriseFactory()
    measures = [measure_create(measure=recp_measure(enterprise), savings=[]) for _ in range(3)]
    new_park = ParkFactory()
    with audit_context(actor=staff_user, channel="web"):
        enterprise_update(enterprise_id=enterprise.pk, changes={"park": new_park})  # its measures follow it
    for measure in measures:
        moved = entries_for(Measure, measure.pk).filter(action="update").get()
        assert (moved.actor, moved.channel) == (staff_user, "web")
        assert moved.changes["park_id"] == [enterprise.park_id, new_park.pk]
    assert entries_for(type(enterprise), enterprise.pk).filter(action="update").count() == 1


@pytest.mark.django_db
def test_an_import_leaves_one_entry_per_changed_row_with_actor_and_channel(staff_user):
    from ecopark.spreadsheet import read_workbook
    from ecopark.uploads import XLSX
    from measures.importer import Importer
    from tests.measures.import_files import filled_template, recp_row, upload

    def run_import(rows):
        workbook = read_workbook(upload(filled_template(staff_user, measures=rows)), XLSX)
        assert Importer(staff_user, language="en").run(workbook, commit=True).ok

    rows = [recp_row("audit-imp-1", "demo-01"), recp_row("audit-imp-2", "demo-04")]
    run_import(rows)
    first = AuditEntry.objects.filter(channel="import")
    assert {(e.content_type.model, e.action) for e in first} == {("measure", "create"), ("measuresaving", "create")}
    assert first.filter(content_type__model="measure").count() == 2  # one per row
    assert first.filter(content_type__model="measuresaving").count() == 4  # one per saving line
    assert set(first.values_list("actor", flat=True)) == {staff_user.pk}

    seen = AuditEntry.objects.order_by("-pk").first().pk
    run_import([{**rows[0], "title_vi": "Tiêu đề mới"}, rows[1]])  # one row changed, one the same
    changed = AuditEntry.objects.filter(pk__gt=seen)
    entry = changed.get()  # exactly one entry: the changed row
    assert (entry.action, entry.channel, entry.actor) == ("update", "import", staff_user)
    assert entry.object_repr.startswith("audit-imp-1") and entry.changes["title_vi"][1] == "Tiêu đề mới"
