"""Template helpers for postings: status badges, ledger links, an order's posting history.

``{% load accounting %}`` then:

- ``{{ posting|ledger_link }}``: the document number linking to the ledger's page (opens in
  a new tab), or the number alone when the ledger gave no link;
- ``{{ posting|posting_badge }}``: the posting's status as a Bootstrap badge;
- ``{{ event.to_status|posting_state }}``: a posting state code in words ("in_flight":
  "Posting");
- ``{% order_postings order as postings %}``: the postings of one order (sale, label costs,
  daily summary), scoped to the order's organization;
"""

from __future__ import annotations

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from accounting import selectors
from accounting.models import Posting, PostingState

register = template.Library()

_BADGE = {
    PostingState.PENDING: "text-bg-secondary",
    PostingState.IN_FLIGHT: "text-bg-info",
    PostingState.QUEUED: "text-bg-info",
    PostingState.POSTED: "text-bg-success",
    PostingState.FAILED: "text-bg-danger",
    PostingState.SKIPPED: "text-bg-light",
    PostingState.REMOVED: "text-bg-dark",
}


@register.filter
def ledger_link(posting: Posting | None) -> SafeString | str:
    if posting is None:
        return ""
    number = posting.external_number or posting.document_number
    if posting.status == PostingState.POSTED and posting.deep_link.startswith(
        ("https://", "http://")
    ):
        return format_html(
            '<a href="{}" target="_blank" rel="noopener noreferrer" class="ledger-link" '
            'title="{}">{}</a>',
            posting.deep_link,
            _("Open in %(ledger)s") % {"ledger": posting.ledger_connection.get_provider_display()},
            number,
        )
    return number


@register.filter
def posting_badge(posting: Posting | None) -> SafeString | str:
    if posting is None:
        return ""
    badge = format_html(
        '<span class="badge {}">{}</span>',
        _BADGE.get(posting.status, "text-bg-secondary"),
        posting.get_status_display(),
    )
    if posting.needs_review:
        badge += format_html(
            ' <span class="badge text-bg-warning">{}</span>', _("Changed after posting")
        )
    return badge


@register.filter
def posting_state(code: str) -> str:
    if code in PostingState.values:
        return str(PostingState(code).label)
    return code


@register.simple_tag
def order_postings(order) -> list[Posting]:
    from unify.tenancy.models import Organization

    organization = Organization.objects.get(pk=order.organization_id)
    return selectors.order_postings(organization=organization, order=order)


@register.simple_tag
def order_tax_treatment(order) -> str:
    """How posting treats the order's marketplace tax or unitemised coupon ("" if neither)
    under the current ledger's settings."""
    return selectors.order_difference_treatment(order)
