"""Signal receivers that feed the audit trail for every audited model."""

from django.apps import apps
from django.db.models.signals import post_delete, post_save, pre_save

from ecopark.audit import AUDITED, record, snapshot


def _before_save(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None:
        instance._audit_before = None
        return
    stored = sender.objects.filter(pk=instance.pk).first()
    instance._audit_before = snapshot(stored) if stored is not None else None


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:
        return
    before = getattr(instance, "_audit_before", None)
    record(instance, "create" if created or before is None else "update", before)


def _after_delete(sender, instance, **kwargs):
    record(instance, "delete", snapshot(instance))


def connect() -> None:
    for app_label, names in AUDITED.items():
        for name in names:
            model = apps.get_model(app_label, name)
            uid = f"audit.{app_label}.{name}"
            pre_save.connect(_before_save, sender=model, dispatch_uid=uid + ".pre")
            post_save.connect(_after_save, sender=model, dispatch_uid=uid + ".post")
            post_delete.connect(_after_delete, sender=model, dispatch_uid=uid + ".delete")
