"""Filters for the Sales tab's tables. They run once per cell on pages of up to 200 orders,
so they are deliberately plainer (and much cheaper) than ``floatformat`` and ``include``."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()

POSTING_BADGE_CLASSES = {
    "posted": "text-bg-success",
    "failed": "text-bg-danger",
    "changed": "text-bg-warning",
    "ignored": "text-bg-dark",
}


@register.filter
def money(value: Decimal | None) -> str:
    """Two decimals, no grouping, no currency: ``1234.50``; empty for no value."""
    if value is None or value == "":
        return ""
    return f"{Decimal(value):.2f}"


@register.filter
def posting_badge_class(status: str) -> str:
    return POSTING_BADGE_CLASSES.get(status, "text-bg-secondary")
