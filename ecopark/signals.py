"""Signal receivers that feed the audit trail for every audited model."""

from django.apps import apps
from django.db import transaction
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_delete, pre_save

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


def forget_keys(prefixes) -> None:
    """The key cache forgets these keys now and again once the transaction commits (a request reading meanwhile
    may have cached what it read before the commit)."""
    from ecopark.api.authentication import forget_key

    prefixes = list(prefixes)

    def forget():
        for prefix in prefixes:
            forget_key(prefix)

    forget()
    transaction.on_commit(forget)


def _key_changed(sender, instance, created=False, **kwargs) -> None:
    if not created:  # a new key is in no cache yet
        forget_keys([instance.prefix])


def _forget_keys_of_users(user_ids) -> None:
    """Keys owned or made by these users: a key checks its owner's and its creator's activity and role."""
    from django.db.models import Q

    from ecopark.models import ApiKey

    user_ids = [pk for pk in user_ids if pk]
    if user_ids:
        keys = ApiKey.objects.filter(Q(owner_id__in=user_ids) | Q(created_by_id__in=user_ids))
        forget_keys(keys.values_list("prefix", flat=True))


def _owner_changed(sender, instance, reverse=False, pk_set=None, **kwargs) -> None:
    """A user's activity or role changed: their keys, and the keys they made, are looked up afresh."""
    users = list(pk_set or []) if reverse else [instance.pk]  # reverse: a group's users changed
    if reverse and pk_set is None:
        users = list(instance.user_set.values_list("pk", flat=True))  # a group cleared (pre_clear still has them)
    _forget_keys_of_users(users)


def _group_changed(sender, instance, created=False, **kwargs) -> None:
    """A group renamed (roles are group names) or deleted (its memberships go without an m2m signal)."""
    if not created:
        _forget_keys_of_users(instance.user_set.values_list("pk", flat=True))


def _membership_row_changed(sender, instance, **kwargs) -> None:
    """A row of the user-group table written or deleted directly, not through `user.groups`."""
    _forget_keys_of_users([instance.user_id])


def _user_deleted(sender, instance, **kwargs) -> None:
    """Keys a deleted user made for others are revoked: emptied, `created_by` would read as the command line's."""
    from django.utils import timezone

    from ecopark.models import ApiKey

    ApiKey.objects.filter(created_by=instance, revoked_at=None).exclude(owner=instance).update(
        revoked_at=timezone.now()
    )


def connect_key_cache() -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from ecopark.models import ApiKey

    User = get_user_model()
    post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey.cache.save")
    post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey.cache.delete")
    post_save.connect(_owner_changed, sender=User, dispatch_uid="apikey.cache.owner")
    pre_delete.connect(_user_deleted, sender=User, dispatch_uid="apikey.cache.owner_deleted")
    m2m_changed.connect(_owner_changed, sender=User.groups.through, dispatch_uid="apikey.cache.groups")
    post_save.connect(_membership_row_changed, sender=User.groups.through, dispatch_uid="apikey.cache.group_row")
    post_delete.connect(_membership_row_changed, sender=User.groups.through, dispatch_uid="apikey.cache.group_row_del")
    post_save.connect(_group_changed, sender=Group, dispatch_uid="apikey.cache.group")
    pre_delete.connect(_group_changed, sender=Group, dispatch_uid="apikey.cache.group_deleted")
