"""A measure's change history as a person reads the measure: parties and resources by name, statuses and choices by
label, numbers and dates as the page's language writes them, and each saving or flow named by its resource and unit
("Electricity (kWh): 5,817 → 6,000").

The audit trail keeps values as stored (ids, codes, "5817.0000"); this turns them into text for the measure page and
the edit conflict, with one query per kind of record named.
"""

import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _

from ecopark.audit import readable_history
from measures.models import MeasureSaving, Resource, ResourceFlow

LINE_MODELS = (MeasureSaving, ResourceFlow)
# The fields a line's own label already says (its resource and unit), and its link to the measure.
LINE_NAMED = {"resource_id", "unit", "measure_id"}


def record_history(entries) -> list[dict]:
    """Audit entries of a record (a measure with its lines, or an enterprise), newest first as given, as rows of who,
    when, what and each change as (label, old, new) text."""
    rows = readable_history(entries)
    names = _Names(rows)
    for row in rows:
        entry = row["entry"]
        model = entry.content_type.model_class()
        if model is None:
            continue
        fields = {field.attname: field for field in model._meta.concrete_fields}
        changes = {name: values for name, values in entry.changes.items() if name in fields and name != "version"}
        if model in LINE_MODELS:
            row["changes"] = _line_changes(model, entry, changes, fields, names)
        else:
            row["changes"] = [
                (str(fields[name].verbose_name), names.show(fields[name], old), names.show(fields[name], new))
                for name, (old, new) in changes.items()
                if name not in ("measure_id",)
            ]
    return rows


measure_history = record_history  # the measure page's name for it


def _line_changes(model, entry, changes: dict, fields: dict, names: "_Names") -> list[tuple]:
    """A line's changes, each named by the line's resource and unit; a unit changed shows beside each quantity."""
    resource, unit = names.line(model, entry)
    unit_change = changes.get("unit")
    unit_changed = unit_change is not None and unit_change[0] is not None and unit_change[1] is not None
    label = resource if unit_changed or not unit else f"{resource} ({unit})"
    rows = []
    for name, (old, new) in changes.items():
        if name in LINE_NAMED:
            continue
        field = fields[name]
        shown = [names.show(field, value) for value in (old, new)]
        if unit_changed and name in ("quantity", "verified_quantity"):
            shown = [None if text is None else f"{text} {u}" for text, u in zip(shown, unit_change, strict=True)]
        rows.append((label if name == "quantity" else f"{label} · {field.verbose_name}", *shown))
    return rows


class _Names:
    """The names of the records the entries point to, read once per model, and the text of any recorded value."""

    def __init__(self, rows: list[dict]):
        wanted: dict[type, set] = {}
        self.lines: dict[tuple[type, str], dict] = {}
        for row in rows:
            entry = row["entry"]
            model = entry.content_type.model_class()
            if model is None:
                continue
            for name, values in entry.changes.items():
                if name == "measure_id":
                    continue  # the measure whose history this is
                try:
                    field = model._meta.get_field(name.removesuffix("_id"))
                except FieldDoesNotExist:  # a field since removed: shown as recorded
                    continue
                if field.is_relation and field.many_to_one:
                    wanted.setdefault(field.related_model, set()).update(v for v in values if v is not None)
            if model in LINE_MODELS:
                facts = self.lines.setdefault((model, entry.object_id), {})
                for name in ("resource_id", "unit"):  # as created, or as it was when deleted
                    values = entry.changes.get(name)
                    if values and not facts.get(name):
                        facts[name] = values[1] if values[1] is not None else values[0]
        unknown = {key for key, facts in self.lines.items() if not ("resource_id" in facts and "unit" in facts)}
        for model in LINE_MODELS:
            ids = [pk for m, pk in unknown if m is model and pk.isdigit()]
            for pk, resource_id, unit in model.objects.filter(pk__in=ids).values_list("pk", "resource_id", "unit"):
                facts = self.lines[(model, str(pk))]
                facts.setdefault("resource_id", resource_id)
                facts.setdefault("unit", unit)
        for facts in self.lines.values():
            if facts.get("resource_id") is not None:
                wanted.setdefault(Resource, set()).add(facts["resource_id"])
        self.objects = {
            model: {str(obj.pk): str(obj) for obj in model._default_manager.filter(pk__in=ids)}
            for model, ids in wanted.items()
            if ids
        }

    def line(self, model, entry) -> tuple[str, str]:
        """A line's resource name and unit."""
        facts = self.lines.get((model, entry.object_id), {})
        resource = self.objects.get(Resource, {}).get(str(facts.get("resource_id")))
        return resource or entry.object_repr.split(":")[0], facts.get("unit") or ""

    def show(self, field: models.Field, value):
        """A recorded value as text in the page's language (None stays None, shown as empty)."""
        if value is None or value == "":
            return value
        if field.is_relation:
            return self.objects.get(field.related_model, {}).get(str(value), str(value))
        if field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(field, models.BooleanField):
            return _("yes") if value else _("no")
        if isinstance(field, models.DecimalField | models.FloatField):
            try:
                return number_format(Decimal(str(value)).normalize(), use_l10n=True, force_grouping=True)
            except InvalidOperation:
                return str(value)
        if isinstance(field, models.DateTimeField):
            moment = parse_datetime(str(value))
            if moment is None:
                return str(value)
            if timezone.is_aware(moment):
                moment = timezone.localtime(moment)
            return date_format(moment, "SHORT_DATETIME_FORMAT")
        if isinstance(field, models.DateField):
            day = parse_date(str(value)) if not isinstance(value, datetime.date) else value
            return date_format(day, "DATE_FORMAT") if day else str(value)
        return str(value)  # text, and years and counts as stored (2026, not 2,026)
