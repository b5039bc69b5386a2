"""Accounting tab pages: settings form validated against the ledger's catalog, posting log,
posting detail, posting endpoints used by the Sales tab."""

from __future__ import annotations

import html

import pytest
from django.urls import reverse

from accounting.ledgers.xero.provider import XeroProvider
from accounting.models import LedgerConnection, Posting, PostingBatch, PostingSettings
from accounting.services import eta
from accounting.services.connections import ledger_catalog_refresh
from tests.accounting.factories import make_order, make_posting
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

VALID = {
    "document_type": "sales_receipt",
    "trigger": "after_import",
    "schedule_interval_minutes": "1440",
    "eligible_statuses": ["shipped"],
    "customer_strategy": "per_buyer",
    "item_match_sku": "on",
    "item_create_missing": "on",
    "product_income_account_id": "79",
    "shipping_income_account_id": "83",
    "discount_account_id": "86",
    "tax_liability_account_id": "89",
    "deposit_account_id": "4",
    "label_cost_mode": "expense",
    "label_vendor_mode": "carrier",
    "shipping_expense_account_id": "90",
    "label_payment_account_id": "35",
    "document_number_prefix": "SS-",
}


@pytest.fixture
def ledger_with_catalog(qbo_ledger):
    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    return qbo_ledger


def test_settings_dropdowns_come_from_the_ledger_catalog(owner_client, org_a, ledger_with_catalog):
    page = owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode()
    assert '<option value="4">Undeposited Funds</option>' in page
    assert "Sales of Product Income" in page
    assert 'name="default_tax_code_id"' in page


def test_settings_save_and_reject_a_mapping_the_ledger_does_not_have(
    owner_client, org_a, ledger_with_catalog
):
    url = f"/o/{org_a.slug}/accounting/settings/"
    bad = dict(VALID, deposit_account_id="999")
    response = owner_client.post(url, bad)
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    ps = PostingSettings.all_orgs.get(ledger_connection=ledger_with_catalog)
    before = ps.deposit_account_id
    assert before != "999"

    response = owner_client.post(url, dict(VALID, label_payment_account_id=""))
    assert "Choose the Account that pays label costs account." in response.content.decode()

    response = owner_client.post(url, VALID)
    assert response.status_code == 302
    ps.refresh_from_db()
    assert (ps.trigger, ps.deposit_account_id, ps.label_vendor_mode, ps.eligible_statuses) == (
        "after_import",
        "4",
        "carrier",
        ["shipped"],
    )


def test_member_cannot_change_settings(client, member_of_a, org_a, ledger_with_catalog):
    client.force_login(member_of_a.user)
    assert client.post(f"/o/{org_a.slug}/accounting/settings/", VALID).status_code == 403


def test_posting_log_filters_and_detail_shows_document_and_answer(owner_client, org_a):
    failed = make_posting(org_a, status="failed")
    posted = make_posting(
        org_a,
        status="posted",
        connection=failed.ledger_connection,
        external_id="177",
        deep_link="http://127.0.0.1:9/app/salesreceipt?txnId=177",
        document={"reference": "SS-X", "total": "12.34"},
        answer={"Id": "177", "TotalAmt": "12.34"},
    )
    page = owner_client.get(f"/o/{org_a.slug}/accounting/postings/?status=failed").content.decode()
    assert f'id="posting-{failed.pk}"' in page and f'id="posting-{posted.pk}"' not in page

    detail = owner_client.get(f"/o/{org_a.slug}/accounting/postings/{posted.pk}/").content.decode()
    detail = html.unescape(detail)
    assert '"total": "12.34"' in detail and '"TotalAmt": "12.34"' in detail
    assert 'href="http://127.0.0.1:9/app/salesreceipt?txnId=177"' in detail


def test_retry_failed_requeues_only_failed_postings(owner_client, org_a, qbo_ledger):
    failed = make_posting(org_a, status="failed", connection=qbo_ledger)
    posted = make_posting(org_a, status="posted", connection=qbo_ledger)
    response = owner_client.post(f"/o/{org_a.slug}/accounting/postings/retry/", {"all": "1"})
    assert response.status_code == 302
    failed.refresh_from_db()
    posted.refresh_from_db()
    assert (failed.status, failed.error, posted.status) == ("pending", "", "posted")


def post_selected(client, org, orders) -> PostingBatch:
    """The Sales tab's "Post selected" on these orders; returns the batch it queued."""
    response = client.post(
        reverse("sales:action", kwargs={"org_slug": org.slug}),
        {"action": "post", "ids": [o.pk for o in orders]},
    )
    assert response.status_code == 302
    return PostingBatch.all_orgs.get(organization=org)


def test_posting_selected_orders_shows_the_batch_progress(owner_client, org_a, qbo_ledger):
    order = make_order(org_a, lines=[("A", "Alpha", 1, "10.00", False)])
    batch = post_selected(owner_client, org_a, [order])
    assert Posting.all_orgs.get(order=order).status == "pending"
    progress = owner_client.get(f"/o/{org_a.slug}/accounting/batches/{batch.pk}/")
    assert f'id="batch-{batch.pk}"' in progress.content.decode()
    assert "0 of 1 done" in progress.content.decode()


def test_progress_of_a_long_run_shows_the_time_left_at_the_ledger_limits(
    owner_client, org_a, qbo_ledger, settings
):
    settings.QBO_BATCH_SIZE = 30
    orders = [make_order(org_a, lines=[("A", "Alpha", 1, "10.00", False)]) for _ in range(40)]
    batch = post_selected(owner_client, org_a, orders)
    # Twelve posted, 28 still queued: at Intuit's limits (40 batches of 30 plus 460 single
    # requests a minute) that is under a minute.
    with org_scope(org_a.pk):
        ids = list(Posting.objects.order_by("pk").values_list("pk", flat=True)[:12])
        Posting.objects.filter(pk__in=ids).update(status="posted")
    page = owner_client.get(f"/o/{org_a.slug}/accounting/batches/{batch.pk}/").content.decode()
    assert "12 of 40 done" in page
    assert 'value="12"' in page and 'max="40"' in page
    assert "28 documents still queued." in page
    assert "About 1 minute left at the ledger" in page
    # 10,000 waiting: 10,000 / 1,660 documents a minute; one request per document: 20 min.
    assert eta.seconds_left(qbo_ledger, 10_000) == 362
    settings.QBO_BATCH_SIZE = 1
    assert eta.seconds_left(qbo_ledger, 10_000) == 1200


def test_home_shows_coming_soon_ledgers_and_connect_button(owner_client, org_a):
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert "Connect to QuickBooks" in page
    # Xero (issue 18) and QuickBooks Desktop (issue 19) are connectable.
    assert f'href="/o/{org_a.slug}/accounting/xero/connect/"' in page
    assert page.count("Coming soon.") == 0
    assert not LedgerConnection.all_orgs.exists()


def test_order_posting_history_partial_lists_sale_and_label_with_links(org_a, qbo_ledger):
    from django.template.loader import render_to_string

    posting = make_posting(
        org_a,
        status="posted",
        connection=qbo_ledger,
        external_id="321",
        external_number="SS-77",
        deep_link="http://127.0.0.1:9/app/salesreceipt?txnId=321",
    )
    failed = make_posting(org_a, status="failed", connection=qbo_ledger)
    html_text = render_to_string(
        "accounting/_order_posting_history.html", {"order": posting.order, "organization": org_a}
    )
    assert 'href="http://127.0.0.1:9/app/salesreceipt?txnId=321"' in html_text
    assert ">SS-77</a>" in html_text and "Posted" in html_text
    assert failed.document_number not in html_text  # another order's posting
    empty = render_to_string(
        "accounting/_order_posting_history.html",
        {"order": make_order(org_a, lines=[("A", "A", 1, "1.00", False)]), "organization": org_a},
    )
    assert "Not posted yet." in empty


def test_posting_detail_names_each_state_change_in_words(owner_client, org_a):
    from accounting.models import PostingEvent

    posting = make_posting(org_a, status="failed")
    for before, after in (("", "pending"), ("pending", "in_flight"), ("in_flight", "failed")):
        PostingEvent.all_orgs.create(
            organization=org_a, posting=posting, from_status=before, to_status=after
        )
    detail = owner_client.get(f"/o/{org_a.slug}/accounting/postings/{posting.pk}/").content
    text = " ".join(html.unescape(detail.decode()).split())
    assert "— → <strong>Waiting</strong>" in text
    assert "Waiting → <strong>Posting</strong>" in text
    assert "Posting → <strong>Failed</strong>" in text
    assert "in_flight" not in text


def test_dashboard_lists_a_ledger_that_no_longer_accepts_unify(client, org_a, member_of_a):
    from accounting.services.connections import ledger_mark_needs_reauth
    from connections.models import ConnectionStatus, StoreConnection
    from tests.factories import LedgerConnectionFactory

    StoreConnection.all_orgs.create(
        organization=org_a, name="Main", status=ConnectionStatus.NEEDS_CREDENTIALS
    )
    ledger = LedgerConnectionFactory(organization=org_a)
    client.force_login(member_of_a.user)
    page = " ".join(client.get(f"/o/{org_a.slug}/").content.decode().split())
    assert "QuickBooks Online no longer accepts" not in page

    with org_scope(org_a.pk):  # as the posting drain calls it
        assert ledger_mark_needs_reauth(connection_id=ledger.pk)
    page = " ".join(html.unescape(client.get(f"/o/{org_a.slug}/").content.decode()).split())
    attention = page[page.index('data-testid="needs-attention"') :]
    attention = attention[: attention.index("</section>")]
    # Both problems are listed: the connection's keys and the ledger's access.
    assert "<li>Main needs new ShipStation keys.</li>" in attention
    assert (
        "<li>QuickBooks Online no longer accepts Unify's access: reconnect it on the "
        "Accounting tab. Postings wait until then.</li>"
    ) in attention


class PlannedSageProvider(XeroProvider):
    """A ledger the product names before it can be connected: a registry entry whose
    provider is flagged ``planned``."""

    key = "sage"
    name = "Sage"
    planned = True


def test_a_planned_ledger_is_a_registry_entry_shown_as_coming_soon_and_never_connectable(
    owner_client, org_a, settings
):
    from accounting.ledgers.registry import get_provider, ledger_providers
    from sales.services.review import ledgers_available

    settings.UNIFY_LEDGER_PROVIDERS = [
        *settings.UNIFY_LEDGER_PROVIDERS,
        "tests.accounting.test_views.PlannedSageProvider",
    ]
    page = owner_client.get(f"/o/{org_a.slug}/accounting/").content.decode()
    assert 'id="ledger-card-sage"' in page
    assert page.count("Coming soon.") == 1
    assert f'href="/o/{org_a.slug}/accounting/sage/connect/"' not in page
    assert owner_client.get(f"/o/{org_a.slug}/accounting/sage/connect/").status_code == 404
    assert "sage" not in ledger_providers()
    assert "Sage" not in ledgers_available()
    with pytest.raises(LookupError):
        get_provider("sage")
    assert not LedgerConnection.all_orgs.exists()


def test_the_provider_names_its_redirect_uri_and_reads_its_own_callback(settings):
    from accounting.ledgers.registry import get_provider

    qbo, xero, qbd = get_provider("qbo"), get_provider("xero"), get_provider("qbd")
    built = "http://testserver/ledgers/qbo/callback/"
    settings.QBO_REDIRECT_URI = ""
    assert qbo.redirect_uri(built) == built
    settings.QBO_REDIRECT_URI = "https://app.example.com/ledgers/qbo/callback/"
    assert qbo.redirect_uri(built) == "https://app.example.com/ledgers/qbo/callback/"
    assert qbd.redirect_uri(built) == built
    assert qbo.callback_company_id({"realmId": "4620816365", "code": "c"}) == "4620816365"
    assert xero.callback_company_id({"realmId": "4620816365"}) == ""
    settings.QBO_TIMEOUT_READ, settings.XERO_TIMEOUT_READ = 42.0, 17.0
    assert (qbo.read_timeout_seconds(), xero.read_timeout_seconds()) == (42.0, 17.0)
