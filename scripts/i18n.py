"""The translation catalogs, in pure Python (no GNU gettext needed).

- ``sources()``: every msgid the sources mark for translation, read the way ``makemessages``
  reads them (Python files through ``ast``, templates through Django's own ``templatize``).
- ``read_catalog()``/``compile_catalog()``: the ``.po`` file and its compiled ``.mo`` (Babel).

``make messages`` (scripts/messages.py) and the catalog tests (tests/i18n/) use these."""

from __future__ import annotations

import ast
import io
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ("de",)
# What makemessages skips (the same list scripts/messages.py passes it): the provider stand-ins
# speak the providers' English, tests, benchmarks and scripts are not shown to merchants.
IGNORED = (".venv", "tests", "bench", "sandbox", "static", ".data", "scripts", "locale",
           "node_modules", "test-results", ".git", ".ci", "docs")  # fmt: skip

# name -> (index of msgctxt or None, index of msgid, index of msgid_plural or None)
KEYWORDS = {
    "gettext": (None, 0, None), "_": (None, 0, None), "gettext_lazy": (None, 0, None),
    "gettext_noop": (None, 0, None),
    "ngettext": (None, 0, 1), "ngettext_lazy": (None, 0, 1),
    "pgettext": (0, 1, None), "pgettext_lazy": (0, 1, None),
    "npgettext": (0, 1, 2), "npgettext_lazy": (0, 1, 2),
}  # fmt: skip


def catalog_path(locale: str = "de", ext: str = "po") -> Path:
    return ROOT / "locale" / locale / "LC_MESSAGES" / f"django.{ext}"


def _walk(suffix: str):
    for path in sorted(ROOT.rglob(f"*{suffix}")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in IGNORED or any(p.startswith(".") for p in rel.parts):
            continue
        yield path


def _key(ctx, msgid, plural):
    return (ctx, msgid, plural)


def python_messages(source: str, filename: str = "<string>"):
    """(msgctxt, msgid, msgid_plural) of every gettext call with literal arguments."""
    found = []
    tree = ast.parse(source, filename)
    # xgettext does not look inside f-strings: neither do we (the static check flags them).
    hidden = {id(n) for f in ast.walk(tree) if isinstance(f, ast.JoinedStr) for n in ast.walk(f)}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in hidden:
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name not in KEYWORDS:
            continue
        ctx_i, id_i, pl_i = KEYWORDS[name]
        args = node.args

        def lit(i, args=args):
            if i is None:
                return None
            if i < len(args) and isinstance(args[i], ast.Constant):
                return args[i].value if isinstance(args[i].value, str) else False
            return False

        ctx, msgid, plural = lit(ctx_i), lit(id_i), lit(pl_i)
        if False in (ctx, msgid, plural) or not msgid:
            continue
        found.append((_key(ctx, msgid, plural), node.lineno))
    return found


def template_messages(source: str):
    """The same for a Django template, through the text ``makemessages`` hands xgettext."""
    from django.utils.translation.template import templatize

    text = templatize(source)
    found = []
    for lineno, line in enumerate(text.splitlines(), 1):
        for match in _TEMPLATE_CALL.finditer(line):
            call = None
            for end in (i for i, c in enumerate(line) if c == ")" and i > match.start()):
                try:
                    call = ast.parse(line[match.start() : end + 1], mode="eval").body
                    break
                except SyntaxError:
                    continue
            if call is None:
                continue
            args = [a.value if isinstance(a, ast.Constant) else None for a in call.args]
            ctx_i, id_i, pl_i = KEYWORDS[match.group(1)]

            def arg(k, args=args):
                return None if k is None or k >= len(args) else args[k]

            if arg(id_i):
                found.append((_key(arg(ctx_i), arg(id_i), arg(pl_i)), lineno))
    return found


_TEMPLATE_CALL = re.compile(r"(?<![A-Za-z_])(npgettext|ngettext|pgettext|gettext|_)\(")


def sources() -> dict[tuple, list[str]]:
    """Every message of the sources -> where it is used ("path:line")."""
    import django
    from django.conf import settings

    if not settings.configured:  # pragma: no cover - the script sets DJANGO_SETTINGS_MODULE
        django.setup()
    messages: dict[tuple, list[str]] = {}
    for path in _walk(".py"):
        rel = path.relative_to(ROOT).as_posix()
        for key, line in python_messages(path.read_text(encoding="utf-8"), rel):
            messages.setdefault(key, []).append(f"{rel}:{line}")
    for suffix in (".html", ".txt"):
        for path in _walk(suffix):
            rel = path.relative_to(ROOT).as_posix()
            if "/templates/" not in f"/{rel}":
                continue
            for key, line in template_messages(path.read_text(encoding="utf-8")):
                messages.setdefault(key, []).append(f"{rel}:{line}")
    return messages


def read_catalog(locale: str = "de"):
    from babel.messages.pofile import read_po

    with catalog_path(locale).open("rb") as fh:
        return read_po(fh, locale=locale, abort_invalid=True)


def catalog_keys(catalog) -> set[tuple]:
    keys = set()
    for m in catalog:
        if not m.id:
            continue
        if isinstance(m.id, tuple | list):
            keys.add(_key(m.context, m.id[0], m.id[1]))
        else:
            keys.add(_key(m.context, m.id, None))
    return keys


def untranslated(catalog) -> list:
    """Entries without a translation, or marked fuzzy (gettext ignores fuzzy ones)."""
    out = []
    for m in catalog:
        if not m.id:
            continue
        strings = m.string if isinstance(m.string, tuple | list) else (m.string,)
        if m.fuzzy or not all(strings):
            out.append(m)
    return out


def compile_catalog(locale: str = "de") -> bytes:
    from babel.messages.mofile import write_mo

    buf = io.BytesIO()
    write_mo(buf, read_catalog(locale), use_fuzzy=False)
    return buf.getvalue()
