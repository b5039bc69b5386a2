"""Issue 17 item 10 (and issue 18 for Xero): two buyers with the same name and different
emails never share a QuickBooks customer or Xero contact, whatever the posting order,
including when the merchant has an email-less ("guest") customer of that name. The guest may
be reused for a buyer, but Unify's customer map then records it as that buyer's (claimed by
the email, per connection); a second email of that name gets its own customer named
"Name (email)", and the guest is never given a buyer's email. Real PostgreSQL, stand-ins over
HTTP through python-quickbooks and xero-python, the posting engine."""

from __future__ import annotations

import pytest

from accounting.models import LedgerReference, Posting
from accounting.services import posting_enqueue_orders
from accounting.services.engine import posting_drain
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.factories import make_order
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

GUEST = "Walk-in Customer"  # in the QBO stand-in's seed, without an email (as in Intuit's)
EMAILS = ("walkin@a.example", "walkin@b.example")


def _drain(org, ledger, orders) -> None:
    with org_scope(org.pk):
        posting_enqueue_orders(organization=org, order_ids=[o.pk for o in orders])
        posting_drain(ledger_connection_id=ledger.pk)


def _buyer(org, email):
    return make_order(
        org, lines=[("A", "A", 1, "5.00", False)], customer_name=GUEST, customer_email=email
    )


def _claims(ledger) -> dict[str, str]:
    return dict(
        LedgerReference.all_orgs.filter(
            ledger_connection=ledger, key__startswith="customer:email:walkin"
        ).values_list("key", "external_id")
    )


def _post_in_order(org, ledger, order_of_emails, together: bool):
    orders = {email: _buyer(org, email) for email in order_of_emails}
    if together:
        _drain(org, ledger, list(orders.values()))
    else:
        for order in orders.values():
            _drain(org, ledger, [order])
    with org_scope(org.pk):
        assert set(Posting.objects.filter(kind="sale").values_list("status", flat=True)) == {
            "posted"
        }
    return orders


def _holder_and_other(party_of, guest_id, order_of_emails, together) -> tuple[str, str]:
    """The buyer who got the guest and the other one; posted one by one, the first holds it
    (in one run, whichever the run took first)."""
    holders = [email for email in order_of_emails if party_of[email] == guest_id]
    assert len(holders) == 1, party_of
    (holder,) = holders
    if not together:
        assert holder == order_of_emails[0]
    (other,) = [email for email in order_of_emails if email != holder]
    assert party_of[other] != guest_id
    return holder, other


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "one-run"])
@pytest.mark.parametrize("first", [0, 1], ids=["a-first", "b-first"])
def test_qbo_guest_customer_goes_to_one_buyer_and_the_other_gets_their_own(
    org_a, qbo, qbo_ledger, first, together
):
    (guest,) = [c for c in qbo.documents("customer") if c["DisplayName"] == GUEST]
    order_of_emails = (EMAILS[first], EMAILS[1 - first])
    orders = _post_in_order(org_a, qbo_ledger, order_of_emails, together)
    receipts = {r["DocNumber"]: r for r in qbo.documents("salesreceipt")}
    customer_of = {
        email: receipts[f"SS-{order.number}"]["CustomerRef"]["value"]
        for email, order in orders.items()
    }

    holder, other = _holder_and_other(customer_of, guest["Id"], order_of_emails, together)
    second = qbo.document("customer", customer_of[other])
    assert second["DisplayName"] == f"{GUEST} ({other})"
    assert second["PrimaryEmailAddr"]["Address"] == other
    # The merchant's guest customer is never given a buyer's email.
    assert "PrimaryEmailAddr" not in qbo.document("customer", guest["Id"])
    assert _claims(qbo_ledger) == {
        f"customer:email:{holder}": guest["Id"],
        f"customer:email:{other}": second["Id"],
    }

    # Both buyers again, in the other order: each keeps their own customer.
    again = {email: _buyer(org_a, email) for email in reversed(order_of_emails)}
    _drain(org_a, qbo_ledger, list(again.values()))
    receipts = {r["DocNumber"]: r for r in qbo.documents("salesreceipt")}
    for email, order in again.items():
        assert receipts[f"SS-{order.number}"]["CustomerRef"]["value"] == customer_of[email]


def test_qbo_existing_test_rule_still_holds_one_buyer_reuses_the_guest(org_a, qbo, qbo_ledger):
    before = qbo.count("Customer")
    _post_in_order(org_a, qbo_ledger, EMAILS[:1], together=True)
    assert qbo.count("Customer") == before


@pytest.mark.parametrize("together", [False, True], ids=["one-by-one", "one-run"])
@pytest.mark.parametrize("first", [0, 1], ids=["a-first", "b-first"])
def test_xero_guest_contact_goes_to_one_buyer_and_the_other_gets_their_own(
    org_a, xero, xero_ledger, first, together
):
    guest = xero.add_document("Contacts", {"Name": GUEST}, T)
    guest_id = guest["ContactID"]
    order_of_emails = (EMAILS[first], EMAILS[1 - first])
    orders = _post_in_order(org_a, xero_ledger, order_of_emails, together)
    invoices = {i["InvoiceNumber"]: i for i in xero.documents("Invoices")}
    contact_of = {
        email: invoices[f"SS-{order.number}"]["Contact"]["ContactID"]
        for email, order in orders.items()
    }

    holder, other = _holder_and_other(contact_of, guest_id, order_of_emails, together)
    contacts = {c["ContactID"]: c for c in xero.documents("Contacts")}
    second = contacts[contact_of[other]]
    assert second["Name"] == f"{GUEST} ({other})"
    assert second["EmailAddress"] == other
    assert not contacts[guest_id].get("EmailAddress")
    assert _claims(xero_ledger) == {
        f"customer:email:{holder}": guest_id,
        f"customer:email:{other}": second["ContactID"],
    }

    again = {email: _buyer(org_a, email) for email in reversed(order_of_emails)}
    _drain(org_a, xero_ledger, list(again.values()))
    invoices = {i["InvoiceNumber"]: i for i in xero.documents("Invoices")}
    for email, order in again.items():
        assert invoices[f"SS-{order.number}"]["Contact"]["ContactID"] == contact_of[email]
