"""Reads of the support console. Searches go across organizations (``all_orgs``) and return
organizations; an organization's page reads inside that organization's scope. Secrets are
never read: connections show their key hint only."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils.translation import gettext_lazy

from unify.core.models import AuditEvent
from unify.tenancy.models import Invitation, Membership, Organization
from unify.tenancy.scoping import org_scope

SEARCH_LIMIT = 50
# Why a search found an organization: the codes go to the activity log, the labels to the page.
REASON_LABELS = {
    "name": gettext_lazy("name"),
    "member email": gettext_lazy("member email"),
    "invited email": gettext_lazy("invited email"),
    "key hint": gettext_lazy("source key hint"),
    "order number": gettext_lazy("order number"),
}


@dataclass
class SearchHit:
    organization: Organization
    reasons: list[str] = field(default_factory=list)

    @property
    def reason_labels(self) -> list[str]:
        return [str(REASON_LABELS.get(reason, reason)) for reason in self.reasons]


def search(q: str) -> list[SearchHit]:
    """Organizations whose name contains ``q``, with a member of that email, a source's
    API key ending in ``q`` (the hint) or an order numbered ``q``."""
    from connections.models import StoreConnection
    from sales.models import Order

    q = q.strip()[:100]
    if not q:
        return []
    hits: dict[int, SearchHit] = {}

    def add(org_ids, reason: str) -> None:
        for org in Organization.objects.filter(pk__in=list(org_ids)).order_by("name"):
            hits.setdefault(org.pk, SearchHit(org)).reasons.append(reason)

    add(
        Organization.objects.filter(Q(name__icontains=q) | Q(slug__iexact=q)).values_list(
            "pk", flat=True
        )[:SEARCH_LIMIT],
        "name",
    )
    if "@" in q:
        add(
            Membership.objects.filter(user__email__iexact=q).values_list(
                "organization_id", flat=True
            ),
            "member email",
        )
        add(
            Invitation.objects.filter(email__iexact=q).values_list("organization_id", flat=True),
            "invited email",
        )
    if len(q) >= 4:  # the hint is the key's last four characters
        add(
            StoreConnection.all_orgs.filter(credentials_hint__iexact=q[-4:]).values_list(
                "organization_id", flat=True
            )[:SEARCH_LIMIT],
            "key hint",
        )
    number = q.lstrip("#") or q
    add(
        Order.all_orgs.filter(number__iexact=number)
        .values_list("organization_id", flat=True)
        .distinct()[:SEARCH_LIMIT],
        "order number",
    )
    return sorted(hits.values(), key=lambda h: h.organization.name.lower())[:SEARCH_LIMIT]


def organization_overview(*, organization: Organization, order_number: str = "") -> dict[str, Any]:
    """Everything the organization page shows, read in the organization's scope."""
    from accounting.models import LedgerConnection, Posting
    from connections.models import StoreConnection
    from sales.models import ImportIssue, Order, SyncRun

    with org_scope(organization.pk):
        connections = list(
            StoreConnection.objects.filter(organization=organization).order_by("name", "pk")
        )
        ledgers = list(
            LedgerConnection.objects.filter(organization=organization).order_by("-pk")[:5]
        )
        postings = dict(
            Posting.objects.filter(organization=organization)
            .order_by()
            .values_list("status")
            .annotate(n=Count("pk"))
        )
        syncs = list(
            SyncRun.objects.filter(organization=organization)
            .select_related("connection")
            .order_by("-created_at", "-pk")[:10]
        )
        issues = list(
            ImportIssue.objects.filter(organization=organization)
            .select_related("connection")
            .order_by("-created_at", "-pk")[:20]
        )
        orders = []
        if order_number:
            number = order_number.strip().lstrip("#")
            orders = list(
                Order.objects.filter(organization=organization, number__iexact=number)[:5]
            )
            for order in orders:
                order.support_postings = list(
                    Posting.objects.filter(organization=organization, order=order).order_by(
                        "-updated_at", "-pk"
                    )[:5]
                )
    members = list(
        Membership.objects.filter(organization=organization)
        .select_related("user")
        .order_by("role", "user__email")
    )
    invitations = list(
        Invitation.objects.filter(organization=organization, accepted_at__isnull=True).order_by(
            "-pk"
        )[:20]
    )
    audit = list(
        AuditEvent.objects.filter(organization=organization)
        .select_related("actor")
        .order_by("-at", "-id")[:30]
    )
    return {
        "connections": connections,
        "ledgers": ledgers,
        "posting_counts": sorted(postings.items()),
        "syncs": syncs,
        "issues": issues,
        "members": members,
        "invitations": invitations,
        "audit": audit,
        "orders": orders,
        "order_number": order_number,
    }


def members_locked_out(request, members) -> set[int]:
    """The memberships whose person cannot sign in now (too many failed attempts)."""
    from unify.tenancy.lockouts import login_locked_out

    return {m.pk for m in members if login_locked_out(request, m.user)}
