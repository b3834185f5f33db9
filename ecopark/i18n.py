"""Choosing between the Vietnamese and English text of a record, by the active language."""

from django.utils.translation import get_language


def in_language(vi: str, en: str) -> str:
    """The English text when English is active and present; otherwise the Vietnamese, falling back to English."""
    if (get_language() or "vi").startswith("en"):
        return en or vi
    return vi or en
