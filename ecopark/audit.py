"""The audit trail: who changed what, when, through which channel, with old and new values.

Every save and delete of an audited model is recorded by signals; bulk inserts made by the services are recorded
explicitly (`record_created`). The actor and channel come from the context: the web middleware sets them for
requests (the admin is its own channel); tasks, imports and the API set theirs with `audit_context`.
"""

import contextlib
import contextvars
import functools
import json
from collections.abc import Iterable
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models

from ecopark.bulk import insert_rows

_context: contextvars.ContextVar[tuple[object, str]] = contextvars.ContextVar("audit_context", default=(None, "system"))

AUDITED = {
    "parks": ["Province", "ProvinceStatistic", "Park", "ParkMembership"],
    "enterprises": ["Enterprise", "Organisation"],
    "measures": [
        "Measure",
        "MeasureSaving",
        "ResourceFlow",
        "Evidence",
        "EmissionFactor",
        "ExchangeRate",
        "Resource",
    ],
    "reports": ["ProgrammeTarget"],
}
# Lines shown in their parent's history: model label -> the field naming the parent.
PARENT_FIELDS = {
    "measures.measuresaving": ("measures.measure", "measure_id"),
    "measures.resourceflow": ("measures.measure", "measure_id"),
    "measures.evidence": ("measures.measure", "measure_id"),
}
# Bookkeeping that changes with every save: not a change anyone made.
IGNORED_FIELDS = {"updated_at", "created_at"}


@contextlib.contextmanager
def audit_context(*, actor, channel: str):
    """Record changes made inside this block as made by `actor` through `channel`."""
    token = _context.set((actor, channel))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> tuple[object, str]:
    return _context.get()


def _plain(value):
    if isinstance(value, str | int | float):  # already JSON (bool is an int)
        return value
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _reader(field: models.Field):
    """How a field's value (not None) is recorded."""
    if isinstance(field, models.DecimalField):
        # As stored: Decimal("0.66") entered and 0.660000 read back are the same value.
        step = Decimal(1).scaleb(-field.decimal_places)
        return lambda value: str(Decimal(value).quantize(step))
    if isinstance(field, models.FileField):
        return lambda value: value.name or None  # where the file is kept, not its content
    return _plain


# Recorded though not editable: the edit counter says which save a change belonged to (an edit conflict lists what
# was saved since the version an editor started from); it is not shown as a change.
VERSION_FIELD = "version"


@functools.cache
def _audited_fields(model) -> tuple[models.Field, ...]:
    # Computed figures (editable=False) follow from the audited values and are not changes anyone made.
    return tuple(
        field
        for field in model._meta.concrete_fields
        if not field.primary_key
        and (field.editable or field.attname == VERSION_FIELD)
        and field.attname not in IGNORED_FIELDS
    )


@functools.cache
def _readers(model) -> tuple[tuple[str, object], ...]:
    return tuple((field.attname, _reader(field)) for field in _audited_fields(model))


def snapshot(instance: models.Model) -> dict:
    """The audited field values of a row, as JSON-ready values."""
    return {
        name: None if (value := getattr(instance, name)) is None else read(value)
        for name, read in _readers(type(instance))
    }


def subject_of(instance: models.Model) -> str:
    """The record whose history shows a change of this row: the row itself, or its parent."""
    label = instance._meta.label_lower
    if label in PARENT_FIELDS:
        parent, field = PARENT_FIELDS[label]
        return f"{parent}:{getattr(instance, field)}"
    return f"{label}:{instance.pk}"


def history_of(instance: models.Model):
    """The audit entries of a record and its lines, newest first, with who made them."""
    from ecopark.models import AuditEntry

    return AuditEntry.objects.filter(subject=subject_of(instance)).select_related("actor", "content_type")


def _entry(instance: models.Model, action: str, changes: dict) -> dict:
    """An audit entry's fields (by attname) for a change of this row, made by the current actor and channel."""
    from django.contrib.contenttypes.models import ContentType

    actor, channel = current()
    return {
        "actor_id": getattr(actor, "pk", None),
        "channel": channel,
        "action": action,
        "content_type_id": ContentType.objects.get_for_model(type(instance)).pk,
        "object_id": str(instance.pk),
        "object_repr": str(instance)[:200],
        "changes": changes,
        "subject": subject_of(instance),
    }


def _register_changed() -> None:
    """Figures kept in the cache for the register as a whole (the dashboards' counts) are computed afresh."""
    from ecopark.counts import REGISTER, bump_count_version

    bump_count_version(REGISTER)


def record(instance: models.Model, action: str, before: dict | None) -> None:
    """Write one entry for a create, update or delete; an update that changed nothing audited writes none."""
    from ecopark.models import AuditEntry

    after = snapshot(instance) if action != "delete" else {}
    if action == "create":
        changes = {k: [None, v] for k, v in after.items() if v not in (None, "")}
    elif action == "delete":
        changes = {k: [v, None] for k, v in (before or {}).items() if v not in (None, "")}
    else:
        changes = {k: [before.get(k), v] for k, v in after.items() if before is not None and before.get(k) != v}
        if not changes:
            return
    AuditEntry(**_entry(instance, action, changes)).save()
    _register_changed()


def record_created(instances: Iterable[models.Model]) -> None:
    """Entries for rows inserted in bulk (bulk_create sends no signals): one per row."""
    from ecopark.models import AuditEntry

    entries = [_entry(i, "create", {k: [None, v] for k, v in snapshot(i).items() if v not in (None, "")})
               for i in instances]  # fmt: skip
    insert_rows(AuditEntry, entries, batch_size=500)
    if entries:
        _register_changed()


def _field_labels(model) -> dict[str, str]:
    return {f.attname: str(f.verbose_name) for f in model._meta.concrete_fields}


def _as_text(value):
    """A recorded value as stored (2026, not a localised 2.026), or None."""
    return None if value is None else str(value)


def readable_history(entries) -> list[dict]:
    """Audit entries as a person reads them: who, when, through which channel, and each field's old and new value."""
    labels: dict = {}
    rows = []
    for entry in entries:
        model = entry.content_type.model_class()
        if model not in labels:
            labels[model] = _field_labels(model) if model else {}
        # A line's link to its parent says nothing on the parent's own page.
        parent_link = PARENT_FIELDS.get(f"{entry.content_type.app_label}.{entry.content_type.model}", (None, None))[1]
        changes = [
            (labels[model].get(field, field), _as_text(old), _as_text(new))
            for field, (old, new) in entry.changes.items()
            if field not in (parent_link, VERSION_FIELD)
        ]
        if not changes and entry.action == "update":
            continue  # a save that changed only lines: the lines' own entries say what changed
        rows.append(
            {
                "entry": entry,
                "what": model._meta.verbose_name if model else entry.content_type.model,
                "changes": changes,
            }
        )
    return rows


def entries_as_data(entries) -> list[dict]:
    """Audit entries as plain data (for an API answer): when, who, through which channel, which record, and each
    field's old and new value as stored."""
    return [
        {
            "at": entry.at.isoformat(),
            "actor": entry.actor.get_username() if entry.actor else None,
            "channel": entry.channel,
            "action": entry.action,
            "record": entry.object_repr,
            "changes": {field: values for field, values in entry.changes.items() if field != VERSION_FIELD},
        }
        for entry in entries
    ]
