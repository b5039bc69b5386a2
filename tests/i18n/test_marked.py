"""Every text a person reads is marked for translation (tests/i18n/untranslated.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.i18n.untranslated import python_findings, template_findings

ROOT = Path(__file__).resolve().parents[2]
SKIPPED = {".venv", "sandbox", "tests", "bench", "scripts", "docs", "static", ".data",
           "test-results", "locale", ".git"}  # fmt: skip


def _files(suffixes):
    for path in sorted(ROOT.rglob("*")):
        rel = path.relative_to(ROOT)
        if path.suffix in suffixes and rel.parts[0] not in SKIPPED and path.is_file():
            yield path, rel


def test_every_template_text_is_marked():
    found = {}
    for path, rel in _files({".html", ".txt"}):
        if "templates" not in rel.parts:
            continue
        words = template_findings(path.read_text(encoding="utf-8"))
        if words:
            found[rel.as_posix()] = words[:10]
    assert not found, f"text outside {{% translate %}}/{{% blocktranslate %}}: {found}"


def test_every_python_text_shown_to_people_is_marked():
    found = []
    for path, rel in _files({".py"}):
        if "migrations" in rel.parts:
            continue
        found += python_findings(path.read_text(encoding="utf-8"), rel.as_posix())
    assert not found, "strings shown to people without gettext:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "template, words",
    [
        ("{% load i18n %}<h1>Connect your store</h1>", ["Connect", "your", "store"]),
        ('<input placeholder="Search orders">', ["Search", "orders"]),
        ("<p>{% translate 'Fine' %} · {{ x }} ShipStation</p>", []),
        ("{% blocktranslate %}Fine {{ x }}{% endblocktranslate %}", []),
        ("<script>var a = 'not text';</script>{% comment %}note{% endcomment %}", []),
        ("{% block body_class %}container-fluid{% endblock %}<b>Left</b>", ["Left"]),
    ],
)
def test_the_template_check_sees_unmarked_text(template, words):
    assert template_findings(template) == words


def test_the_python_check_sees_unmarked_text():
    source = (
        "messages.success(request, 'Saved.')\n"
        "messages.success(request, _('Saved.'))\n"
        "raise ValidationError(f'Bad {x}')\n"
        "forms.CharField(label='Name', help_text=_('Fine'))\n"
        "logger.error('for the logs')\n"
    )
    found = python_findings(source)
    assert [f.split(": ", 1)[0] for f in found] == ["<string>:1", "<string>:3", "<string>:4"]
