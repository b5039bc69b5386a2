"""Xero's ``where`` filter and ``order`` parameter, as far as an integration uses them.

    Name=="Jane Doe"                       EmailAddress=="jane@example.com"
    InvoiceNumber=="SS-1001" AND Type=="ACCREC"
    Code=="A" OR Code=="B"                 Contact.ContactID==guid("...")
    Narration.StartsWith("[unify c1 ")     Name.ToLower()=="jane doe"
    Date>=DateTime(2026,05,01)             Status!="DELETED" && (Total>10 || Total<0)

Operators ``== != > < >= <=``, ``AND``/``&&``, ``OR``/``||``, ``NOT``/``!``, parentheses;
methods ``StartsWith``, ``EndsWith``, ``Contains`` (true/false), ``ToLower``, ``ToUpper``;
literals: strings in double quotes, numbers, ``true``/``false``/``null``, ``guid("...")``,
``DateTime(y,m,d)``. Field names are matched without regard to case; string comparisons
are exact (``ToLower()`` makes them case-insensitive, as in Xero).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.xero.wire import parse_date


class WhereError(ValueError):
    pass


_TOKEN = re.compile(
    r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<number>-?\d+(?:\.\d+)?)'
    r"|(?P<op>==|!=|>=|<=|&&|\|\||[><!().,])|(?P<word>[A-Za-z_][A-Za-z0-9_]*))"
)


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise WhereError(f"cannot read the filter at: {text[position : position + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        out.append((kind, value))
        position = match.end()
    return out


Predicate = Callable[[dict[str, Any]], bool]


@dataclass
class _Parser:
    tokens: list[tuple[str, str]]
    pos: int = 0

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise WhereError("the filter ends too early")
        self.pos += 1
        return token

    def expect(self, value: str) -> None:
        kind, got = self.take()
        if got != value:
            raise WhereError(f"expected {value!r}, found {got!r}")

    def is_word(self, *words: str) -> bool:
        token = self.peek()
        return token is not None and token[1].upper() in words

    # grammar -----------------------------------------------------------------------------

    def parse(self) -> Predicate:
        predicate = self.or_expr()
        if self.peek() is not None:
            raise WhereError(f"unexpected {self.peek()[1]!r}")
        return predicate

    def or_expr(self) -> Predicate:
        left = self.and_expr()
        while self.is_word("OR", "||"):
            self.take()
            right = self.and_expr()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def and_expr(self) -> Predicate:
        left = self.unary()
        while self.is_word("AND", "&&"):
            self.take()
            right = self.unary()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def unary(self) -> Predicate:
        if self.is_word("NOT", "!"):
            self.take()
            inner = self.unary()
            return lambda r: not inner(r)
        if self.is_word("("):
            self.take()
            inner = self.or_expr()
            self.expect(")")
            return inner
        return self.comparison()

    def literal(self) -> Any:
        kind, value = self.take()
        if kind == "string":
            return value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        if kind == "number":
            return Decimal(value)
        word = value.lower()
        if word == "true":
            return True
        if word == "false":
            return False
        if word == "null":
            return None
        if word == "guid":
            self.expect("(")
            text = self.literal()
            self.expect(")")
            return str(text).lower()
        if word == "datetime":
            self.expect("(")
            parts = [int(self.literal())]
            while self.is_word(","):
                self.take()
                parts.append(int(self.literal()))
            self.expect(")")
            return date(*parts[:3])
        raise WhereError(f"unexpected {value!r}")

    def comparison(self) -> Predicate:
        kind, word = self.take()
        if kind != "word":
            raise WhereError(f"expected a field name, found {word!r}")
        path = [word]
        transforms: list[str] = []
        test: tuple[str, Any] | None = None
        while self.is_word("."):
            self.take()
            _kind, name = self.take()
            if self.is_word("("):
                self.take()
                method = name.lower()
                if method in ("tolower", "toupper"):
                    self.expect(")")
                    transforms.append(method)
                elif method in ("startswith", "endswith", "contains"):
                    argument = self.literal()
                    self.expect(")")
                    test = (method, argument)
                else:
                    raise WhereError(f"unknown method {name}")
            else:
                path.append(name)
        if test is not None:
            method, argument = test

            def matches(record: dict[str, Any]) -> bool:
                value = _transform(_field(record, path), transforms)
                if not isinstance(value, str):
                    return False
                return {
                    "startswith": value.startswith,
                    "endswith": value.endswith,
                    "contains": value.__contains__,
                }[method](str(argument))

            return matches
        if self.peek() is None or self.peek()[1] not in ("==", "!=", ">", "<", ">=", "<="):
            # A bare boolean field: IsSupplier
            return lambda r: _field(r, path) is True
        _kind, operator = self.take()
        expected = self.literal()

        def compare(record: dict[str, Any]) -> bool:
            value = _coerce(_transform(_field(record, path), transforms), expected)
            if operator == "==":
                return value == expected
            if operator == "!=":
                return value != expected
            if value is None or expected is None:
                return False
            try:
                return {
                    ">": value > expected,
                    "<": value < expected,
                    ">=": value >= expected,
                    "<=": value <= expected,
                }[operator]
            except TypeError:
                return False

        return compare


def _field(record: Any, path: list[str]) -> Any:
    value = record
    for name in path:
        if not isinstance(value, dict):
            return None
        lowered = name.lower()
        value = next((v for k, v in value.items() if k.lower() == lowered), None)
    return value


def _transform(value: Any, transforms: list[str]) -> Any:
    for name in transforms:
        if isinstance(value, str):
            value = value.lower() if name == "tolower" else value.upper()
    return value


def _coerce(value: Any, expected: Any) -> Any:
    if isinstance(expected, date) and isinstance(value, str):
        try:
            return parse_date(value)
        except ValueError:
            return None
    if isinstance(expected, Decimal) and value is not None and not isinstance(value, bool):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    if isinstance(expected, str) and isinstance(value, str) and _looks_like_guid(expected):
        return value.lower()
    return value


def _looks_like_guid(text: str) -> bool:
    return len(text) == 36 and text.count("-") == 4


def compile_where(text: str | None) -> Predicate:
    if not text or not text.strip():
        return lambda record: True
    return _Parser(_tokens(text)).parse()


def apply_order(records: list[dict[str, Any]], order: str | None) -> list[dict[str, Any]]:
    """``order=Date DESC`` / ``order=Name``: one field, ascending unless DESC."""
    if not order or not order.strip():
        return records
    parts = order.split()
    path = parts[0].split(".")
    descending = len(parts) > 1 and parts[1].upper() == "DESC"

    def key(record: dict[str, Any]) -> tuple[int, Any]:
        value = _field(record, path)
        if isinstance(value, str) and value.startswith("/Date("):
            value = parse_date(value)
        return (value is None, value if value is not None else 0)

    try:
        return sorted(records, key=key, reverse=descending)
    except TypeError:
        return records
