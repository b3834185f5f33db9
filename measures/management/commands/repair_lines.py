"""manage.py repair_lines: find, from the audit trail, the savings and flows that an edit removed without being asked,
list them, and with --apply restore them (with their figures), audited as a repair.

The bug (issue 16): saving a measure's edit form deleted every line the person had not touched. In the audit trail a
save like that is a measure "update" entry followed, within the same save (same person, same channel, a few seconds),
by "delete" entries for the measure's lines, with no line of the same resource written again and no older line of
the measure left standing. A line is not restored when it has been dealt with since: the same resource was entered
again on the measure (by anyone, or by an earlier repair), or the measure no longer exists.
"""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _

from ecopark.audit import audit_context, record_created
from ecopark.models import AuditEntry
from measures.models import Measure, MeasureSaving, Resource, ResourceFlow
from measures.services import FlowInput, SavingInput, figures_recompute, flow_line, saving_line
from reports.services import rollup_mark_changing, rollup_once

# The entries of one save are written within milliseconds of each other; a few seconds leaves room for a slow one.
SAME_SAVE = datetime.timedelta(seconds=5)
LINE_MODELS = (MeasureSaving, ResourceFlow)


def _key(model, values: dict) -> tuple:
    """What makes two lines "the same line" for a measure: the resource (and, for a flow, its direction)."""
    if model is MeasureSaving:
        return (model, values.get("resource_id"))
    return (model, values.get("resource_id"), values.get("direction"))


@dataclass
class LostLine:
    """A line removed by an unasked-for save, as the audit trail recorded it before the removal."""

    model: type
    values: dict  # attname -> value as recorded

    @property
    def key(self) -> tuple:
        return _key(self.model, self.values)


@dataclass
class Loss:
    """One save that removed lines of a measure without being asked to."""

    measure: Measure
    at: datetime.datetime
    actor: object
    channel: str
    lines: list[LostLine] = field(default_factory=list)


def _old_values(entry: AuditEntry) -> dict:
    return {name: old for name, (old, _new) in entry.changes.items()}


def find_losses(*, channels: list[str], since=None, until=None, references: list[str] | None = None) -> list[Loss]:
    """The saves that removed lines without being asked, with the lines still missing, oldest first."""
    types = ContentType.objects.get_for_models(Measure, *LINE_MODELS)
    measure_type = types[Measure]
    line_types = {types[model].pk: model for model in LINE_MODELS}
    updates = AuditEntry.objects.filter(content_type=measure_type, action="update", channel__in=channels)
    if since:
        updates = updates.filter(at__gte=since)
    if until:
        updates = updates.filter(at__lt=until)
    measures = Measure.objects.in_bulk({int(pk) for pk in updates.values_list("object_id", flat=True) if pk.isdigit()})
    if references:
        measures = {pk: m for pk, m in measures.items() if m.reference in references}
    subjects = {f"measures.measure:{pk}": pk for pk in measures}
    line_entries: dict[int, list[AuditEntry]] = {}
    for entry in AuditEntry.objects.filter(subject__in=subjects, content_type_id__in=line_types).order_by("at", "id"):
        line_entries.setdefault(subjects[entry.subject], []).append(entry)
    current = {
        model: {(line.measure_id, line.pk): line for line in model.objects.filter(measure_id__in=measures)}
        for model in LINE_MODELS
    }
    losses, seen = [], set()
    for update in updates.filter(object_id__in=[str(pk) for pk in measures]).select_related("actor").order_by("at"):
        measure = measures[int(update.object_id)]
        entries = line_entries.get(measure.pk, [])
        in_save = [
            e
            for e in entries
            if update.at <= e.at <= update.at + SAME_SAVE
            and e.actor_id == update.actor_id
            and e.channel == update.channel
            and e.pk not in seen
        ]
        seen.update(e.pk for e in in_save)
        deleted = [e for e in in_save if e.action == "delete"]
        if not deleted:
            continue
        rewritten = [_key(line_types[e.content_type_id], _old_or_new(e)) for e in in_save if e.action == "create"]
        lost = []
        for entry in deleted:
            line = LostLine(line_types[entry.content_type_id], _old_values(entry))
            if line.key in rewritten:
                rewritten.remove(line.key)  # changed on purpose: removed and written again with other values
            else:
                lost.append(line)
        lost = [line for line in lost if not _kept_others(line.model, measure, update.at, in_save, entries, current)]
        done = {e.pk for e in in_save}
        later = [e for e in entries if e.action == "create" and e.at >= update.at and e.pk not in done]
        lost = [line for line in lost if not _dealt_with(line, measure, later, current)]
        if lost:
            losses.append(Loss(measure, update.at, update.actor, update.channel, lost))
    return losses


def _model(entry: AuditEntry):
    return ContentType.objects.get_for_id(entry.content_type_id).model_class()


def _old_or_new(entry: AuditEntry) -> dict:
    return {name: new if old is None else old for name, (old, new) in entry.changes.items()}


def _kept_others(model, measure: Measure, at, in_save, entries, current) -> bool:
    """Whether the save left an older line of this kind standing: then it removed lines one by one, as asked (the
    bug removed every line it was not given). Line ids only grow, so a smaller id than a removed one is older."""
    removed = {int(e.object_id) for e in in_save if e.action == "delete" and _model(e) is model}
    written = {int(e.object_id) for e in in_save if e.action == "create" and _model(e) is model}
    standing = {pk for (measure_id, pk) in current[model] if measure_id == measure.pk}
    removed_later = {
        int(e.object_id) for e in entries if e.action == "delete" and _model(e) is model and e.at > at + SAME_SAVE
    }
    older = {pk for pk in standing | removed_later if pk < max(removed)} - removed - written
    return bool(older)


def _dealt_with(line: LostLine, measure: Measure, later: list[AuditEntry], current) -> bool:
    """Whether the line was entered again after the save (by a person, or by an earlier repair), or the measure has
    a saving of that resource now (one saving per resource)."""
    if any(_model(e) is line.model and _key(line.model, _old_or_new(e)) == line.key for e in later):
        return True
    if line.model is MeasureSaving:
        resource_id = line.values.get("resource_id")
        return any(s.resource_id == resource_id for (m, _pk), s in current[MeasureSaving].items() if m == measure.pk)
    return False


def _decimal(value) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


def restore(loss: Loss, *, actor=None) -> int:
    """Write the lost lines back (checked and converted by the services' line builders), recompute the measure's
    figures and mark the roll-up, audited through the repair channel. Returns the number of lines restored."""
    with transaction.atomic(), audit_context(actor=actor, channel=AuditEntry.Channel.REPAIR):
        measure = Measure.objects.select_for_update().get(pk=loss.measure.pk)
        resources = Resource.objects.in_bulk({line.values.get("resource_id") for line in loss.lines})
        savings, flows = [], []
        for line in loss.lines:
            values, resource = line.values, resources[line.values["resource_id"]]
            quantity, unit = _decimal(values["quantity"]), values["unit"]
            if line.model is MeasureSaving:
                verified = _decimal(values.get("verified_quantity"))
                # It was in the register, so its sign was accepted then: the confirmation is the original entry's.
                savings.append(saving_line(measure, SavingInput(resource, quantity, unit, verified, True)))
            else:
                direction = values.get("direction") or ResourceFlow.Direction.FORWARD
                flows.append(flow_line(measure, FlowInput(resource, quantity, unit, direction)))
        rollup_mark_changing([measure.pk])
        record_created(MeasureSaving.objects.bulk_create(savings))
        record_created(ResourceFlow.objects.bulk_create(flows))
        measure.version += 1  # an edit form opened before the repair must not save over the restored lines
        measure.save(update_fields=["version", "updated_at"])
        figures_recompute(Measure.objects.filter(pk=measure.pk))
    return len(savings) + len(flows)


def describe(line: LostLine, resources: dict) -> str:
    values = line.values
    resource = resources.get(values.get("resource_id"))
    name = resource.name if resource else f"#{values.get('resource_id')}"
    text = f"{name}: {values.get('quantity')} {values.get('unit')}"
    if line.model is MeasureSaving and values.get("verified_quantity") not in (None, ""):
        text += " " + _("(verified %(quantity)s)") % {"quantity": values["verified_quantity"]}
    if line.model is ResourceFlow:
        text = _("flow %(line)s, %(direction)s") % {"line": text, "direction": values.get("direction")}
    return text


class Command(BaseCommand):
    help = (
        "List the measures whose savings or flows were removed by an edit that did not ask for it (from the audit "
        "trail); with --apply, restore them and recompute their figures, audited as a repair."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Restore the lines (default: only list them).")
        parser.add_argument(
            "--channel",
            action="append",
            dest="channels",
            choices=AuditEntry.Channel.values,
            help="Audit channel of the saves to look at (repeatable; default: web, where the edit form saved).",
        )
        parser.add_argument("--since", help="Only saves on or after this date (yyyy-mm-dd).")
        parser.add_argument("--until", help="Only saves before this date (yyyy-mm-dd), e.g. the day of the fix.")
        parser.add_argument("--reference", action="append", dest="references", help="Only this measure (repeatable).")
        parser.add_argument("--actor", help="Username recorded as the one who made the repair.")

    def handle(self, *args, apply: bool, channels, since, until, references, actor, **options):
        actor_user = None
        if actor:
            actor_user = get_user_model().objects.filter(username=actor).first()
            if actor_user is None:
                raise CommandError(_("No user is called %(name)s.") % {"name": actor})
        losses = find_losses(
            channels=channels or [AuditEntry.Channel.WEB],
            since=self._date(since),
            until=self._date(until),
            references=references,
        )
        if not losses:
            self.stdout.write(_("No measure has lines removed by an unasked-for save."))
            return
        resources = Resource.objects.in_bulk()
        for loss in losses:
            who = getattr(loss.actor, "username", None) or "-"
            when = timezone.localtime(loss.at).strftime("%Y-%m-%d %H:%M:%S")
            self.stdout.write(
                _("%(reference)s: saved on %(when)s by %(who)s (%(channel)s) lost:")
                % {"reference": loss.measure.reference, "when": when, "who": who, "channel": loss.channel}
            )
            for line in loss.lines:
                self.stdout.write(f"  - {describe(line, resources)}")
        lines = sum(len(loss.lines) for loss in losses)
        if not apply:
            self.stdout.write(
                _("%(lines)s lines of %(measures)s measures can be restored; run again with --apply to restore them.")
                % {"lines": lines, "measures": len(losses)}
            )
            return
        restored, failed = 0, 0
        with rollup_once():
            for loss in losses:
                try:
                    restored += restore(loss, actor=actor_user)
                except ValidationError as error:
                    failed += 1
                    self.stderr.write(
                        _("%(reference)s not restored: %(error)s")
                        % {"reference": loss.measure.reference, "error": " ".join(error.messages)}
                    )
        self.stdout.write(
            self.style.SUCCESS(_("%(lines)s lines restored, figures recomputed, roll-up marked.") % {"lines": restored})
        )
        if failed:
            raise CommandError(_("%(count)s measures could not be restored (see above).") % {"count": failed})

    @staticmethod
    def _date(text: str | None):
        if not text:
            return None
        day = parse_date(text)
        if day is None:
            raise CommandError(_("“%(text)s” is not a date (yyyy-mm-dd).") % {"text": text})
        return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
