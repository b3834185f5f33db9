"""Vietnamese is complete: every string of the interface has a translation."""

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[2] / "locale"


def test_every_vietnamese_string_is_translated():
    catalogue = polib.pofile(str(LOCALE / "vi" / "LC_MESSAGES" / "django.po"))
    assert len(catalogue) > 100
    missing = [entry.msgid for entry in catalogue.untranslated_entries() + catalogue.fuzzy_entries()]
    assert missing == []


def test_every_translation_keeps_the_placeholders_of_its_original():
    """A translation must use the same %(name)s and % placeholders as its English text (msgfmt refuses the catalogue
    otherwise, and the page would show the stale translation)."""
    import re

    placeholder = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrs%]")
    catalogue = polib.pofile(str(LOCALE / "vi" / "LC_MESSAGES" / "django.po"))
    wrong = []
    for entry in catalogue.translated_entries():
        if "python-format" not in entry.flags:
            continue
        texts = [entry.msgstr] if not entry.msgid_plural else list(entry.msgstr_plural.values())
        expected = sorted(placeholder.findall(entry.msgid))
        wrong += [entry.msgid for text in texts if sorted(placeholder.findall(text)) != expected]
    assert wrong == []
