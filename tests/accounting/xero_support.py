"""The Xero stand-in wired into settings, and connected Xero ledgers with their accounts
mapped (to the stand-in's seeded chart)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounting.ledgers.xero import limits as xero_limits
from accounting.ledgers.xero.adapter import _ACCOUNTS_CACHE
from accounting.ledgers.xero.currency import _BASE_CURRENCY
from accounting.ledgers.xero.references import _KNOWN
from accounting.models import LedgerConnection, LedgerStatus, PostingSettings
from sandbox.xero import ACCOUNT_CODES, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, SECOND_TENANT_ID
from sandbox.xero.seed import account_id


def xero_env(xero) -> dict[str, str]:
    """Environment for a worker subprocess talking to this stand-in."""
    return {
        "XERO_CLIENT_ID": DEMO_CLIENT_ID,
        "XERO_CLIENT_SECRET": DEMO_CLIENT_SECRET,
        "XERO_AUTHORIZE_URL": xero.authorize_url,
        "XERO_TOKEN_URL": xero.token_url,
        "XERO_IDENTITY_BASE_URL": xero.identity_base_url,
        "XERO_API_BASE_URL": xero.api_base_url,
        "XERO_APP_BASE_URL": xero.base_url,
    }


@pytest.fixture
def xero_settings(settings, xero):
    for name, value in xero_env(xero).items():
        setattr(settings, name, value)
    settings.XERO_REDIRECT_URI = ""
    # A fresh stand-in: forget what the shared limiter counted, and the ids this process
    # learned, in earlier tests.
    _ACCOUNTS_CACHE.clear()
    _BASE_CURRENCY.clear()
    _KNOWN.clear()
    for tenant in (xero.tenant_id, SECOND_TENANT_ID):
        xero_limits.reset(tenant)
    return settings


def xero_account(code_name: str, tenant_id: str) -> str:
    return account_id(tenant_id, ACCOUNT_CODES[code_name])


def xero_mapped_settings(connection: LedgerConnection, **overrides) -> PostingSettings:
    tenant = connection.company_id
    values = {
        "document_type": "invoice_payment",
        "product_income_account_id": xero_account("sales", tenant),
        "shipping_income_account_id": xero_account("shipping_income", tenant),
        "discount_account_id": xero_account("discounts", tenant),
        "tax_liability_account_id": xero_account("sales_tax", tenant),
        "deposit_account_id": xero_account("clearing", tenant),
        "shipping_expense_account_id": xero_account("freight", tenant),
        "label_payment_account_id": xero_account("bank", tenant),
        "reconciliation_account_id": xero_account("reconciliation", tenant),
        "document_number_prefix": "SS-",
    }
    values.update(overrides)
    settings_obj, _ = PostingSettings.all_orgs.update_or_create(
        ledger_connection=connection,
        defaults={"organization": connection.organization, **values},
    )
    return settings_obj


def connect_xero(organization, xero, *, tenant_id: str = "", user: str = "", **overrides):
    """A Xero connection holding real tokens of the stand-in, with accounts mapped."""
    tenant = tenant_id or xero.tenant_id
    tokens = xero.issue_tokens([tenant], user=user)
    now = timezone.now()
    connection = LedgerConnection.all_orgs.create(
        organization=organization,
        provider="xero",
        company_id=tenant,
        company_name=xero.organisation(tenant).name,
        status=LedgerStatus.ACTIVE,
        tokens={"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]},
        access_token_expires_at=now + timedelta(seconds=int(tokens["expires_in"])),
        connected_at=now,
    )
    xero_mapped_settings(connection, **overrides)
    return connection


@pytest.fixture
def xero_ledger(org_a, xero, xero_settings) -> LedgerConnection:
    return connect_xero(org_a, xero)
