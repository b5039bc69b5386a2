"""Filters for the Sales tab's tables. They run once per cell on pages of up to 200 orders,
so they are deliberately plainer (and much cheaper) than ``floatformat`` and ``include``."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.translation import ngettext

from connections.sources.statuses import order_status_label
from unify.core.money_format import format_amount

register = template.Library()


@register.filter
def source_name(provider: str) -> str:
    """A source's name for people, from its provider key (``connection.provider``)."""
    from sales.sources import source_name as name

    return name(provider or "")


@register.simple_tag
def connectable_source_names() -> str:
    """The sources Add Store offers, by name (``{% connectable_source_names as sources %}``)."""
    from sales.sources import connectable_source_names as names

    return names()


@register.simple_tag
def reimport_label() -> str:
    """The re-import action's name, after the sources orders can be re-imported from."""
    from sales.sources import reimport_label as label

    return str(label())


POSTING_BADGE_CLASSES = {
    "posted": "text-bg-success",
    "failed": "text-bg-danger",
    "changed": "text-bg-warning",
    "ignored": "text-bg-dark",
    # An order whose posting is queued or being sent (its status still says "not posted").
    "in_progress": "text-bg-info",
}
POSTING_IN_PROGRESS_CLASS = POSTING_BADGE_CLASSES["in_progress"]


@register.filter
def money(value: Decimal | None) -> str:
    """Two decimals in the person's number format, no currency: ``1,234.50`` in English,
    ``1.234,50`` in German; empty for no value."""
    return format_amount(value)


@register.filter
def posting_badge_class(status: str) -> str:
    return POSTING_BADGE_CLASSES.get(status, "text-bg-secondary")


@register.filter
def order_status(code: str) -> str:
    """``awaiting_shipment`` as "Awaiting shipment"."""
    return order_status_label(code or "")


@register.filter
def bulk_action_counts(action) -> str:
    """What a background action on many orders did so far, in orders and in the action's own
    words: "366 orders checked: 300 queued for posting. 66 could not be posted (...)"."""
    done, total, changed = action.done, action.total, action.changed
    skipped = max(0, done - changed - action.failed)
    n = {"done": done, "total": total, "changed": changed, "skipped": skipped}
    finished = not action.is_open
    if action.kind == "post":
        if not finished:
            return (
                ngettext(
                    "Checking %(total)s order against the posting settings…",
                    "Checking %(total)s orders against the posting settings…",
                    total,
                )
                % n
            )
        text = (
            ngettext(
                "%(total)s order checked: %(changed)s queued for posting.",
                "%(total)s orders checked: %(changed)s queued for posting.",
                total,
            )
            % n
        )
        if skipped:
            text += (
                " "
                + ngettext(
                    "%(skipped)s could not be posted (already posted, ignored, cancelled or "
                    "outside the posting settings).",
                    "%(skipped)s could not be posted (already posted, ignored, cancelled or "
                    "outside the posting settings).",
                    skipped,
                )
                % n
            )
        return text
    if action.kind == "reimport":
        return (
            ngettext(
                "%(done)s of %(total)s order re-imported: %(changed)s changed at its source.",
                "%(done)s of %(total)s orders re-imported: %(changed)s changed at their source.",
                total,
            )
            % n
        )
    if action.kind == "unignore":
        text = (
            ngettext(
                "%(done)s of %(total)s order checked: %(changed)s no longer ignored.",
                "%(done)s of %(total)s orders checked: %(changed)s no longer ignored.",
                total,
            )
            % n
        )
        if finished and skipped:
            text += (
                " "
                + ngettext(
                    "%(skipped)s was not ignored and was left as it is.",
                    "%(skipped)s were not ignored and were left as they are.",
                    skipped,
                )
                % n
            )
        return text
    text = (
        ngettext(
            "%(done)s of %(total)s order checked: %(changed)s ignored.",
            "%(done)s of %(total)s orders checked: %(changed)s ignored.",
            total,
        )
        % n
    )
    if finished and skipped:
        text += (
            " "
            + ngettext(
                "%(skipped)s was posted or already ignored and was left as it is.",
                "%(skipped)s were posted or already ignored and were left as they are.",
                skipped,
            )
            % n
        )
    return text
