"""The German catalog stays complete, compiled and in step with the sources, with no GNU
gettext on the machine: the sources are read in pure Python (scripts/i18n.py, checked against
makemessages' own output when the catalog was made) and the .po is compiled with Babel."""

from __future__ import annotations

import gettext
import io
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "scripts"))
import i18n  # noqa: E402

FIX = "run `make messages`, translate what it lists, commit locale/"


@pytest.fixture(scope="module")
def catalog():
    return i18n.read_catalog("de")


def test_every_entry_is_translated_and_none_is_fuzzy(catalog):
    left = [m.id for m in i18n.untranslated(catalog)]
    assert not left, f"untranslated or fuzzy in locale/de ({FIX}): {left[:20]}"


def test_catalog_holds_exactly_the_messages_of_the_sources(catalog):
    in_sources = i18n.sources()
    in_catalog = i18n.catalog_keys(catalog)
    missing = {k: in_sources[k][:2] for k in set(in_sources) - in_catalog}
    stale = sorted(set(in_catalog) - set(in_sources), key=str)
    assert not missing, f"marked in the sources, not in locale/de ({FIX}): {missing}"
    assert not stale, f"in locale/de, no longer in the sources ({FIX}): {stale[:20]}"


def test_committed_mo_is_the_compiled_po():
    committed = gettext.GNUTranslations(io.BytesIO(i18n.catalog_path("de", "mo").read_bytes()))
    fresh = gettext.GNUTranslations(io.BytesIO(i18n.compile_catalog("de")))
    assert committed._catalog == fresh._catalog, f"django.mo is older than django.po ({FIX})"


_PLACEHOLDER = re.compile(r"%\(\w+\)[sdf]|%[sdf]|\{\w*\}")


def test_translations_keep_every_placeholder(catalog):
    wrong = []
    for m in catalog:
        if not m.id:
            continue
        ids = m.id if isinstance(m.id, tuple | list) else (m.id,)
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        expected = sorted(set(_PLACEHOLDER.findall(ids[-1])))
        for s in strings:
            if sorted(set(_PLACEHOLDER.findall(s))) != expected and sorted(
                set(_PLACEHOLDER.findall(s))
            ) != sorted(set(_PLACEHOLDER.findall(ids[0]))):
                wrong.append(ids[0])
    assert not wrong, f"placeholders differ between English and German: {wrong}"


def test_the_words_of_the_german_help_article():
    """The tabs and the ShipStation flow use the words merchants read in the German help."""
    from django.utils import translation

    with translation.override("de"):
        words = {
            e: translation.gettext(e)
            for e in ("Connections", "Add Store", "Continue", "API Key", "API Secret",
                      "Connect Store", "Sales", "Accounting", "Reconciliation difference",
                      "Shipping expense")
        }  # fmt: skip
    assert words == {
        "Connections": "Verbindungen",
        "Add Store": "Shop hinzufügen",
        "Continue": "Fortfahren",
        "API Key": "API-Schlüssel",
        "API Secret": "API-Kennwort",
        "Connect Store": "Shop verbinden",
        "Sales": "Verkauf",
        "Accounting": "Buchhaltung",
        "Reconciliation difference": "Abgleichsdifferenz",
        "Shipping expense": "Versandkosten",
    }


def test_extractor_reads_templates_and_python_as_makemessages_does():
    found = {k for k, _line in i18n.template_messages(
        '{% load i18n %}{% translate "A" %}<p title="{% translate \'B\' context \'c\' %}">'
        "{% blocktranslate count n=x %}{{ n }} order{% plural %}{{ n }} orders"
        "{% endblocktranslate %}</p>{{ v|default:_(\"D\") }}"
    )}  # fmt: skip
    assert found == {
        (None, "A", None), ("c", "B", None),
        (None, "%(n)s order", "%(n)s orders"), (None, "D", None),
    }  # fmt: skip
    py = {k for k, _line in i18n.python_messages(
        'from django.utils.translation import gettext as _, ngettext\n'
        '_("a" "b")\nngettext("x", "y", n)\nf"{_(\'hidden\')}"\n_(name)\n'
    )}  # fmt: skip
    assert py == {(None, "ab", None), (None, "x", "y")}
