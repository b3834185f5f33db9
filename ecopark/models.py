"""Project-wide records: the audit trail."""

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

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit trail")
        indexes = [models.Index(fields=["content_type", "object_id"], name="auditentry_object")]
        constraints = [
            models.CheckConstraint(
                condition=Q(channel__in=["web", "admin", "api", "import", "task", "system"]), name="auditentry_channel"
            ),
            models.CheckConstraint(condition=Q(action__in=["create", "update", "delete"]), name="auditentry_action"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor or '-'} {self.action} {self.object_repr}"
