"""Text helpers for Vietnamese: folding accents so that "dinh vu" matches "Đình Vũ" and sorting is alphabetical."""

import unicodedata


def fold(text: str) -> str:
    """Lower-case text without diacritics (Đ/đ become d), for accent-insensitive search and sorting."""
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


class FoldedSearchText:
    """A model mixin: keeps the model's `search_text` column equal to the folded text of its `folded_fields`, so
    that lists search it with a plain `contains` on any database."""

    folded_fields: tuple[str, ...] = ()

    def search_terms(self) -> str:
        return fold(" ".join(str(getattr(self, field) or "") for field in self.folded_fields))

    def save(self, *args, **kwargs):
        self.search_text = self.search_terms()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "search_text"}
        super().save(*args, **kwargs)
