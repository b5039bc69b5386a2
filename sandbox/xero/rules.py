"""Shared rules of Xero writes (amounts, dates, lock dates, contacts, line items) and the
contact and item handlers; the document handlers are in :mod:`sandbox.xero.documents`.

See :mod:`sandbox.xero.books` for how handlers are called.

A handler validates one element against the books, stores the record it makes (recording the
previous state in ``undo``) and returns it; an element that breaks a rule raises
:class:`~sandbox.xero.books.Invalid` with Xero's messages, and changes nothing.

Amounts: line amount = quantity x unit amount (less ``DiscountRate`` %), rounded half-up to
cents; tax = the given ``TaxAmount`` or line amount x rate; totals from the lines. Unit amounts
keep four decimals (``unitdp=4`` is what integrations send).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.xero.books import Invalid, Organisation, money, new_id
from sandbox.xero.seed import DAY_RATES
from sandbox.xero.wire import parse_date

UNIT = Decimal("0.0001")
HUNDRED = Decimal(100)
LINE_AMOUNT_TYPES = ("Exclusive", "Inclusive", "NoTax")
Undo = list[tuple[str, str, dict[str, Any] | None]]


def decimal_of(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        return Decimal(0)
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"{name} must be a number.") from None
    if not number.is_finite():
        raise Invalid(f"{name} must be a number.")
    return number


def date_of(value: Any, name: str = "Date") -> date:
    try:
        day = parse_date(value)
    except ValueError:
        raise Invalid(f"{name} is not a valid date.") from None
    return day or date.today()


def check_locks(org: Organisation, day: date) -> None:
    if org.end_of_year_lock_date and day <= org.end_of_year_lock_date:
        raise Invalid(
            "The document date cannot be before the end of year lock date, currently set at "
            f"{org.end_of_year_lock_date:%d %b %Y}."
        )
    if org.period_lock_date and day <= org.period_lock_date:
        raise Invalid(
            "The document date cannot be before the period lock date, currently set at "
            f"{org.period_lock_date:%d %b %Y}."
        )


def currency_of(org: Organisation, element: dict[str, Any]) -> str:
    code = str(element.get("CurrencyCode") or org.info["BaseCurrency"])
    if code not in org.records["Currencies"]:
        raise Invalid(f"Organisation is not subscribed to currency {code}")
    return code


def currency_rate(org: Organisation, currency: str, element: dict[str, Any]) -> Decimal:
    """The document's ``CurrencyRate``: 1 in the base currency, else the one given or the day
    rate (units of ``currency`` per unit of the base currency), as Xero takes XE.com's."""
    if currency == org.info["BaseCurrency"]:
        return Decimal("1.000000")
    given = element.get("CurrencyRate")
    if given not in (None, "", 0):
        return Decimal(str(given)).quantize(Decimal("0.000001"))
    return DAY_RATES.get(currency, Decimal("1.000000"))


def contact_for(org: Organisation, element: dict[str, Any], undo: Undo) -> dict[str, Any]:
    ref = element.get("Contact")
    if not isinstance(ref, dict) or not (ref.get("ContactID") or ref.get("Name")):
        raise Invalid("A Contact must be specified for this type of transaction")
    if ref.get("ContactID"):
        contact = org.records["Contacts"].get(str(ref["ContactID"]).lower())
        if contact is None:
            raise Invalid(f"The contact with ID '{ref['ContactID']}' could not be found.")
        return contact
    # A contact named but not identified is matched by name, or made (as Xero does).
    found = org.contact_by_name(str(ref["Name"]))
    if found is not None:
        return found
    return save_contact(org, {"Name": ref["Name"]}, existing=None, undo=undo)


def contact_summary(contact: dict[str, Any]) -> dict[str, Any]:
    return {
        "ContactID": contact["ContactID"],
        "Name": contact["Name"],
        "ContactStatus": contact.get("ContactStatus", "ACTIVE"),
        "EmailAddress": contact.get("EmailAddress", ""),
    }


def line_items(
    org: Organisation,
    raw: Any,
    *,
    sales: bool,
    line_amount_types: str,
    exclude_account: str = "",
    collection_name: str = "LineItems",
) -> tuple[list[dict[str, Any]], Decimal, Decimal]:
    """Validated line items with their amounts; (lines, sub total, total tax)."""
    if not isinstance(raw, list) or not raw:
        raise Invalid(f"{collection_name} must contain at least one line item.")
    out: list[dict[str, Any]] = []
    errors: list[str] = []
    sub_total = total_tax = Decimal("0.00")
    for line in raw:
        if not isinstance(line, dict):
            errors.append("A line item could not be read.")
            continue
        item = None
        if line.get("ItemCode"):
            item = org.item_by_code(str(line["ItemCode"]))
            if item is None:
                errors.append(f"Item code '{line['ItemCode']}' is not valid.")
                continue
        code = str(line.get("AccountCode") or "")
        if not code and item is not None:
            details = item.get("SalesDetails" if sales else "PurchaseDetails") or {}
            code = str(details.get("AccountCode") or "")
        account = (
            org.account(code=code) if code else org.account({"AccountID": line.get("AccountID")})
        )
        if account is None or account["Status"] != "ACTIVE":
            errors.append(
                f"Account code '{code}' is not a valid code for this document."
                if code
                else "An account code must be specified for each line item."
            )
            continue
        if account["Type"] == "BANK" or (exclude_account and account["Code"] == exclude_account):
            errors.append(
                f"Account code '{account['Code']}' is not a valid code for this document."
            )
            continue
        tax_type = str(line.get("TaxType") or account.get("TaxType") or "NONE")
        rate_row = org.tax_rate(tax_type)
        if rate_row is None or rate_row["Status"] != "ACTIVE":
            errors.append(
                f"The TaxType code '{tax_type}' does not exist or cannot be used for this type "
                "of transaction."
            )
            continue
        if tax_type != "NONE" and not rate_row["CanApplyTo" + ("Revenue" if sales else "Expenses")]:
            errors.append(
                f"The TaxType code '{tax_type}' cannot be used with account code "
                f"'{account['Code']}'."
            )
            continue
        try:
            quantity = decimal_of(line.get("Quantity", 1) if "Quantity" in line else 1, "Quantity")
            unit = decimal_of(line.get("UnitAmount"), "UnitAmount").quantize(UNIT)
            discount = decimal_of(line.get("DiscountRate"), "DiscountRate")
        except Invalid as exc:
            errors.extend(exc.messages)
            continue
        amount = money(quantity * unit * (HUNDRED - discount) / HUNDRED)
        if line.get("LineAmount") not in (None, ""):
            given = decimal_of(line["LineAmount"], "LineAmount")
            if money(given) != amount:
                errors.append(
                    f"The line total {money(given)} does not match the expected line total "
                    f"{amount}."
                )
                continue
        rate = Decimal(str(rate_row["EffectiveRate"])) / HUNDRED
        if line_amount_types == "NoTax":
            tax = Decimal("0.00")
        elif line.get("TaxAmount") not in (None, ""):
            tax = money(decimal_of(line["TaxAmount"], "TaxAmount"))
        elif line_amount_types == "Inclusive":
            tax = money(amount * rate / (1 + rate))
        else:
            tax = money(amount * rate)
        record = {
            "LineItemID": new_id(),
            "Description": str(line.get("Description") or "")[:4000],
            "Quantity": quantity.quantize(UNIT),
            "UnitAmount": unit,
            "AccountCode": account["Code"],
            "AccountID": account["AccountID"],
            "TaxType": tax_type,
            "TaxAmount": tax,
            "LineAmount": amount,
        }
        if item is not None:
            record["ItemCode"] = item["Code"]
            record["Item"] = {"ItemID": item["ItemID"], "Code": item["Code"], "Name": item["Name"]}
        if discount:
            record["DiscountRate"] = discount
        out.append(record)
        sub_total += amount - (tax if line_amount_types == "Inclusive" else 0)
        total_tax += tax
    if errors:
        raise Invalid(*errors)
    return out, sub_total, total_tax


# -- Contacts ---------------------------------------------------------------------------------


def save_contact(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    name = " ".join(str(element.get("Name") or (existing or {}).get("Name") or "").split())
    if not name:
        raise Invalid("The contact name must be specified.")
    if len(name) > 255:
        raise Invalid("The contact name must not be more than 255 characters long.")
    clash = org.contact_by_name(name)
    if clash is not None and (existing is None or clash["ContactID"] != existing["ContactID"]):
        raise Invalid(
            f"The contact name {name} is already assigned to another contact. The contact name "
            "must be unique across all active contacts."
        )
    record = dict(existing or {})
    record.update(
        {
            "ContactID": (existing or {}).get("ContactID") or new_id(),
            "ContactStatus": str(
                element.get("ContactStatus") or record.get("ContactStatus") or "ACTIVE"
            ),
            "Name": name,
            "EmailAddress": str(element.get("EmailAddress", record.get("EmailAddress", "")) or ""),
            "FirstName": str(element.get("FirstName", record.get("FirstName", "")) or ""),
            "LastName": str(element.get("LastName", record.get("LastName", "")) or ""),
            "IsSupplier": bool(record.get("IsSupplier", False)),
            "IsCustomer": bool(record.get("IsCustomer", False)),
            "Addresses": element.get("Addresses") or record.get("Addresses") or [],
            "Phones": element.get("Phones") or record.get("Phones") or [],
            "HasAttachments": False,
        }
    )
    return org.store("Contacts", record, undo)


# -- Items ------------------------------------------------------------------------------------


def save_item(
    org: Organisation, element: dict[str, Any], *, existing: dict[str, Any] | None, undo: Undo
) -> dict[str, Any]:
    code = str(element.get("Code") or (existing or {}).get("Code") or "").strip()
    name = str(element.get("Name") or (existing or {}).get("Name") or code).strip()
    errors = []
    if not code:
        errors.append("Item Code must be specified.")
    elif len(code) > 30:
        errors.append("Item Code must not be more than 30 characters long.")
    if len(name) > 50:
        errors.append("Item Name must not be more than 50 characters long.")
    clash = org.item_by_code(code) if code else None
    if clash is not None and (existing is None or clash["ItemID"] != existing["ItemID"]):
        errors.append("Please enter a unique Code.")
    details: dict[str, dict[str, Any]] = {}
    for key in ("SalesDetails", "PurchaseDetails"):
        given = element.get(key)
        if not isinstance(given, dict):
            continue
        account_code = str(given.get("AccountCode") or "")
        if account_code:
            account = org.account(code=account_code)
            if account is None or account["Type"] == "BANK":
                errors.append(f"Account code '{account_code}' is not a valid code for this item.")
        details[key] = {
            "UnitPrice": money(decimal_of(given.get("UnitPrice"), "UnitPrice")),
            "AccountCode": account_code,
            "TaxType": str(given.get("TaxType") or ""),
        }
    if errors:
        raise Invalid(*errors)
    record = dict(existing or {})
    record.update(
        {
            "ItemID": (existing or {}).get("ItemID") or new_id(),
            "Code": code,
            "Name": name,
            "Description": str(element.get("Description") or record.get("Description") or ""),
            "IsSold": "SalesDetails" in details or bool(record.get("IsSold")),
            "IsPurchased": "PurchaseDetails" in details or bool(record.get("IsPurchased")),
            "IsTrackedAsInventory": False,
            **details,
        }
    )
    return org.store("Items", record, undo)
