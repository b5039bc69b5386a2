"""Static check: text a person reads that is not marked for translation.

Templates: the text between tags (and the values of title, placeholder, aria-label, alt and
data-*-text attributes) outside ``{% translate %}``/``{% blocktranslate %}``; ``<script>``
and ``<style>`` bodies and comments are skipped. Python: string literals handed straight to
messages, form errors, labels and help texts, verbose names and choices."""

from __future__ import annotations

import ast
import html
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Names, codes and symbols that read the same in every language.
ALLOWED_WORDS = {
    "ShipStation", "Unify", "QuickBooks", "Online", "Desktop", "Xero", "Web", "Connector",
    "CSV", "XLSX", "UTF", "SKU", "API", "TOTP", "FBA", "JSON", "MB", "USD", "EUR", "URL",
    "https", "http", "qwc", "Pro", "Advanced", "Starter", "ID", "OK",
    "order_number", "order_date", "YYYY", "MM", "DD", "HH", "SS",
}  # fmt: skip
_ATTRS = re.compile(
    r"""\b(title|placeholder|aria-label|alt|data-[\w-]*text)\s*=\s*("[^"]*"|'[^']*')""", re.I
)
_CSS_BLOCK = re.compile(r"block \w+_(class|classes|attrs)$")
_WORD = re.compile(r"[^\W\d_][\w'’-]*[^\W\d_]|[^\W\d_]", re.UNICODE)


def _words(text: str) -> list[str]:
    text = html.unescape(text)
    return [w for w in _WORD.findall(text) if len(w) > 1 and w not in ALLOWED_WORDS]


def template_findings(source: str) -> list[str]:
    from django.template.base import Lexer, TokenType

    findings: list[str] = []
    in_block = 0  # inside blocktranslate, a {% comment %} or a block of CSS classes
    css_blocks = 0
    text = []  # TEXT outside translation blocks, with template tags left as a marker
    for token in Lexer(source).tokenize():
        contents = token.contents.strip()
        if token.token_type == TokenType.BLOCK:
            name = contents.split(" ", 1)[0]
            if name in ("blocktranslate", "blocktrans", "comment") or _CSS_BLOCK.match(contents):
                in_block += 1
                css_blocks += 1 if name == "block" else 0
            elif name in ("endblocktranslate", "endblocktrans", "endcomment"):
                in_block -= 1
            elif name == "endblock" and css_blocks and in_block:
                in_block -= 1
                css_blocks -= 1
            text.append("\x00")
        elif token.token_type == TokenType.VAR:
            text.append("\x00")
        elif token.token_type == TokenType.TEXT and not in_block:
            text.append(token.contents)
    page = "".join(text)
    page = re.sub(r"<script\b.*?</script>|<style\b.*?</style>|<!--.*?-->", " ", page, flags=re.S)
    for _name, value in _ATTRS.findall(page):
        findings += _words(value.strip("\"'").replace("\x00", " "))
    page = re.sub(r"<[^>]*>", " ", page, flags=re.S)
    for chunk in page.split("\x00"):
        findings += _words(chunk)
    return findings


# Python: call -> which arguments / keywords are shown to people.
_SHOWN_CALLS = {
    "success": (1,), "error": (1,), "warning": (1,), "info": (1,), "add_message": (2,),
    "ValidationError": (0,), "add_error": (1,), "PermissionDenied": (0,),
    "message_user": (1,),
}  # fmt: skip
_SHOWN_KEYWORDS = {
    "label", "help_text", "verbose_name", "verbose_name_plural", "empty_label", "user_message",
}  # fmt: skip
# Keywords shown only for some calls: @admin.action(description=...), @admin.display(...).
_SHOWN_KEYWORDS_OF = {"action": {"description"}, "display": {"description"}}


def _is_text(node) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(_words(node.value))
    return isinstance(node, ast.JoinedStr)


def python_findings(source: str, filename: str = "<string>") -> list[str]:
    findings = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        shown = [node.args[i] for i in _SHOWN_CALLS.get(name, ()) if i < len(node.args)]
        keywords = _SHOWN_KEYWORDS | _SHOWN_KEYWORDS_OF.get(name, set())
        shown += [k.value for k in node.keywords if k.arg in keywords]
        # logger.error("...") is for the logs; messages.error(request, "...") for people
        if (
            name in ("error", "warning", "info")
            and isinstance(func, ast.Attribute)
            and not (isinstance(func.value, ast.Name) and func.value.id == "messages")
        ):
            continue
        for arg in shown:
            if _is_text(arg):
                findings.append(f"{filename}:{node.lineno}: {ast.unparse(arg)[:80]}")
    return findings
