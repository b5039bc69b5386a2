"""The seeded company every realm starts with: a US sandbox company as Intuit creates it.

Ids are fixed so tests and the demo can name them; the names are what a bookkeeper sees in
the settings dropdowns.
"""

from __future__ import annotations

from typing import Any

DEFAULT_REALM_ID = "9341453474484455"
DEFAULT_COMPANY_NAME = "Sandbox Company_US_1"

# AccountType -> Classification, as QBO derives it.
CLASSIFICATION = {
    "Bank": "Asset",
    "Other Current Asset": "Asset",
    "Fixed Asset": "Asset",
    "Other Asset": "Asset",
    "Accounts Receivable": "Asset",
    "Equity": "Equity",
    "Expense": "Expense",
    "Other Expense": "Expense",
    "Cost of Goods Sold": "Expense",
    "Accounts Payable": "Liability",
    "Credit Card": "Liability",
    "Long Term Liability": "Liability",
    "Other Current Liability": "Liability",
    "Income": "Revenue",
    "Other Income": "Revenue",
}

# AccountType -> the sub-type QBO picks when none is given.
DEFAULT_SUBTYPE = {
    "Bank": "CashOnHand",
    "Other Current Asset": "OtherCurrentAssets",
    "Fixed Asset": "OtherFixedAssets",
    "Other Asset": "OtherLongTermAssets",
    "Accounts Receivable": "AccountsReceivable",
    "Equity": "OwnersEquity",
    "Expense": "OtherMiscellaneousServiceCost",
    "Other Expense": "OtherMiscellaneousExpense",
    "Cost of Goods Sold": "SuppliesMaterialsCogs",
    "Accounts Payable": "AccountsPayable",
    "Credit Card": "CreditCard",
    "Long Term Liability": "OtherLongTermLiabilities",
    "Other Current Liability": "OtherCurrentLiabilities",
    "Income": "SalesOfProductIncome",
    "Other Income": "OtherMiscellaneousIncome",
}

# (Id, Name, AccountType, AccountSubType)
ACCOUNTS: tuple[tuple[str, str, str, str], ...] = (
    ("1", "Services", "Income", "ServiceFeeIncome"),
    ("2", "Opening Balance Equity", "Equity", "OpeningBalanceEquity"),
    ("3", "Retained Earnings", "Equity", "RetainedEarnings"),
    ("4", "Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
    ("7", "Advertising", "Expense", "AdvertisingPromotional"),
    ("15", "Bank Charges", "Expense", "BankCharges"),
    ("33", "Accounts Payable (A/P)", "Accounts Payable", "AccountsPayable"),
    ("35", "Checking", "Bank", "Checking"),
    ("36", "Savings", "Bank", "Savings"),
    ("41", "Mastercard", "Credit Card", "CreditCard"),
    ("42", "Visa", "Credit Card", "CreditCard"),
    ("79", "Sales of Product Income", "Income", "SalesOfProductIncome"),
    ("80", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
    ("81", "Inventory Asset", "Other Current Asset", "Inventory"),
    ("83", "Shipping Income", "Income", "OtherPrimaryIncome"),
    ("84", "Accounts Receivable (A/R)", "Accounts Receivable", "AccountsReceivable"),
    ("86", "Discounts given", "Income", "DiscountsRefundsGiven"),
    ("89", "Sales Tax Payable", "Other Current Liability", "SalesTaxPayable"),
    ("90", "Shipping and Postage", "Expense", "ShippingFreightDelivery"),
    ("91", "Merchant Account Fees", "Expense", "BankCharges"),
    ("92", "Reconciliation Discrepancies", "Other Expense", "OtherMiscellaneousExpense"),
    ("93", "Uncategorized Income", "Income", "OtherPrimaryIncome"),
    ("94", "Uncategorized Expense", "Expense", "OtherMiscellaneousServiceCost"),
    ("95", "PayPal Bank", "Bank", "Checking"),
)

ACCOUNT_IDS = {name: account_id for account_id, name, _, _ in ACCOUNTS}
UNDEPOSITED_FUNDS_ID = "4"
ACCOUNTS_PAYABLE_ID = "33"
ACCOUNTS_RECEIVABLE_ID = "84"
DISCOUNTS_GIVEN_ID = "86"

# (Id, Name, Type, IncomeAccountRef id, Description, UnitPrice, Sku)
ITEMS: tuple[tuple[str, str, str, str, str, str, str | None], ...] = (
    ("1", "Services", "Service", "1", "", "0", None),
    ("2", "Sales", "NonInventory", "79", "Default item for product sales", "0", None),
    ("3", "Shipping", "Service", "83", "Shipping and handling", "0", None),
    ("4", "Hours", "Service", "1", "", "0", None),
)
ITEM_IDS = {name: item_id for item_id, name, *_ in ITEMS}
DEFAULT_ITEM_ID = "1"  # QBO puts "Services" on a sales line that names no item

# (Id, DisplayName, CompanyName)
VENDORS: tuple[tuple[str, str, str], ...] = (
    ("56", "ShipStation", "ShipStation"),
    ("57", "USPS", "United States Postal Service"),
    ("58", "UPS", "United Parcel Service"),
    ("59", "FedEx", "FedEx Corporation"),
    ("60", "DHL Express", "DHL Express"),
)
VENDOR_IDS = {name: vendor_id for vendor_id, name, _ in VENDORS}

# (Id, DisplayName, GivenName, FamilyName, email)
CUSTOMERS: tuple[tuple[str, str, str, str, str], ...] = (
    ("1", "Amy's Bird Sanctuary", "Amy", "Lauterbach", "Birds@Intuit.com"),
    ("2", "Bill's Windsurf Shop", "Bill", "Lucchini", "Surf@Intuit.com"),
    ("3", "Walk-in Customer", "", "", ""),
)

# (Id, Name, Type)
PAYMENT_METHODS: tuple[tuple[str, str, str], ...] = (
    ("1", "Cash", "NON_CREDIT_CARD"),
    ("2", "Check", "NON_CREDIT_CARD"),
    ("3", "Visa", "CREDIT_CARD"),
    ("4", "MasterCard", "CREDIT_CARD"),
    ("5", "American Express", "CREDIT_CARD"),
    ("6", "Discover", "CREDIT_CARD"),
    ("7", "PayPal", "NON_CREDIT_CARD"),
)

SEED_TIME = "2024-01-15T09:12:41-08:00"


def _meta() -> dict[str, str]:
    return {"CreateTime": SEED_TIME, "LastUpdatedTime": SEED_TIME}


def _base(record_id: str) -> dict[str, Any]:
    return {
        "domain": "QBO",
        "sparse": False,
        "Id": record_id,
        "SyncToken": "0",
        "MetaData": _meta(),
    }


def seed_records() -> dict[str, dict[str, dict[str, Any]]]:
    """Entity name -> Id -> record, for a fresh company."""
    from decimal import Decimal

    usd = {"value": "USD", "name": "United States Dollar"}
    accounts = {}
    for account_id, name, account_type, subtype in ACCOUNTS:
        accounts[account_id] = {
            "Name": name,
            "SubAccount": False,
            "FullyQualifiedName": name,
            "Active": True,
            "Classification": CLASSIFICATION[account_type],
            "AccountType": account_type,
            "AccountSubType": subtype,
            "CurrentBalance": Decimal("0.00"),
            "CurrentBalanceWithSubAccounts": Decimal("0.00"),
            "CurrencyRef": dict(usd),
            **_base(account_id),
        }
    items = {}
    for item_id, name, item_type, income_id, description, price, sku in ITEMS:
        record: dict[str, Any] = {
            "Name": name,
            "Active": True,
            "FullyQualifiedName": name,
            "Taxable": False,
            "UnitPrice": Decimal(price),
            "Type": item_type,
            "IncomeAccountRef": {"value": income_id, "name": accounts[income_id]["Name"]},
            "PurchaseCost": Decimal("0"),
            "TrackQtyOnHand": False,
            **_base(item_id),
        }
        if description:
            record["Description"] = description
        if sku:
            record["Sku"] = sku
        items[item_id] = record
    vendors = {}
    for vendor_id, name, company in VENDORS:
        vendors[vendor_id] = {
            "Balance": Decimal("0.00"),
            "Vendor1099": False,
            "CurrencyRef": dict(usd),
            "CompanyName": company,
            "DisplayName": name,
            "PrintOnCheckName": company,
            "Active": True,
            **_base(vendor_id),
        }
    customers = {}
    for customer_id, name, given, family, email in CUSTOMERS:
        record = {
            "Taxable": True,
            "Job": False,
            "BillWithParent": False,
            "Balance": Decimal("0.00"),
            "BalanceWithJobs": Decimal("0.00"),
            "CurrencyRef": dict(usd),
            "PreferredDeliveryMethod": "Print",
            "IsProject": False,
            "FullyQualifiedName": name,
            "CompanyName": name,
            "DisplayName": name,
            "PrintOnCheckName": name,
            "Active": True,
            **_base(customer_id),
        }
        if given:
            record["GivenName"] = given
        if family:
            record["FamilyName"] = family
        if email:
            record["PrimaryEmailAddr"] = {"Address": email}
        customers[customer_id] = record
    methods = {
        method_id: {"Name": name, "Active": True, "Type": kind, **_base(method_id)}
        for method_id, name, kind in PAYMENT_METHODS
    }
    tax_codes = {
        "TAX": {
            "Name": "TAX",
            "Description": "TAX",
            "Taxable": True,
            "TaxGroup": False,
            "Active": True,
            "Hidden": False,
            **_base("TAX"),
        },
        "NON": {
            "Name": "NON",
            "Description": "NON",
            "Taxable": False,
            "TaxGroup": False,
            "Active": True,
            "Hidden": False,
            **_base("NON"),
        },
    }
    return {
        "Account": accounts,
        "Customer": customers,
        "Vendor": vendors,
        "Item": items,
        "PaymentMethod": methods,
        "TaxCode": tax_codes,
    }


def company_info(realm_id: str, name: str) -> dict[str, Any]:
    address = {
        "Id": "1",
        "Line1": "123 Sierra Way",
        "City": "San Pablo",
        "CountrySubDivisionCode": "CA",
        "PostalCode": "87999",
        "Lat": "36.6788345",
        "Long": "-5.4464622",
    }
    return {
        "CompanyName": name,
        "LegalName": name,
        "CompanyAddr": dict(address),
        "CustomerCommunicationAddr": dict(address),
        "LegalAddr": dict(address),
        "PrimaryPhone": {},
        "CompanyStartDate": "2024-01-15",
        "FiscalYearStartMonth": "January",
        "Country": "US",
        "Email": {"Address": "noreply@quickbooks.com"},
        "WebAddr": {},
        "SupportedLanguages": "en",
        "NameValue": [
            {"Name": "NeoEnabled", "Value": "true"},
            {"Name": "IndustryType", "Value": "Retail"},
            {"Name": "CompanyType", "Value": "Limited Liability"},
            {"Name": "SubscriptionStatus", "Value": "SUBSCRIBED"},
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "PayrollFeature", "Value": "false"},
            {"Name": "AccountantFeature", "Value": "false"},
            {"Name": "IsQbdtMigrated", "Value": "false"},
            {"Name": "AssignedTime", "Value": SEED_TIME},
        ],
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "3",
        "MetaData": {"CreateTime": SEED_TIME, "LastUpdatedTime": SEED_TIME},
    }


def preferences() -> dict[str, Any]:
    return {
        "EmailMessagesPrefs": {
            "InvoiceMessage": {"Subject": "Invoice from Sandbox Company", "Message": ""},
            "SalesReceiptMessage": {"Subject": "Sales Receipt", "Message": ""},
        },
        "ProductAndServicesPrefs": {
            "ForSales": True,
            "ForPurchase": True,
            "QuantityWithPriceAndRate": True,
            "QuantityOnHand": True,
        },
        "ReportPrefs": {"ReportBasis": "Accrual", "CalcAgingReportFromTxnDate": False},
        "AccountingInfoPrefs": {
            "TrackDepartments": False,
            "ClassTrackingPerTxn": False,
            "ClassTrackingPerTxnLine": False,
            "FirstMonthOfFiscalYear": "January",
            "UseAccountNumbers": False,
            "TaxYearMonth": "January",
            "CustomerTerminology": "Customers",
        },
        "SalesFormsPrefs": {
            "CustomField": [],
            "AllowDeposit": True,
            "AllowDiscount": True,
            "DefaultDiscountAccount": DISCOUNTS_GIVEN_ID,
            "AllowEstimates": True,
            "ETransactionEnabledStatus": "NotApplicable",
            "ETransactionAttachPDF": False,
            "ETransactionPaymentEnabled": False,
            "IPNSupportEnabled": False,
            "AllowServiceDate": False,
            "AllowShipping": True,
            "DefaultShippingAccount": "83",
            "CustomTxnNumbers": True,
            "DefaultTerms": {"value": "3"},
            "EmailCopyToCompany": False,
            "UsingPriceLevels": False,
            "UsingProgressInvoicing": False,
            "AutoApplyCredit": True,
            "AutoApplyPayments": True,
            "PrintItemWithZeroAmount": True,
        },
        "VendorAndPurchasesPrefs": {
            "TrackingByCustomer": True,
            "BillableExpenseTracking": True,
            "DefaultTerms": {"value": "3"},
            "DefaultMarkupAccount": {"value": "93"},
            "POCustomField": [],
        },
        "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        "OtherPrefs": {
            "NameValue": [
                {"Name": "SalesFormsPrefs.DefaultCustomerMessage", "Value": ""},
                {"Name": "SalesFormsPrefs.DefaultItem", "Value": "1"},
                {"Name": "DTXCopyMemo", "Value": "false"},
                {"Name": "UncategorizedAssetAccountId", "Value": "81"},
                {"Name": "UncategorizedIncomeAccountId", "Value": "93"},
                {"Name": "UncategorizedExpenseAccountId", "Value": "94"},
                {"Name": "WarnDuplicateCheckNumber", "Value": "true"},
                {"Name": "WarnDuplicateBillNumber", "Value": "false"},
            ]
        },
        "TimeTrackingPrefs": {
            "UseServices": True,
            "BillCustomers": True,
            "ShowBillRateToAll": False,
            "WorkWeekStartDate": "Monday",
            "MarkTimeEntriesBillable": True,
        },
        "CurrencyPrefs": {
            "MultiCurrencyEnabled": False,
            "HomeCurrency": {"value": "USD"},
        },
        "domain": "QBO",
        "sparse": False,
        "Id": "1",
        "SyncToken": "5",
        "MetaData": {"CreateTime": SEED_TIME, "LastUpdatedTime": SEED_TIME},
    }
