"""The SQL-like query language of the QBO ``/query`` endpoint, the subset clients emit.

Grammar (keywords case-insensitive)::

    SELECT ( * | COUNT(*) | field [, field]* ) FROM Entity
      [ WHERE cond [ AND cond ]* ]
      [ ORDERBY | ORDER BY  field [ASC|DESC] [, field [ASC|DESC]]* ]
      [ STARTPOSITION n ] [ MAXRESULTS n ]
    cond := field ( = | != | < | > | <= | >= ) literal
          | field IN ( literal [, literal]* )
          | field LIKE 'pattern with % wildcards'
    literal := 'string with \\' or '' for a quote' | number | true | false

As at Intuit: no ``OR``, no parentheses around conditions, no joins; string comparisons
ignore case; a reference field (``CustomerRef``) compares by its ``value``; ``MAXRESULTS``
defaults to 100 and is capped at 1000; ``STARTPOSITION`` is 1-based. Name-list entities
(accounts, customers, items, ...) return only active records unless the WHERE clause
mentions ``Active``. Anything else is a 4000 "Error parsing query" fault.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.qbo.wire import query_parse_error

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_CAP = 1000

_TOKEN_RE = re.compile(
    r"""
    \s*(?:
      (?P<string>'(?:[^'\\]|\\.|'')*')
    | (?P<number>-?\d+(?:\.\d+)?)
    | (?P<op><=|>=|!=|<>|=|<|>)
    | (?P<punct>[(),*])
    | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    text: str
    value: Any = None

    def is_word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    text = text.strip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN_RE.match(text, pos)
        if match is None or match.end() == pos:
            raise query_parse_error(
                f'Encountered " {text[pos : pos + 10]!r} " at line 1, column {pos + 1}.'
            )
        pos = match.end()
        kind = match.lastgroup or ""
        raw = match.group(kind)
        if kind == "string":
            inner = raw[1:-1]
            value = re.sub(r"\\(.)", r"\1", inner.replace("''", "'"))
            tokens.append(Token("string", raw, value))
        elif kind == "number":
            tokens.append(Token("number", raw, Decimal(raw)))
        else:
            tokens.append(Token(kind, raw))
    return tokens


@dataclass(frozen=True, slots=True)
class Condition:
    field: str
    op: str  # =, !=, <, >, <=, >=, IN, LIKE
    values: tuple[Any, ...]


@dataclass(slots=True)
class Query:
    entity: str
    count: bool = False
    fields: list[str] | None = None  # None = all
    conditions: list[Condition] = field(default_factory=list)
    order_by: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    start_position: int = 1
    max_results: int = DEFAULT_MAX_RESULTS


class _Parser:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def next(self, expected: str) -> Token:
        token = self.peek()
        if token is None:
            raise query_parse_error(f"Encountered end of statement, expected {expected}.")
        self.pos += 1
        return token

    def expect_word(self, *words: str) -> Token:
        token = self.next(" or ".join(words))
        if not token.is_word(*words):
            raise query_parse_error(f'Encountered " "{token.text}" ", expected {words[0]}.')
        return token

    def expect_punct(self, char: str) -> None:
        token = self.next(repr(char))
        if token.kind != "punct" or token.text != char:
            raise query_parse_error(f'Encountered " "{token.text}" ", expected "{char}".')

    def identifier(self) -> str:
        token = self.next("a property name")
        if token.kind != "word" or token.text.upper() in _KEYWORDS:
            raise query_parse_error(f'Encountered " "{token.text}" ", expected a property.')
        return token.text

    def integer(self, clause: str) -> int:
        token = self.next("a number")
        if token.kind != "number" or "." in token.text or token.value < 0:
            raise query_parse_error(f'Encountered " "{token.text}" " after {clause}.')
        return int(token.value)

    def literal(self) -> Any:
        token = self.next("a value")
        if token.kind in ("string", "number"):
            return token.value
        if token.is_word("TRUE"):
            return True
        if token.is_word("FALSE"):
            return False
        raise query_parse_error(f'Encountered " "{token.text}" ", expected a value.')

    def parse(self) -> Query:
        self.expect_word("SELECT")
        count = False
        fields: list[str] | None = None
        first = self.peek()
        if first is not None and first.is_word("COUNT"):
            self.pos += 1
            self.expect_punct("(")
            self.expect_punct("*")
            self.expect_punct(")")
            count = True
        elif first is not None and first.kind == "punct" and first.text == "*":
            self.pos += 1
            # "SELECT *, Sku FROM Item" (python-quickbooks' Item.all): extra columns are
            # already part of "*".
            while (tok := self.peek()) is not None and tok.kind == "punct" and tok.text == ",":
                self.pos += 1
                self.identifier()
        else:
            fields = [self.identifier()]
            while (tok := self.peek()) is not None and tok.kind == "punct" and tok.text == ",":
                self.pos += 1
                fields.append(self.identifier())
        self.expect_word("FROM")
        query = Query(entity=self.identifier(), count=count, fields=fields)
        token = self.peek()
        if token is not None and token.is_word("WHERE"):
            self.pos += 1
            query.conditions.append(self.condition())
            while (tok := self.peek()) is not None and tok.is_word("AND"):
                self.pos += 1
                query.conditions.append(self.condition())
        while (token := self.peek()) is not None:
            if token.is_word("ORDERBY") or token.is_word("ORDER"):
                self.pos += 1
                if token.is_word("ORDER"):
                    self.expect_word("BY")
                query.order_by.append(self.order_term())
                while (tok := self.peek()) is not None and tok.kind == "punct" and tok.text == ",":
                    self.pos += 1
                    query.order_by.append(self.order_term())
            elif token.is_word("STARTPOSITION"):
                self.pos += 1
                query.start_position = max(1, self.integer("STARTPOSITION"))
            elif token.is_word("MAXRESULTS"):
                self.pos += 1
                query.max_results = min(MAX_RESULTS_CAP, self.integer("MAXRESULTS"))
            else:
                raise query_parse_error(
                    f'Encountered " "{token.text}" " at token {self.pos + 1}. Was expecting one '
                    'of: "and", "orderby", "startposition", "maxresults".'
                )
        return query

    def order_term(self) -> tuple[str, bool]:
        name = self.identifier()
        token = self.peek()
        descending = False
        if token is not None and token.is_word("ASC", "DESC"):
            self.pos += 1
            descending = token.is_word("DESC")
        return name, descending

    def condition(self) -> Condition:
        name = self.identifier()
        token = self.next("an operator")
        if token.kind == "op":
            op = "!=" if token.text == "<>" else token.text
            return Condition(name, op, (self.literal(),))
        if token.is_word("IN"):
            self.expect_punct("(")
            values = [self.literal()]
            while (tok := self.peek()) is not None and tok.kind == "punct" and tok.text == ",":
                self.pos += 1
                values.append(self.literal())
            self.expect_punct(")")
            return Condition(name, "IN", tuple(values))
        if token.is_word("LIKE"):
            value = self.literal()
            if not isinstance(value, str):
                raise query_parse_error("LIKE needs a quoted pattern.")
            return Condition(name, "LIKE", (value,))
        raise query_parse_error(f'Encountered " "{token.text}" ", expected an operator.')


_KEYWORDS = {
    "SELECT",
    "FROM",
    "WHERE",
    "AND",
    "OR",
    "IN",
    "LIKE",
    "ORDERBY",
    "ORDER",
    "BY",
    "STARTPOSITION",
    "MAXRESULTS",
    "ASC",
    "DESC",
}


def parse_query(text: str) -> Query:
    if not text or not text.strip():
        raise query_parse_error("Encountered end of statement, expected SELECT.")
    return _Parser(tokenize(text)).parse()


# ---------------------------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------------------------


def lookup(record: dict[str, Any], path: str) -> tuple[bool, Any]:
    """(present, value) for a dotted, case-insensitive property path."""
    current: Any = record
    for part in path.split("."):
        if not isinstance(current, dict):
            return False, None
        if part in current:
            current = current[part]
            continue
        key = next((k for k in current if k.lower() == part.lower()), None)
        if key is None:
            return False, None
        current = current[key]
    return True, current


def _scalar(value: Any) -> Any:
    # A reference compares by its id, an e-mail or web address by its text.
    if isinstance(value, dict):
        for key in ("value", "Address", "URI", "FreeFormNumber"):
            if key in value:
                return value[key]
    return value


def _as_datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal)):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return None
    return None


def _compare(left: Any, right: Any) -> int | None:
    """-1/0/1, or None when the two cannot be compared."""
    if isinstance(left, bool) or isinstance(right, bool):
        if isinstance(right, str):
            right = right.lower() == "true"
        return 0 if left == right else None
    ld, rd = _as_decimal(left), _as_decimal(right)
    if ld is not None and rd is not None and not (isinstance(left, str) and not left.strip()):
        return (ld > rd) - (ld < rd)
    lt, rt = _as_datetime(left), _as_datetime(right)
    if lt is not None and rt is not None:
        if (lt.tzinfo is None) != (rt.tzinfo is None):
            lt, rt = lt.replace(tzinfo=None), rt.replace(tzinfo=None)
        return (lt > rt) - (lt < rt)
    if left is None or right is None:
        return None
    ls, rs = str(left).lower(), str(right).lower()
    return (ls > rs) - (ls < rs)


def _like(value: Any, pattern: str) -> bool:
    if value is None:
        return False
    regex = "^" + ".*".join(re.escape(part) for part in pattern.lower().split("%")) + "$"
    return re.match(regex, str(value).lower(), re.DOTALL) is not None


def matches(record: dict[str, Any], condition: Condition) -> bool:
    present, raw = lookup(record, condition.field)
    value = _scalar(raw) if present else None
    op = condition.op
    if op == "IN":
        return any(_compare(value, v) == 0 for v in condition.values)
    if op == "LIKE":
        return _like(value, condition.values[0])
    result = _compare(value, condition.values[0])
    if op == "!=":
        return result != 0
    if result is None:
        return False
    return {
        "=": result == 0,
        "<": result < 0,
        ">": result > 0,
        "<=": result <= 0,
        ">=": result >= 0,
    }[op]


def _sort_key(record: dict[str, Any], path: str) -> tuple[int, Any]:
    present, raw = lookup(record, path)
    value = _scalar(raw) if present else None
    if value is None:
        return (0, "")
    number = _as_decimal(value)
    if number is not None:
        return (1, number)
    moment = _as_datetime(value)
    if moment is not None and moment.tzinfo is not None:
        return (2, moment.timestamp())
    return (3, str(value).lower())


def _id_key(record: dict[str, Any]) -> tuple[int, Any]:
    raw = str(record.get("Id", ""))
    return (0, int(raw)) if raw.isdigit() else (1, raw)


def run_query(
    query: Query,
    records: Iterable[dict[str, Any]],
    *,
    name_list: bool,
    known_field: Callable[[str], bool],
) -> dict[str, Any]:
    """Evaluate against the entity's records; returns the ``QueryResponse`` member."""
    from sandbox.qbo.wire import query_validation_error

    for name in [c.field for c in query.conditions] + [f for f, _ in query.order_by]:
        if not known_field(name):
            raise query_validation_error(f"property '{name}' is not queryable")
    for name in query.fields or ():
        if not known_field(name):
            raise query_validation_error(f"property '{name}' is not queryable")
    selected = sorted(records, key=_id_key)
    conditions = list(query.conditions)
    if name_list and not any(c.field.lower() == "active" for c in conditions):
        conditions.append(Condition("Active", "=", (True,)))
    selected = [r for r in selected if all(matches(r, c) for c in conditions)]
    if query.count:
        return {"totalCount": len(selected)}
    for name, descending in reversed(query.order_by):
        selected.sort(key=lambda r, n=name: _sort_key(r, n), reverse=descending)
    start = query.start_position - 1
    page = selected[start : start + query.max_results] if query.max_results > 0 else []
    if not page:
        return {}
    if query.fields is not None:
        projected = []
        for record in page:
            row: dict[str, Any] = {}
            for name in query.fields:
                present, value = lookup(record, name)
                if present:
                    row[name.split(".")[0]] = (
                        value if "." not in name else lookup(record, name.split(".")[0])[1]
                    )
            row.setdefault("Id", record.get("Id"))
            row["domain"] = "QBO"
            row["sparse"] = True
            projected.append(row)
        page = projected
    return {"items": page, "startPosition": query.start_position, "maxResults": len(page)}
