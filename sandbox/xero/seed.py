"""The seeded organisation: a US company with the chart of accounts and tax rates a new Xero
organisation starts with (codes and names as in Xero's demo company), plus the accounts an
online shop adds: a clearing account that takes payments, and shipping income.

Ids are UUIDs derived from the tenant and the code, so they are stable across resets.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

DEFAULT_TENANT_ID = "a46fcb6f-2773-40c4-a119-8aa08bca1e8e"
DEFAULT_ORGANISATION_NAME = "Demo Company (US)"
SECOND_TENANT_ID = "b3c1d0e2-5a7f-4e21-9c3b-2f6d8e9a0b14"
SECOND_ORGANISATION_NAME = "Bolt Bikes Ltd"

_NAMESPACE = uuid.UUID("6f1c7a52-3f4e-4d8a-9a2e-0d8c5b7e3a11")

# (code, name, type, tax type, enable payments to account)
ACCOUNTS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("090", "Business Bank Account", "BANK", "NONE", False),
    ("091", "Business Savings Account", "BANK", "NONE", False),
    ("092", "Credit Card", "BANK", "NONE", False),
    ("200", "Sales", "REVENUE", "OUTPUT", False),
    ("210", "Shipping Income", "REVENUE", "OUTPUT", False),
    ("260", "Other Revenue", "REVENUE", "OUTPUT", False),
    ("270", "Interest Income", "REVENUE", "NONE", False),
    ("280", "Discounts Given", "REVENUE", "OUTPUT", False),
    ("300", "Purchases", "DIRECTCOSTS", "INPUT", False),
    ("310", "Cost of Goods Sold", "DIRECTCOSTS", "INPUT", False),
    ("400", "Advertising", "EXPENSE", "INPUT", False),
    ("404", "Bank Fees", "EXPENSE", "NONE", False),
    ("412", "Consulting & Accounting", "EXPENSE", "INPUT", False),
    ("425", "Freight & Courier", "EXPENSE", "INPUT", False),
    ("429", "General Expenses", "EXPENSE", "INPUT", False),
    ("433", "Insurance", "EXPENSE", "INPUT", False),
    ("453", "Office Expenses", "EXPENSE", "INPUT", False),
    ("469", "Rent", "EXPENSE", "INPUT", False),
    ("485", "Subscriptions", "EXPENSE", "INPUT", False),
    ("489", "Telephone & Internet", "EXPENSE", "INPUT", False),
    ("610", "Accounts Receivable", "CURRENT", "NONE", False),
    ("615", "Sales Clearing", "CURRENT", "NONE", True),
    ("620", "Prepayments", "PREPAYMENT", "NONE", False),
    ("630", "Inventory", "INVENTORY", "NONE", False),
    ("710", "Office Equipment", "FIXED", "INPUT", False),
    ("800", "Accounts Payable", "CURRLIAB", "NONE", False),
    ("820", "Sales Tax", "CURRLIAB", "NONE", False),
    ("830", "Income Tax Payable", "CURRLIAB", "NONE", False),
    ("850", "Suspense", "CURRLIAB", "NONE", False),
    ("860", "Rounding", "CURRLIAB", "NONE", False),
    ("870", "Reconciliation Differences", "CURRLIAB", "NONE", False),
    ("960", "Retained Earnings", "EQUITY", "NONE", False),
    ("970", "Owner A Share Capital", "EQUITY", "NONE", False),
)

_CLASS_OF_TYPE = {
    "BANK": "ASSET",
    "CURRENT": "ASSET",
    "FIXED": "ASSET",
    "INVENTORY": "ASSET",
    "PREPAYMENT": "ASSET",
    "CURRLIAB": "LIABILITY",
    "LIABILITY": "LIABILITY",
    "TERMLIAB": "LIABILITY",
    "EQUITY": "EQUITY",
    "REVENUE": "REVENUE",
    "SALES": "REVENUE",
    "OTHERINCOME": "REVENUE",
    "DIRECTCOSTS": "EXPENSE",
    "EXPENSE": "EXPENSE",
    "OVERHEADS": "EXPENSE",
}

# (tax type, name, rate %, applies to revenue, applies to expenses)
TAX_RATES: tuple[tuple[str, str, str, bool, bool], ...] = (
    ("NONE", "Tax Exempt", "0.00", True, True),
    ("INPUT", "Tax on Purchases", "0.00", False, True),
    ("OUTPUT", "Tax on Sales", "0.00", True, False),
    ("TAX001", "California Sales Tax", "7.25", True, False),
    ("TAX002", "New York Sales Tax", "8.875", True, False),
    ("TAX003", "Texas Sales Tax", "6.25", True, False),
)

CURRENCIES: tuple[tuple[str, str], ...] = (
    ("USD", "United States Dollar"),
    ("CAD", "Canadian Dollar"),
)
# The day rate a document in another currency than the base one takes when it states none,
# in units of that currency per unit of the base currency (1 USD = 1.36 CAD). Not 1, so a
# figure booked unconverted (a manual journal has no currency) shows in a read-back.
DAY_RATES: dict[str, Decimal] = {"CAD": Decimal("1.360000")}

# Codes tests and the demo map to (see tests/accounting/xero_support.py).
ACCOUNT_CODES = {
    "bank": "090",
    "credit_card": "092",
    "sales": "200",
    "shipping_income": "210",
    "discounts": "280",
    "clearing": "615",
    "freight": "425",
    "sales_tax": "820",
    "reconciliation": "870",
}


def account_id(tenant_id: str, code: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{tenant_id}:account:{code}"))


def seed_accounts(tenant_id: str, updated: str) -> list[dict[str, Any]]:
    rows = []
    for code, name, kind, tax_type, payments in ACCOUNTS:
        row: dict[str, Any] = {
            "AccountID": account_id(tenant_id, code),
            "Code": code,
            "Name": name,
            "Status": "ACTIVE",
            "Type": kind,
            "TaxType": tax_type,
            "Class": _CLASS_OF_TYPE[kind],
            "EnablePaymentsToAccount": payments,
            "ShowInExpenseClaims": kind == "EXPENSE",
            "ReportingCode": _CLASS_OF_TYPE[kind][:3],
            "ReportingCodeName": _CLASS_OF_TYPE[kind].title(),
            "HasAttachments": False,
            "UpdatedDateUTC": updated,
            "AddToWatchlist": False,
        }
        if kind == "BANK":
            row.update(
                {
                    "BankAccountNumber": "121212" + code,
                    "BankAccountType": "CREDITCARD" if code == "092" else "BANK",
                    "CurrencyCode": "USD",
                }
            )
        rows.append(row)
    return rows


def seed_tax_rates() -> list[dict[str, Any]]:
    rows = []
    for tax_type, name, rate, revenue, expenses in TAX_RATES:
        value = Decimal(rate)
        rows.append(
            {
                "Name": name,
                "TaxType": tax_type,
                "ReportTaxType": "OUTPUT"
                if revenue and not expenses
                else "INPUT"
                if expenses and not revenue
                else "NONE",
                "CanApplyToAssets": expenses,
                "CanApplyToEquity": tax_type == "NONE",
                "CanApplyToExpenses": expenses,
                "CanApplyToLiabilities": tax_type == "NONE",
                "CanApplyToRevenue": revenue,
                "DisplayTaxRate": value,
                "EffectiveRate": value,
                "Status": "ACTIVE",
                "TaxComponents": [
                    {"Name": name, "Rate": value, "IsCompound": False, "IsNonRecoverable": False}
                ],
            }
        )
    return rows


def organisation_record(tenant_id: str, name: str, created: str) -> dict[str, Any]:
    return {
        "OrganisationID": tenant_id,
        "APIKey": "",
        "Name": name,
        "LegalName": name,
        "PaysTax": True,
        "Version": "US",
        "OrganisationType": "COMPANY",
        "BaseCurrency": "USD",
        "CountryCode": "US",
        "IsDemoCompany": False,
        "OrganisationStatus": "ACTIVE",
        "FinancialYearEndDay": 31,
        "FinancialYearEndMonth": 12,
        "SalesTaxBasis": "ACCRUALS",
        "SalesTaxPeriod": "QUARTERLY",
        "DefaultSalesTax": "Tax Exclusive",
        "DefaultPurchasesTax": "Tax Exclusive",
        "CreatedDateUTC": created,
        "OrganisationEntityType": "COMPANY",
        "Timezone": "PACIFICSTANDARDTIME",
        "ShortCode": "!" + tenant_id[:5],
        "Edition": "BUSINESS",
        "Class": "STANDARD",
        "Addresses": [],
        "Phones": [],
        "ExternalLinks": [],
        "PaymentTerms": {},
    }
