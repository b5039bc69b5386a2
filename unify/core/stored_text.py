"""Messages written by workers and read later, by whoever reads them, in the reader's language.

A Celery worker writes "The source rejected the API keys" or "Order 12: no income account"
into the database long before a person reads it, and that person may read German. So such a
message is stored as what it means, not as one language's words: its msgid (the English source
string the catalog translates) and its parameters, as JSON in the same text column::

    {"msgid": "Order %(id)s: %(reason)s", "params": {"id": 12, "reason": {"msgid": ...}}}

and rendered when it is shown, in the language active then (the reader's).

- ``gettext``/``ngettext`` here are drop-in replacements for Django's in code whose messages
  end up stored: they return a :class:`StoredText`, a ``str`` (the text in the language active
  when it was made, so comparing, slicing, logging keep working) that also remembers its msgid;
  ``%`` with parameters keeps them (a parameter may itself be a ``StoredText``).
- :class:`LocalizedTextField` is the model field: it writes a ``StoredText`` as JSON and reads
  it back as a ``StoredText``; templates (``{{ posting.error }}``, ``|truncatechars``...) render
  it in the active language. Plain text (rows written before, provider text) stays as it is.
- Provider text (a ledger's or a source's own error message) is never translated: it is a
  plain-string parameter inside a translated frame, e.g. ``%(ledger)s refused the invoice:
  “%(detail)s”``.
"""

from __future__ import annotations

import datetime
import json
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.html import escape
from django.utils.translation import gettext as django_gettext
from django.utils.translation import ngettext as django_ngettext

_PREFIX = '{"msgid":'


class StoredText(str):
    """A translatable message with its parameters; ``str(x)`` renders it in the active
    language, while the ``str`` value itself is the text as it was when made or read."""

    msgid: str
    plural: str | None
    number: int | None
    params: Any

    def __new__(
        cls,
        msgid: str,
        *,
        plural: str | None = None,
        number: int | None = None,
        params: Any = None,
        text: str | None = None,
    ) -> StoredText:
        probe = str.__new__(cls, "")
        probe.msgid, probe.plural, probe.number, probe.params = msgid, plural, number, params
        self = str.__new__(cls, probe.render() if text is None else text)
        self.msgid, self.plural, self.number, self.params = msgid, plural, number, params
        return self

    # -- rendering ----------------------------------------------------------------------------

    def render(self) -> str:
        """The message in the language active now."""
        if self.plural is not None:
            template = django_ngettext(self.msgid, self.plural, self.number or 0)
        else:
            template = django_gettext(self.msgid)
        if self.params is None:
            return template
        params = _rendered(self.params)
        for text in (template, self.msgid):  # the msgid if a translation lost a placeholder
            try:
                return text % params
            except (KeyError, ValueError, TypeError):
                continue
        return self.msgid

    def __str__(self) -> str:
        return self.render()

    def __html__(self) -> str:
        return escape(self.render())

    def __format__(self, spec: str) -> str:
        return format(self.render(), spec)

    def __mod__(self, params: Any) -> StoredText:
        if self.params is not None:  # already filled in: behave like the plain text would
            return str.__mod__(str(self), params)  # type: ignore[return-value]
        number = self.number
        if self.plural is not None and number is None and isinstance(params, dict):
            number = params.get("count")
        return StoredText(self.msgid, plural=self.plural, number=number, params=params)

    def __getitem__(self, key: Any) -> Any:
        # ``message[:2000]`` on a short message keeps the message (its meaning), not its words.
        if (
            isinstance(key, slice)
            and key.start in (None, 0)
            and key.step is None
            and (key.stop is None or key.stop >= len(self))
        ):
            return self
        return str.__getitem__(self, key)

    def __reduce__(self) -> tuple:
        return (decode, (self.encode(),))

    def __copy__(self) -> StoredText:
        return self

    def __deepcopy__(self, memo: dict) -> StoredText:
        return self

    # -- storage ------------------------------------------------------------------------------

    def data(self) -> dict:
        """The JSON-ready form (also what a JSON field keeps, e.g. a notification's params)."""
        out: dict[str, Any] = {"msgid": self.msgid}
        if self.plural is not None:
            out["plural"] = self.plural
            out["number"] = self.number
        if self.params is not None:
            out["params"] = _data(self.params)
        return out

    def encode(self) -> str:
        return json.dumps(self.data(), ensure_ascii=False, separators=(",", ":"))


def _data(value: Any) -> Any:
    if isinstance(value, StoredText):
        return value.data()
    if isinstance(value, dict):
        return {str(k): _data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return {"args": [_data(v) for v in value]}
    if isinstance(value, Promise):
        return _data(stored(value))
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _from_data(value: Any) -> Any:
    if isinstance(value, dict):
        if isinstance(value.get("msgid"), str):
            return StoredText(
                value["msgid"],
                plural=value.get("plural"),
                number=value.get("number"),
                params=_from_data(value.get("params")),
            )
        if set(value) == {"args"} and isinstance(value["args"], list):
            return tuple(_from_data(v) for v in value["args"])
        return {k: _from_data(v) for k, v in value.items()}
    return value


def _rendered(params: Any) -> Any:
    if isinstance(params, StoredText):
        return params.render()
    if isinstance(params, dict):
        return {k: _rendered(v) for k, v in params.items()}
    if isinstance(params, tuple):
        return tuple(_rendered(v) for v in params)
    return params


def decode(text: Any) -> Any:
    """A stored value as read: a :class:`StoredText` for an encoded message, anything else
    (plain text of older rows, provider text, ``None``) unchanged."""
    if isinstance(text, StoredText) or not isinstance(text, str) or not text.startswith(_PREFIX):
        return text
    try:
        data = json.loads(text)
    except ValueError:
        return text
    result = _from_data(data) if isinstance(data, dict) else None
    return result if isinstance(result, StoredText) else text


def from_data(value: Any) -> Any:
    """A JSON value kept by :meth:`StoredText.data` (or plain text) back as text."""
    if isinstance(value, dict):
        result = _from_data(value)
        return result if isinstance(result, StoredText) else value
    return decode(value)


def stored(value: Any) -> Any:
    """``value`` as a :class:`StoredText` where its msgid is known (a ``gettext_lazy`` string,
    e.g. an exception's default message); plain text stays plain."""
    if isinstance(value, StoredText) or value is None:
        return value
    if isinstance(value, Promise):
        args = getattr(value, "_args", ())
        if len(args) == 1 and isinstance(args[0], str) and not getattr(value, "_kw", None):
            return StoredText(args[0])
        return str(value)
    return decode(value) if isinstance(value, str) else value


def message_of(exc: BaseException) -> str:
    """An exception's message, kept as a :class:`StoredText` when it was raised with one
    (``str(exc)`` would render it in the language active now)."""
    if exc.args and isinstance(exc.args[0], StoredText):
        return exc.args[0]
    return str(exc)


def gettext(message: str) -> StoredText:
    """Django's ``gettext``, but the result remembers its msgid (and, after ``%``, its
    parameters) so a stored copy is shown in its reader's language."""
    return StoredText(message)


def ngettext(singular: str, plural: str, number: int) -> StoredText:
    return StoredText(singular, plural=plural, number=number)


def as_data(value: Any) -> Any:
    """For a JSON field: a message's JSON form, plain text as it is."""
    value = stored(value)
    return value.data() if isinstance(value, StoredText) else value


def db_text(value: Any) -> Any:
    """What a :class:`LocalizedTextField` column holds for ``value`` (for raw SQL)."""
    value = stored(value) if isinstance(value, Promise) else value
    return value.encode() if isinstance(value, StoredText) else value


class LocalizedTextField(models.TextField):
    """A text column that keeps a :class:`StoredText` as its msgid and parameters (JSON) and
    gives it back as a ``StoredText``; plain text is written and read unchanged."""

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        return decode(value)

    def get_prep_value(self, value: Any) -> Any:
        return super().get_prep_value(db_text(value))
