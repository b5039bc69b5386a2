"""Money as a person reads and types it, in their language's number format (the rounding
rule is ``unify.core.money``).

``format_amount(Decimal("1234.5"))`` is "1,234.50" in English and "1.234,50" in German;
``format_money(value, "EUR")`` adds the code after it ("1.234,50 EUR"; "1,234.50 USD"), the
way ledgers print amounts. Machine-readable places (the default CSV export, data attributes,
documents sent to ledgers) keep plain "1234.50" and never use these.
``parse_amount`` reads what a person typed: "1.234,56" or "1234,56" in German, "1,234.56"
in English; a plain "1234.56" in both."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import forms
from django.utils import formats, numberformat


def format_amount(value: Decimal | int | str | None, places: int = 2) -> str:
    if value is None or value == "":
        return ""
    amount = Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return numberformat.format(
        amount,
        formats.get_format("DECIMAL_SEPARATOR"),
        decimal_pos=places,
        grouping=formats.get_format("NUMBER_GROUPING") or 3,
        thousand_sep=formats.get_format("THOUSAND_SEPARATOR"),
        force_grouping=True,
    )


def format_money(value: Decimal | int | str | None, currency: str = "") -> str:
    text = format_amount(value)
    return f"{text}\u00a0{currency}" if text and currency else text


def parse_amount(text: str) -> Decimal:
    """A typed amount in the active language's separators; ValueError when it is none."""
    raw = (text or "").strip().replace("\u00a0", "").replace(" ", "")
    decimal_sep = formats.get_format("DECIMAL_SEPARATOR")
    thousand_sep = formats.get_format("THOUSAND_SEPARATOR")
    if decimal_sep == "," and raw.count(",") <= 1:
        if "," in raw:
            raw = raw.replace(thousand_sep, "").replace(",", ".")
        elif raw.count(".") > 1 or (raw.count(".") == 1 and len(raw.rsplit(".", 1)[1]) == 3):
            raw = raw.replace(".", "")  # "1.234" in German is a thousand and more
    elif decimal_sep == ".":
        raw = raw.replace(",", "")
    try:
        return Decimal(raw)
    except InvalidOperation as exc:
        raise ValueError(text) from exc


class MoneyField(forms.DecimalField):
    """A form field for money a person types: German accepts 1.234,56 and 1234,56, English
    1,234.56; the value is a Decimal with at most ``decimal_places`` places."""

    def __init__(self, *, max_digits: int = 14, decimal_places: int = 2, **kwargs) -> None:
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal"}))
        super().__init__(max_digits=max_digits, decimal_places=decimal_places, **kwargs)

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return parse_amount(str(value))
        except ValueError as exc:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from exc

    def prepare_value(self, value):
        return format_amount(value) if isinstance(value, Decimal) else value
