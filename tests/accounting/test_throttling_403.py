"""Issue 17, item 17: QuickBooks has answered throttling with HTTP 403 and a
ThrottleExceeded fault as well as with 429. Unify waits and retries (every worker of the realm
stops for the wait), never marks the connection for reconnection and never emails the owner.
The QBO stand-in answers its throttling as 403 here (``set_throttle_status(403)``)."""

from __future__ import annotations

import time
from collections import Counter

import pytest
import requests
from django.core import mail

from accounting.models import LedgerStatus, Posting
from accounting.services import posting_enqueue_orders
from tests.accounting.conftest import connect_ledger
from tests.accounting.factories import make_order
from tests.accounting.test_rate_limit import _drain_in_threads
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_stand_in_answers_throttling_as_intuit_did_with_403(qbo):
    qbo.set_throttle_status(403)
    qbo.set_rate_limit(1, 60.0)
    token = qbo.issue_tokens()["access_token"]
    url = f"{qbo.api_base_url.rstrip('/')}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    assert requests.get(url, headers=headers, timeout=10).status_code == 200
    answer = requests.get(url, headers=headers, timeout=10)
    assert answer.status_code == 403
    assert "message=ThrottleExceeded; errorCode=003001; statusCode=403" in answer.text
    assert qbo.stats()["throttled"] == 1


def test_a_403_throttle_is_waited_out_not_a_reconnection(org_a, qbo, qbo_settings):
    qbo_settings.QBO_RATE_LIMIT_PER_MINUTE = 1000
    qbo_settings.QBO_THROTTLE_WAIT_SECONDS = 1.0
    qbo.set_throttle_status(403)
    qbo.set_rate_limit(8, 1.0)
    ledger = connect_ledger(org_a, qbo)
    orders = [
        make_order(org_a, lines=[("SKU-1", "Widget", 1, "9.99", False)], customer_name="Buyer")
        for _ in range(20)
    ]
    with org_scope(org_a.pk):
        posting_enqueue_orders(organization=org_a, order_ids=[o.pk for o in orders])
    for _ in range(40):
        _drain_in_threads(ledger, 4)
        with org_scope(org_a.pk):
            if Posting.objects.filter(status="posted").count() == 20:
                break
        time.sleep(0.5)
    with org_scope(org_a.pk):
        statuses = Counter(Posting.objects.values_list("status", flat=True))
        attempts = max(Posting.objects.values_list("attempts", flat=True))
    ledger.refresh_from_db()
    assert statuses == Counter(posted=20)
    assert qbo.stats()["throttled"] > 0
    assert any(r.status == 403 for r in qbo.requests_log(qbo.realm_id))
    assert ledger.status == LedgerStatus.ACTIVE, ledger.status_message
    assert mail.outbox == []
    assert attempts == 1  # waited out, not a failed attempt
    numbers = Counter(r["DocNumber"] for r in qbo.documents("salesreceipt"))
    assert len(numbers) == 20 and set(numbers.values()) == {1}
