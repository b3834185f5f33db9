"""Project-wide records: the audit trail and partners' API keys."""

import hashlib
import secrets

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class AuditEntry(models.Model):
    """One create, update or delete of an audited row: who, when, through which channel, old and new values."""

    class Channel(models.TextChoices):
        WEB = "web", _("Web")
        ADMIN = "admin", _("Admin")
        API = "api", _("API")
        IMPORT = "import", _("Import")
        TASK = "task", _("Task")
        SYSTEM = "system", _("System")
        REPAIR = "repair", _("Repair")

    class Action(models.TextChoices):
        CREATE = "create", _("Created")
        UPDATE = "update", _("Changed")
        DELETE = "delete", _("Deleted")

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("who"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    action = models.CharField(_("action"), max_length=10, choices=Action.choices)
    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("type"))
    object_id = models.CharField(_("object"), max_length=64)
    object_repr = models.CharField(_("record"), max_length=200)
    changes = models.JSONField(_("changes (old, new)"), default=dict)
    # The record whose history shows this entry, as "app_label.model:pk": the row itself, or its parent for lines
    # (a measure's savings, flows and evidence appear in the measure's history).
    subject = models.CharField(_("subject"), max_length=80, blank=True, db_default="", db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["content_type", "object_id"], name="auditentry_object")]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["web", "admin", "api", "import", "task", "system", "repair"]),
                name="auditentry_channel",
            ),
            models.CheckConstraint(condition=Q(action__in=["create", "update", "delete"]), name="auditentry_action"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor or '-'} {self.action} {self.object_repr}"


KEY_PREFIX = "ek"


def key_digest(key: str) -> str:
    """What is stored of a key: its SHA-256 (the key is 256 random bits, so a slow hash adds nothing)."""
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyQuerySet(models.QuerySet):
    """Keys changed in bulk (`update`, and `bulk_update`, which calls it) are forgotten by the key cache at once, as a
    key saved alone is (signals): an update sends no signal."""

    def update(self, **kwargs):
        if set(kwargs) <= {"last_used_at"}:  # written by the authentication itself; changes nothing it checks
            return super().update(**kwargs)
        from ecopark.signals import forget_keys

        prefixes = list(self.values_list("prefix", flat=True))
        updated = super().update(**kwargs)
        forget_keys(prefixes)
        return updated


class ApiKey(models.Model):
    """A key a partner's script sends as `Authorization: Bearer <key>`; it acts as its owner, within their scope.

    Only a digest is stored: the key itself is shown once, when it is made. A key works only while the person who made
    it (`created_by`; empty for the command line) is active and holds at least its owner's rights.
    """

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys", verbose_name=_("owner")
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("What the key is for, e.g. the partner's script."))
    prefix = models.CharField(_("prefix"), max_length=16, unique=True, editable=False)
    digest = models.CharField(_("digest"), max_length=64, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
        editable=False,
    )
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True, editable=False)
    requests_per_minute = models.PositiveIntegerField(
        _("requests per minute"),
        null=True,
        blank=True,
        help_text=_("Empty: the default limit (API_THROTTLE_RATE)."),
    )

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["owner", "name"]
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def new_secret(cls) -> tuple[str, str]:
        """A fresh key and its public prefix: `ek_<prefix>_<secret>`."""
        prefix = secrets.token_hex(4)
        return f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}", prefix

    def set_key(self, key: str, prefix: str) -> None:
        self.prefix = prefix
        self.digest = key_digest(key)

    def matches(self, key: str) -> bool:
        return secrets.compare_digest(self.digest, key_digest(key))
