"""Writes of enterprises: validated by the model (fields and constraints) and saved in one transaction."""

from django.db import transaction

from enterprises.models import Enterprise

EDITABLE_FIELDS = ("park", "code", "name", "sector_code", "size", "joined_programme", "partner_consent")


@transaction.atomic
def enterprise_create(*, enterprise: Enterprise) -> Enterprise:
    """Validate (a unique code and name in its park, a known size) and save a new enterprise."""
    enterprise.full_clean()
    enterprise.save()
    return enterprise


@transaction.atomic
def enterprise_update(*, enterprise_id: int, changes: dict) -> Enterprise:
    """Change an enterprise's fields, validated as on creation. Its RECP measures follow it to a new park."""
    from measures.services import measures_follow_enterprise

    enterprise = Enterprise.objects.select_for_update().get(pk=enterprise_id)
    moved = "park" in changes and changes["park"] != enterprise.park
    for field, value in changes.items():
        setattr(enterprise, field, value)
    enterprise.full_clean()
    enterprise.save()
    if moved:
        measures_follow_enterprise(enterprise=enterprise)
    return enterprise
