"""Large inserts (COPY on PostgreSQL, bulk_create elsewhere) store what a save would store."""

import datetime
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.utils import timezone

from ecopark.bulk import insert_many, insert_rows
from ecopark.models import AuditEntry
from measures.models import Measure, MeasureSaving, Resource, StatusChange

AWKWARD = "tab\there, new\nline, back\\slash, \\N, <b>bold</b>, Tiết kiệm điện \r end"


@pytest.mark.django_db
def test_insert_many_sets_keys_and_stores_every_value_as_a_save_would():
    measure = Measure.objects.filter(kind="recp").first()
    one, other, third = Resource.objects.exclude(pk__in=measure.savings.values("resource"))[:3]
    lines = [
        MeasureSaving(measure=measure, resource=one, quantity=Decimal("1234.5678"), unit="m3",
                      quantity_canonical=Decimal("1234.5678"), verified_quantity=None),
        MeasureSaving(measure=measure, resource=other, quantity=Decimal("0.0001"), unit="l",
                      quantity_canonical=Decimal("0.0000001")),
    ]  # fmt: skip
    before = set(MeasureSaving.objects.values_list("pk", flat=True))
    saved = insert_many(MeasureSaving, lines)
    assert all(line.pk is not None and line.pk not in before for line in saved)
    assert not any(line._state.adding for line in saved)
    first, second = (MeasureSaving.objects.get(pk=line.pk) for line in saved)
    assert (first.quantity, first.unit, first.verified_quantity) == (Decimal("1234.5678"), "m3", None)
    assert first.measure_id == measure.pk
    assert second.quantity_canonical == 0  # rounded to the column's scale, as a save rounds it
    # the sequence moved on: the next ordinary save gets a fresh key
    after = MeasureSaving.objects.create(measure=measure, resource=third, quantity=1, unit="m3", quantity_canonical=1)
    assert after.pk > max(line.pk for line in saved)


@pytest.mark.django_db
def test_insert_rows_round_trips_awkward_text_dates_and_json(staff_user):
    measure = Measure.objects.first()
    started = timezone.now()
    insert_rows(StatusChange, [{"measure_id": measure.pk, "from_status": "", "to_status": "identified",
                                "changed_by_id": staff_user.pk, "effective_on": datetime.date(2024, 2, 29),
                                "reason": AWKWARD}])  # fmt: skip
    change = StatusChange.objects.get(measure=measure, reason=AWKWARD)
    assert (change.effective_on, change.changed_by) == (datetime.date(2024, 2, 29), staff_user)
    assert change.changed_at >= started  # stamped on saving
    changes = {"title_en": [None, AWKWARD], "quantity": [None, "12.5000"], "flag": [None, True], "empty": [None, None]}
    insert_rows(AuditEntry, [{"actor_id": None, "channel": "import", "action": "create",
                              "content_type_id": ContentType.objects.get_for_model(Measure).pk,
                              "object_id": str(measure.pk), "object_repr": AWKWARD[:200], "changes": changes,
                              "subject": f"measures.measure:{measure.pk}"}])  # fmt: skip
    entry = AuditEntry.objects.get(object_repr=AWKWARD[:200])
    assert entry.changes == changes
    assert entry.actor is None


@pytest.mark.django_db
def test_a_row_the_database_refuses_raises_djangos_integrity_error_and_writes_nothing():
    measure = Measure.objects.first()
    water = Resource.objects.exclude(pk__in=measure.savings.values("resource")).first()
    count = MeasureSaving.objects.count()
    lines = [
        MeasureSaving(measure=measure, resource=water, quantity=1, unit="m3", quantity_canonical=1),
        MeasureSaving(measure=measure, resource=water, quantity=1, unit=None, quantity_canonical=1),  # unit required
    ]
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_many(MeasureSaving, lines)
    assert MeasureSaving.objects.count() == count
