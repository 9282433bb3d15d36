"""The committed translation catalogs: every .po matches its compiled .mo, nothing is left
untranslated or fuzzy in German and Arabic, and placeholders survive translation."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings

LOCALE = Path(settings.LOCALE_PATHS[0])
LANGUAGES = ["de", "ar"]
PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _po(language: str) -> polib.POFile:
    return polib.pofile(str(LOCALE / language / "LC_MESSAGES" / "django.po"))


def _messages(catalog: polib.POFile | polib.MOFile) -> dict[tuple[str, str], object]:
    """(context, msgid) → msgstr, or the plural forms, of every translated entry."""
    return {
        (entry.msgctxt or "", entry.msgid): (
            tuple(sorted(entry.msgstr_plural.items())) if entry.msgid_plural else entry.msgstr
        )
        for entry in catalog
        if entry.msgid and "fuzzy" not in entry.flags
    }


def test_every_offered_language_but_english_has_a_catalog():
    offered = {code for code, _ in settings.LANGUAGES} - {settings.LANGUAGE_CODE}
    assert offered == set(LANGUAGES)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_is_the_compiled_po(language):
    compiled = polib.mofile(str(LOCALE / language / "LC_MESSAGES" / "django.mo"))

    assert _messages(compiled) == _messages(_po(language))
    assert compiled.metadata.get("Plural-Forms") == _po(language).metadata["Plural-Forms"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_nothing_is_left_untranslated_or_fuzzy(language):
    catalog = _po(language)

    assert not catalog.metadata_is_fuzzy
    assert [entry.msgid for entry in catalog.untranslated_entries()] == []
    assert [entry.msgid for entry in catalog.fuzzy_entries()] == []
    assert [e.msgid for e in catalog if e.msgid_plural and not all(e.msgstr_plural.values())] == []


def test_arabic_has_its_six_plural_forms():
    catalog = _po("ar")

    assert catalog.metadata["Plural-Forms"].startswith("nplurals=6;")
    assert all(len(entry.msgstr_plural) == 6 for entry in catalog if entry.msgid_plural)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_their_placeholders(language):
    broken = [
        entry.msgid
        for entry in _po(language)
        if not entry.msgid_plural
        and set(PLACEHOLDER.findall(entry.msgid)) != set(PLACEHOLDER.findall(entry.msgstr))
    ]

    assert broken == []
