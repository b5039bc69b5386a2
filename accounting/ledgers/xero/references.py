"""Contacts and items in Xero, found or created in bulk for a batch of documents.

- Customers are found by email (two buyers of one name are two people), else by name; a
  new one is created with its email. When the name is already another contact's (Xero keeps
  contact names unique), a contact with the same email is this buyer, and so is one without
  an email unless Unify's map already gave it to another buyer's email (it is never given
  this buyer's email); otherwise the new contact is named "Jane Doe (jane@example.com)".
- Vendors and per-store customers are found by name, else created.
- Items are Xero items by code (the SKU, when it fits Xero's 30 characters): found, else
  created with the product income account when the settings allow; a line whose item cannot
  be had is posted on its account alone.

Each look-up asks for up to 25 at once (``where`` with ``OR``); each creation is one PUT
with ``summarizeErrors=false`` and an ``Idempotency-Key`` derived from what it creates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from accounting.ledgers.base import ItemRef, PartyRef
from accounting.ledgers.xero.documents import (
    CONTACT_NAME_MAX,
    ITEM_CODE_MAX,
    ITEM_NAME_MAX,
    AccountCodes,
    where_literal,
)
from unify.core.exceptions import ProviderRejected, ProviderResponseInvalid

if TYPE_CHECKING:
    from accounting.ledgers.xero.client import XeroSession

LOOKUP_CHUNK = 25
NAME_TAKEN = "is already assigned to another contact"
# Contacts and items found or made by this process, per organisation: parallel drains of
# one worker share them (each drain's own references load once, when it starts). Like the
# references Unify stores, an id stays valid until someone deletes the record in Xero.
_KNOWN: dict[tuple[str, str], str] = {}
_KNOWN_MAX = 50_000


def request_key(kind: str, parts: Iterable[str]) -> str:
    digest = hashlib.sha256("\n".join(sorted(parts)).encode()).hexdigest()
    return f"unify-{kind}-{digest[:48]}"


def clean_name(name: str, limit: int = CONTACT_NAME_MAX) -> str:
    return " ".join(name.split())[:limit] or "-"


def _chunks(values: Sequence[Any], size: int = LOOKUP_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _rows(body: Any, collection: str) -> list[dict[str, Any]]:
    if not isinstance(body, dict):
        raise ProviderResponseInvalid(f"xero: no {collection} in the answer", provider="xero")
    return [r for r in body.get(collection) or [] if isinstance(r, dict)]


def _party_key(party: PartyRef) -> str:
    return party.match_key or f"party:{party.display_name.casefold()}"


class References:
    def __init__(self, session: XeroSession) -> None:
        self.session = session

    def _known(self, key: str) -> str:
        return _KNOWN.get((self.session.tenant_id, key), "")

    def _learn(self, found: dict[str, str]) -> None:
        if len(_KNOWN) > _KNOWN_MAX:
            _KNOWN.clear()
        for key, value in found.items():
            _KNOWN[(self.session.tenant_id, key)] = value

    # -- contacts -----------------------------------------------------------------------------

    def _find(self, field: str, values: list[str]) -> dict[str, dict[str, Any]]:
        """Active contacts whose ``field`` equals one of ``values`` (case-insensitive)."""
        found: dict[str, dict[str, Any]] = {}
        api = self.session.accounting
        for chunk in _chunks(sorted(set(values))):
            where = " OR ".join(f"{field}=={where_literal(v)}" for v in chunk)
            answer = self.session.call(
                "GET Contacts",
                lambda where=where, **kw: api.get_contacts(
                    self.session.tenant_id, where=where, page=1, **kw
                ),
            )
            for row in _rows(answer.body, "Contacts"):
                if row.get("ContactStatus", "ACTIVE") != "ACTIVE":
                    continue
                value = str(row.get(field) or "").casefold()
                found.setdefault(value, row)
        return found

    def _create(self, elements: list[dict[str, Any]]) -> list[dict[str, Any]]:
        api = self.session.accounting
        key = request_key("c", (f"{e['Name']}\t{e.get('EmailAddress', '')}" for e in elements))
        answer = self.session.call(
            "PUT Contacts",
            lambda **kw: api.create_contacts(
                self.session.tenant_id,
                {"Contacts": elements},
                summarize_errors=False,
                idempotency_key=key,
                **kw,
            ),
        )
        rows = _rows(answer.body, "Contacts") if answer.status == 200 else []
        if len(rows) != len(elements):
            raise ProviderResponseInvalid("xero: contacts answer does not match", provider="xero")
        return rows

    def contacts(
        self, parties: Iterable[PartyRef], resolved: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, ProviderRejected]]:
        """Contact ids by party key (match key, else name), and the parties Xero refused."""
        ids: dict[str, str] = {}
        refused: dict[str, ProviderRejected] = {}
        wanted: dict[str, PartyRef] = {}
        for party in parties:
            key = _party_key(party)
            if party.external_id:
                ids[key] = party.external_id
            elif party.match_key and party.match_key in resolved:
                ids[key] = resolved[party.match_key]
            elif party.match_key and self._known(party.match_key):
                # Learned by another drain of this process, which records it too.
                ids[key] = self._known(party.match_key)
            else:
                wanted.setdefault(key, party)
        if not wanted:
            return ids, refused
        with_email = {k: p for k, p in wanted.items() if p.email.strip()}
        by_email = self._find("EmailAddress", [p.email.strip() for p in with_email.values()])
        missing: dict[str, PartyRef] = {}
        for key, party in wanted.items():
            row = by_email.get(party.email.strip().casefold()) if key in with_email else None
            if row is not None:
                ids[key] = str(row["ContactID"])
            else:
                missing[key] = party
        no_email = {k: p for k, p in missing.items() if k not in with_email}
        if no_email:
            by_name = self._find("Name", [clean_name(p.display_name) for p in no_email.values()])
            for key, party in no_email.items():
                row = by_name.get(clean_name(party.display_name).casefold())
                if row is not None:
                    ids[key] = str(row["ContactID"])
                    del missing[key]
        self._create_missing(missing, ids, refused, resolved)
        for key, contact_id in ids.items():
            party = wanted.get(key)
            if party is not None and party.match_key:
                resolved[party.match_key] = contact_id
        self._learn({p.match_key: ids[k] for k, p in wanted.items() if p.match_key and k in ids})
        return ids, refused

    def _create_missing(
        self,
        missing: dict[str, PartyRef],
        ids: dict[str, str],
        refused: dict[str, ProviderRejected],
        resolved: dict[str, str],
    ) -> None:
        names = {key: clean_name(p.display_name) for key, p in missing.items()}
        # Claims of this batch so far, on top of Unify's map (each party's ``claims``).
        claimed = dict(resolved)
        for round_ in (1, 2):
            if not missing:
                return
            keys = list(missing)
            elements = []
            for key in keys:
                element = {"Name": names[key]}
                if missing[key].email.strip():
                    element["EmailAddress"] = missing[key].email.strip()
                elements.append(element)
            rows = self._create(elements)
            taken: dict[str, PartyRef] = {}
            for key, row in zip(keys, rows, strict=True):
                errors = [str(e.get("Message", "")) for e in row.get("ValidationErrors") or []]
                if not row.get("HasErrors") and not errors:
                    ids[key] = str(row["ContactID"])
                elif round_ == 1 and any(NAME_TAKEN in e for e in errors):
                    taken[key] = missing[key]
                else:
                    refused[key] = _refusal(names[key], errors)
            missing = {}
            if taken:
                holders = self._find("Name", [names[k] for k in taken])
                for key, party in taken.items():
                    holder = holders.get(names[key].casefold())
                    theirs = str((holder or {}).get("EmailAddress") or "").strip().casefold()
                    mine = party.email.strip().casefold()
                    if (
                        holder is not None
                        and (not theirs or not mine or theirs == mine)
                        and not party.claimed_by_another(str(holder["ContactID"]), claimed)
                    ):
                        # Reused as it is (never given this buyer's email); the claim is
                        # Unify's, so another email of that name gets its own contact.
                        ids[key] = str(holder["ContactID"])
                        if party.match_key:
                            claimed[party.match_key] = ids[key]
                    elif mine:
                        # Another buyer of that name: this one is told apart by the email.
                        room = CONTACT_NAME_MAX - len(mine) - 3
                        names[key] = clean_name(f"{names[key][:room]} ({party.email.strip()})")
                        missing[key] = party
                    else:
                        refused[key] = _refusal(names[key], [NAME_TAKEN])

    # -- items --------------------------------------------------------------------------------

    def items(
        self, refs: Iterable[ItemRef], resolved: dict[str, str], accounts: AccountCodes
    ) -> dict[str, str]:
        """Item codes by match key (lines without one go out on their account alone)."""
        codes: dict[str, str] = {}
        wanted: dict[str, ItemRef] = {}
        for ref in refs:
            if not ref.match_key or ref.external_id:
                continue
            if ref.match_key in resolved:
                codes[ref.match_key] = resolved[ref.match_key]
            elif self._known(ref.match_key):
                codes[ref.match_key] = self._known(ref.match_key)
            elif ref.sku and len(ref.sku.strip()) <= ITEM_CODE_MAX:
                wanted.setdefault(ref.match_key, ref)
        if not wanted:
            return codes
        api = self.session.accounting
        found: dict[str, str] = {}
        for chunk in _chunks(sorted({r.sku.strip() for r in wanted.values()})):
            where = " OR ".join(f"Code=={where_literal(c)}" for c in chunk)
            answer = self.session.call(
                "GET Items",
                lambda where=where, **kw: api.get_items(self.session.tenant_id, where=where, **kw),
            )
            for row in _rows(answer.body, "Items"):
                found[str(row.get("Code", "")).casefold()] = str(row.get("Code", ""))
        create: dict[str, dict[str, Any]] = {}
        for key, ref in wanted.items():
            code = found.get(ref.sku.strip().casefold())
            if code:
                codes[key] = code
            elif ref.create_if_missing:
                element: dict[str, Any] = {
                    "Code": ref.sku.strip(),
                    "Name": clean_name(ref.name, ITEM_NAME_MAX),
                }
                if ref.income_account_id:
                    element["SalesDetails"] = accounts.ref(ref.income_account_id)
                create.setdefault(ref.sku.strip().casefold(), element)
        if create:
            elements = list(create.values())
            answer = self.session.call(
                "PUT Items",
                lambda **kw: api.create_items(
                    self.session.tenant_id,
                    {"Items": elements},
                    summarize_errors=False,
                    idempotency_key=request_key("i", (e["Code"] for e in elements)),
                    **kw,
                ),
            )
            made = {
                str(r.get("Code", "")).casefold(): str(r.get("Code", ""))
                for r in _rows(answer.body, "Items")
                if not r.get("HasErrors")
            }
            for key, ref in wanted.items():
                code = made.get(ref.sku.strip().casefold())
                if code and key not in codes:
                    codes[key] = code
        for key in wanted:
            if key in codes:
                resolved[key] = codes[key]
        self._learn({key: codes[key] for key in wanted if key in codes})
        return codes


def _refusal(name: str, errors: list[str]) -> ProviderRejected:
    reason = " ".join(e for e in errors if e) or _("no reason given")
    message = _("Xero refused the contact %(name)s: %(reason)s") % {"name": name, "reason": reason}
    return ProviderRejected(
        f"xero contact: {message}",
        provider="xero",
        field_errors={"ValidationErrors": errors},
        user_message=message[:1000],
    )
