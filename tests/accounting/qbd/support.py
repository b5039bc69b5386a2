"""Helpers for the QuickBooks Desktop tests: a connected organization, its posting settings
mapped to the stand-in company's accounts, orders queued, a Web Connector pointed at the
live server."""

from __future__ import annotations

from accounting.ledgers.qbd.services import Credentials, qbd_connect
from accounting.models import LedgerConnection, PostingSettings
from accounting.services import posting_enqueue_orders
from sandbox.qbwc import Company, WebConnector
from unify.tenancy.scoping import org_scope

ACCOUNTS = {
    "product_income_account_id": "Merchandise Sales",
    "shipping_income_account_id": "Shipping Income",
    "discount_account_id": "Discounts Given",
    "tax_liability_account_id": "Sales Tax Payable",
    "deposit_account_id": "Undeposited Funds",
    "shipping_expense_account_id": "Postage and Delivery",
    "label_payment_account_id": "Checking",
    "reconciliation_account_id": "Reconciliation Discrepancies",
}


def connect(organization) -> Credentials:
    with org_scope(organization.pk):  # as the setup page calls it
        return qbd_connect(organization=organization)


def map_settings(connection: LedgerConnection, company: Company, **overrides) -> PostingSettings:
    """Posting settings with every account mapped to the company's accounts (their ListIDs,
    as the settings form stores them after the Web Connector's first run)."""
    values = {field: company.find("account", name).list_id for field, name in ACCOUNTS.items()}
    values["document_number_prefix"] = "SS-"
    for field, value in overrides.items():
        if field.endswith("_account_id") and value in {a.name for a in company.of_kind("account")}:
            value = company.find("account", value).list_id
        values[field] = value
    settings_obj, _ = PostingSettings.all_orgs.update_or_create(
        ledger_connection=connection,
        defaults={"organization": connection.organization, **values},
    )
    return settings_obj


def enqueue(organization, orders) -> None:
    with org_scope(organization.pk):
        posting_enqueue_orders(organization=organization, order_ids=[o.pk for o in orders])


def web_connector(
    live_server, credentials: Credentials, company: Company, **kwargs
) -> WebConnector:
    kwargs.setdefault("noop_wait", 0.05)
    return WebConnector(
        f"{live_server.url}/qbwc/", credentials.username, credentials.password, company, **kwargs
    )


def catalog_run(live_server, credentials: Credentials, company: Company) -> None:
    """The first Web Connector run reads the accounts and items."""
    result = web_connector(live_server, credentials, company).run()
    assert result.finished, result
