"""Writes of enterprises: validated by the model (fields and constraints) and saved in one transaction."""

from django.db import transaction

from ecopark.transactions import retry_on_deadlock
from enterprises.models import Enterprise

EDITABLE_FIELDS = ("park", "code", "name", "sector_code", "size", "joined_programme", "partner_consent")


@transaction.atomic
def enterprise_create(*, enterprise: Enterprise) -> Enterprise:
    """Validate (a unique code and name in its park, a known size) and save a new enterprise."""
    enterprise.full_clean()
    enterprise.save()
    return enterprise


@retry_on_deadlock
def enterprise_update(*, enterprise_id: int, changes: dict) -> Enterprise:
    """Change an enterprise's fields, validated as on creation. Its RECP measures follow it to a new park.

    Locks in the order every writer takes them: the enterprise's row, then its measures, then the roll-up's marks
    (`measures_follow_enterprise`); a deadlock all the same is run again once.
    """
    from measures.services import measures_follow_enterprise

    # FOR NO KEY UPDATE, and the row written only once its measures are locked: a writer of one of its measures checks
    # the measure's foreign key with FOR KEY SHARE, which FOR UPDATE (or an UPDATE of the park, a column of a unique
    # key) makes wait, while that writer holds the measure this move is about to lock: a circle.
    enterprise = Enterprise.objects.select_for_update(no_key=True).get(pk=enterprise_id)
    moved = "park" in changes and changes["park"] != enterprise.park
    for field, value in changes.items():
        setattr(enterprise, field, value)
    enterprise.full_clean()
    if moved:
        measures_follow_enterprise(enterprise=enterprise)
    enterprise.save()
    return enterprise
