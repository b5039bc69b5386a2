"""Finding or creating customers, vendors and items by name (a 6240 "duplicate name" on
create means someone made it meanwhile: the answer is a query), and our documents by
number and marker."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from quickbooks import exceptions as qbe

from accounting.ledgers.base import DocumentKind, ExternalRef, ItemRef, PartyRef
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import items as qbo_items
from accounting.ledgers.qbo import own_items
from accounting.ledgers.qbo.calls import QboCalls
from accounting.ledgers.qbo.client import QboClient
from accounting.ledgers.qbo.entities import (
    _ENTITY_NAMES,
    DUPLICATE_NAME,
    ENTITY_FOR_KIND,
    MAX_NAME_CANDIDATES,
    _entity_request_id,
    _ref,
    _same_buyer,
    _with_suffix,
    clean_name,
    quote,
)
from unify.core.exceptions import ProviderRejected
from unify.core.stored_text import gettext as _


class QboLookups(QboCalls):
    def _find_or_create_party(
        self, client: QboClient, entity: str, party: PartyRef, resolved: dict[str, str]
    ) -> str:
        if party.external_id:
            return party.external_id
        if party.match_key and party.match_key in resolved:
            return resolved[party.match_key]
        name = clean_name(party.display_name)
        email = party.email.strip() if entity == "Customer" else ""
        # Create first, query on 6240: a new buyer (the usual case) costs one request, one
        # that exists costs two, and two workers creating the same one both end up with it.
        # A customer of that name with another email is another buyer: never merged, the
        # name is qualified with the email instead ("Jane Doe (jane@example.com)"). So is one
        # without an email that Unify's map already gave to another buyer's email.
        candidates = [name]
        taken_by_others = 0
        found = ""
        while candidates and len(candidates) <= MAX_NAME_CANDIDATES:
            candidate = candidates[-1]
            body: dict[str, Any] = {"DisplayName": candidate}
            if email:
                body["PrimaryEmailAddr"] = {"Address": email}
            try:
                created = self._create(
                    client, entity, body, _entity_request_id(entity, candidate, email)
                )
                found = str(created["Id"])
                break
            except qbe.QuickbooksException as exc:
                if qbo_faults.fault_code(exc) != DUPLICATE_NAME:
                    raise self._rejected(exc, f"{entity} {candidate}") from None
            # QBO's query language, not SQL; values go through quote().
            select = f"SELECT * FROM {entity} WHERE DisplayName = {quote(candidate)}"  # noqa: S608
            rows = self._rows(self._query(client, select), entity)
            if (
                rows
                and _same_buyer(rows[0], email)
                and not party.claimed_by_another(str(rows[0]["Id"]), resolved)
            ):
                # Reused as it is: the buyer's email is never written onto it, and Unify's
                # map records the claim, so no second email gets it.
                found = str(rows[0]["Id"])
                break
            if rows:
                taken_by_others += 1
                number = f" {taken_by_others}" if taken_by_others > 1 else ""
                candidates.append(_with_suffix(name, f" ({email}){number}"))
            elif f"({entity.lower()})" not in candidate:
                # The name belongs to a vendor or employee: try the qualified name.
                candidates.append(_with_suffix(candidate, f" ({entity.lower()})"))
            else:
                break
        if not found:
            raise self._error(
                ProviderRejected,
                f"qbo {entity} {name}: name taken",
                user_message=_(
                    "QuickBooks has no %(entity)s named “%(name)s” and refuses to create one "
                    "(the name is used by another customer, vendor or employee)."
                )
                % {"entity": _ENTITY_NAMES.get(entity, entity.lower()), "name": name},
            )
        if party.match_key:
            resolved[party.match_key] = found
        return found

    def _find_or_create_item(
        self, client: QboClient, item: ItemRef, resolved: dict[str, str], item_type: str
    ) -> str:
        if item.external_id:
            return item.external_id
        if item.match_key and item.match_key in resolved:
            return resolved[item.match_key]
        if item.account_bound and item.income_account_id:
            return own_items.own_item(self, client, item, resolved, item_type)
        sku = (item.sku or "").strip()[:100]
        name = qbo_items.item_name(item.name, sku) if sku else clean_name(item.name)
        select = f"SELECT * FROM Item WHERE Name = {quote(name)}"  # noqa: S608 - QBO, quoted
        if sku:
            # By its Sku first: the merchant's item may carry another name.
            by_sku = f"SELECT * FROM Item WHERE Sku = {quote(sku)}"  # noqa: S608 - quoted
            rows = [
                r for r in self._rows(self._query(client, by_sku), "Item") if r.get("Active", True)
            ]
            if rows:
                found = str(rows[0]["Id"])
                if item.match_key:
                    resolved[item.match_key] = found
                return found
        if not item.create_if_missing:
            rows = self._rows(self._query(client, select), "Item")
            if not rows:
                raise self._error(
                    ProviderRejected,
                    f"qbo item {name}: not found",
                    user_message=_(
                        "QuickBooks has no product or service named “%(name)s”. Create it "
                        "there, choose a default item, or allow Unify to create missing items."
                    )
                    % {"name": name},
                )
            found = str(rows[0]["Id"])
        else:
            body: dict[str, Any] = {
                "Name": name,
                "Type": item_type,
                "IncomeAccountRef": _ref(item.income_account_id),
            }
            if sku:
                body["Sku"] = sku
            found = ""
            for _attempt in (1, 2):
                try:
                    created = self._create(client, "Item", body, _entity_request_id("Item", name))
                    found = str(created["Id"])
                    break
                except qbe.QuickbooksException as exc:
                    if qbo_faults.fault_code(exc) != DUPLICATE_NAME:
                        raise self._rejected(exc, f"Item {name}") from None
                    # It exists already (in the merchant's catalog, or made by another worker).
                    rows = self._rows(self._query(client, select), "Item")
                    if rows and qbo_items.same_sku(rows[0], sku):
                        found = str(rows[0]["Id"])
                        break
                    if not rows or not sku or _attempt == 2:
                        raise self._rejected(exc, f"Item {name}") from None
                    # The name is another SKU's item: this SKU's own, suffixed name.
                    name = qbo_items.item_name(item.name, sku, taken=True)
                    body["Name"] = name
                    select = f"SELECT * FROM Item WHERE Name = {quote(name)}"  # noqa: S608
        if item.match_key:
            resolved[item.match_key] = found
        return found

    def _find(
        self, client: QboClient, kind: DocumentKind, reference: str, marker: str
    ) -> dict[str, Any] | None:
        entity = ENTITY_FOR_KIND[kind]
        select = f"SELECT * FROM {entity} WHERE DocNumber = {quote(reference)}"  # noqa: S608
        rows = self._rows(self._query(client, select), entity)
        for row in rows:
            if not marker or marker in (row.get("PrivateNote") or ""):
                return row
        return None

    def find_document(
        self, *, kind: DocumentKind, reference: str, marker: str
    ) -> ExternalRef | None:
        def run(client: QboClient) -> ExternalRef | None:
            row = self._find(client, kind, reference, marker)
            if row is None:
                return None
            total = row.get("TotalAmt")
            return ExternalRef(
                external_id=str(row["Id"]),
                number=str(row.get("DocNumber", "")),
                revision=str(row.get("SyncToken", "")),
                total=Decimal(str(total)) if total is not None else None,
            )

        return self.call(run)
