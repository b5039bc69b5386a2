"""The dashboard's contributions of the ledger side (``unify.tenancy.dashboard``): the
"Needs your attention" counts the Accounting tab fixes (a ledger to reconnect, failed
postings, postings held, a ledger's daily limit reached), the time of the last posting and the
getting-started state of the ledger. Each count is the number of rows its link lists."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.db.models import Count, Max
from django.urls import reverse
from django.utils.translation import gettext, ngettext

from accounting.ledgers.registry import get_provider, ledger_providers
from accounting.models import LedgerStatus, Posting, PostingState
from accounting.selectors import held_postings_q, ledger_connection_current, ledger_reconnect_notes
from unify.tenancy.models import Organization


def dashboard_attention(*, organization: Organization) -> dict[str, Any]:
    home = reverse("accounting:home", kwargs={"org_slug": organization.slug})
    postings = reverse("accounting:postings", kwargs={"org_slug": organization.slug})
    ledger = ledger_connection_current(organization=organization)
    items: list[dict[str, Any]] = []
    notes = ledger_reconnect_notes(ledger)
    if ledger is not None and ledger.status == LedgerStatus.NEEDS_REAUTH:
        items.append(
            {
                "key": "ledger_reauth",
                "count": 1,
                "label": gettext("ledger to reconnect"),
                "url": home,
            }
        )
    # Failed postings a retry may cure, and those held until the merchant changes something
    # first (books closed for the date, a currency the ledger does not take, an unpaid
    # order): two counts, each the rows of its list.
    failed_rows = Posting.objects.for_org(organization).filter(status=PostingState.FAILED)
    counts = failed_rows.aggregate(
        failed=Count("pk", filter=held_postings_q(False)),
        held=Count("pk", filter=held_postings_q(True)),
    )
    if counts["failed"]:
        items.append(
            {
                "key": "failed_postings",
                "count": counts["failed"],
                "label": ngettext("failed posting", "failed postings", counts["failed"]),
                "url": f"{postings}?{urlencode({'status': PostingState.FAILED, 'held': 0})}",
            }
        )
    if counts["held"]:
        items.append(
            {
                "key": "held_postings",
                "count": counts["held"],
                "label": ngettext(
                    "posting held (closed books, currency, unpaid)",
                    "postings held (closed books, currency, unpaid)",
                    counts["held"],
                ),
                "url": f"{postings}?{urlencode({'status': PostingState.FAILED, 'held': 1})}",
            }
        )
    paused_until = None
    if ledger is not None and ledger.provider in ledger_providers():
        paused_until = get_provider(ledger.provider).posting_paused_until(ledger.company_id)
    if paused_until is not None:
        items.append(
            {
                "key": "daily_limit",
                "count": 1,
                "label": gettext("ledger reached its daily limit"),
                "until": paused_until,
                "url": home,
            }
        )
    last_posting = (
        Posting.objects.for_org(organization)
        .filter(status=PostingState.POSTED)
        .aggregate(at=Max("posted_at"))["at"]
    )
    return {
        "attention": items,
        "needs_attention": notes,
        "last_posting_at": last_posting,
        "ledger_connected": ledger is not None and ledger.status != LedgerStatus.DISABLED,
        "has_postings": last_posting is not None,
    }
