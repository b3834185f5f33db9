"""Signal receivers that feed the audit trail for every audited model."""

from django.apps import apps
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

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


def _forget_keys(prefixes) -> None:
    from ecopark.api.authentication import forget_key

    prefixes = list(prefixes)

    def forget():
        for prefix in prefixes:
            forget_key(prefix)

    forget()
    transaction.on_commit(forget)


def _key_changed(sender, instance, **kwargs) -> None:
    _forget_keys([instance.prefix])


def _owner_changed(sender, instance, reverse=False, pk_set=None, **kwargs) -> None:
    """A user's activity or role changed: their keys are looked up afresh."""
    from ecopark.models import ApiKey

    owners = list(pk_set or []) if reverse else [instance.pk]  # reverse: a group's users changed
    if reverse and pk_set is None:
        owners = list(instance.user_set.values_list("pk", flat=True))  # a group cleared
    _forget_keys(ApiKey.objects.filter(owner_id__in=[o for o in owners if o]).values_list("prefix", flat=True))


def connect_key_cache() -> None:
    from django.contrib.auth import get_user_model

    from ecopark.models import ApiKey

    User = get_user_model()
    post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey.cache.save")
    post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey.cache.delete")
    post_save.connect(_owner_changed, sender=User, dispatch_uid="apikey.cache.owner")
    m2m_changed.connect(_owner_changed, sender=User.groups.through, dispatch_uid="apikey.cache.groups")
