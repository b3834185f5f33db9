"""Text helpers for Vietnamese: folding accents so that "dinh vu" matches "Đình Vũ" and sorting is alphabetical."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case text without diacritics (Đ/đ become d), for accent-insensitive search and sorting."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
