"""Customers, vendors and items of a whole batch of documents, resolved before the documents
are built: a few requests for all of them instead of one or two per new name.

1. Names not known yet are looked up together, up to ``NAMES_PER_QUERY`` per query
   (``SELECT * FROM Customer WHERE DisplayName IN (...)``; items by ``Sku IN (...)``). Intuit's
   query language takes ``IN`` with a list of values ("Query operations and syntax",
   docs/reference/provider-facts.md).
2. What is missing is created in ``/batch`` requests of up to 30 creates, or, when there
   are fewer than ``BATCH_CREATES_FROM`` and the batch lane has no grant free, one request
   each (a batch request is then scarcer than single ones).
   Distinct names do not depend on each other, so the rule that items of one batch do not
   see each other's results does not matter here; the documents that need them go in later
   requests.
3. Whatever is not settled by this (a name found that belongs to another buyer, a create
   refused, a name twice in one call, own items bound to an account) is left alone: the
   document's own find-or-create (``QboAdapter._find_or_create_party`` / ``_item``) does it
   as before. A name is unique in QuickBooks, so a create that reached QuickBooks but whose
   answer was lost is found there (duplicate name, then a query), never made twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from quickbooks import exceptions as qbe

from accounting.ledgers.base import Document, ExpenseDocument, ItemRef, PartyRef, SaleDocument
from accounting.ledgers.qbo import items as qbo_items
from accounting.ledgers.qbo import limits as lane_limits
from accounting.ledgers.qbo.client import QboClient, dumps
from unify.core.ratelimit import default_backend

if TYPE_CHECKING:
    from accounting.ledgers.qbo.adapter import QboAdapter

logger = logging.getLogger("unify.qbo")

NAMES_PER_QUERY = 30
CREATES_PER_BATCH = 30
# What is missing goes in a batch request of its own from this many creates; fewer only
# while the batch lane has a grant free, else one per request. A batch request is one of the
# 40 a minute, each worth 30 documents: while a backlog keeps the lane busy, spending one on
# two or three creates would cost more of Intuit's limits than the single requests it saves.
BATCH_CREATES_FROM = 15


@dataclass(slots=True)
class _Wanted:
    entity: str  # Customer, Vendor, Item
    key: str  # the match key the id is remembered under
    name: str  # the QuickBooks name (DisplayName, or the item's Name)
    body: dict[str, Any]  # its create body (None-free)
    party: PartyRef | None = None
    sku: str = ""


def _parties(docs: Sequence[Document]) -> list[tuple[str, PartyRef]]:
    found: list[tuple[str, PartyRef]] = []
    for doc in docs:
        if isinstance(doc, SaleDocument):
            found.append(("Customer", doc.customer))
        elif isinstance(doc, ExpenseDocument):
            found.append(("Vendor", doc.vendor))
    return found


def _items(docs: Sequence[Document]) -> list[tuple[str, ItemRef]]:
    """The items of the sales, with the type the document path creates them with."""
    found: list[tuple[str, ItemRef]] = []
    for doc in docs:
        if not isinstance(doc, SaleDocument):
            continue
        found.extend(("NonInventory", line.item) for line in doc.lines)
        if doc.shipping is not None:
            found.append(("Service", doc.shipping.item))
        if doc.tax and doc.tax_account_id and doc.tax_item is not None:
            found.append(("Service", doc.tax_item))
        if doc.difference is not None and doc.difference.item is not None:
            found.append(("Service", doc.difference.item))
    return found


def _wanted_parties(docs: Sequence[Document], resolved: dict[str, str]) -> list[_Wanted]:
    from accounting.ledgers.qbo.entities import clean_name

    wanted: dict[str, _Wanted] = {}
    names_seen: dict[str, int] = {}
    for entity, party in _parties(docs):
        if party.external_id or not party.match_key or party.match_key in resolved:
            continue
        if party.match_key in wanted:
            continue
        name = clean_name(party.display_name)
        names_seen[name.casefold()] = names_seen.get(name.casefold(), 0) + 1
        body: dict[str, Any] = {"DisplayName": name}
        email = party.email.strip() if entity == "Customer" else ""
        if email:
            body["PrimaryEmailAddr"] = {"Address": email}
        wanted[party.match_key] = _Wanted(entity, party.match_key, name, body, party=party)
    # Two buyers of one name (other emails): each needs the document path's care.
    return [w for w in wanted.values() if names_seen[w.name.casefold()] == 1]


def _wanted_items(docs: Sequence[Document], resolved: dict[str, str]) -> list[_Wanted]:
    wanted: dict[str, _Wanted] = {}
    skus: dict[str, int] = {}
    for item_type, item in _items(docs):
        sku = (item.sku or "").strip()[:100]
        if item.external_id or not item.match_key or item.match_key in resolved or not sku:
            continue
        if item.account_bound and item.income_account_id:
            continue  # Unify's own item for an account (own_items.py)
        if item.match_key in wanted:
            continue
        skus[sku.casefold()] = skus.get(sku.casefold(), 0) + 1
        body: dict[str, Any] = {}
        if item.create_if_missing:
            body = {
                "Name": qbo_items.item_name(item.name, sku),
                "Type": item_type,
                "IncomeAccountRef": {"value": item.income_account_id},
                "Sku": sku,
            }
        wanted[item.match_key] = _Wanted(
            "Item", item.match_key, body.get("Name", ""), body, sku=sku
        )
    return [w for w in wanted.values() if skus[w.sku.casefold()] == 1]


def _chunks(values: list[Any], size: int) -> list[list[Any]]:
    return [values[i : i + size] for i in range(0, len(values), size)]


def _rows(adapter: QboAdapter, client: QboClient, entity: str, field: str, values: list[str]):
    from accounting.ledgers.qbo.entities import quote

    rows: list[dict[str, Any]] = []
    for chunk in _chunks(sorted(set(values)), NAMES_PER_QUERY):
        listed = ", ".join(quote(v) for v in chunk)
        # QBO's query language, not SQL; every value goes through quote().
        select = f"SELECT * FROM {entity} WHERE {field} IN ({listed}) MAXRESULTS 1000"  # noqa: S608
        rows.extend(adapter._rows(adapter._query(client, select), entity))
    return rows


def _look_up(
    adapter: QboAdapter, client: QboClient, wanted: list[_Wanted], resolved: dict[str, str]
) -> list[_Wanted]:
    """Settle what QuickBooks has already; returns what is missing there."""
    from accounting.ledgers.qbo.entities import _same_buyer

    missing: list[_Wanted] = []
    for entity in ("Customer", "Vendor"):
        mine = [w for w in wanted if w.entity == entity]
        if not mine:
            continue
        by_name: dict[str, dict[str, Any]] = {}
        for row in _rows(adapter, client, entity, "DisplayName", [w.name for w in mine]):
            by_name.setdefault(str(row.get("DisplayName", "")).casefold(), row)
        for w in mine:
            row = by_name.get(w.name.casefold())
            if row is None:
                missing.append(w)
                continue
            email = w.party.email.strip() if (w.party and entity == "Customer") else ""
            assert w.party is not None
            if _same_buyer(row, email) and not w.party.claimed_by_another(str(row["Id"]), resolved):
                resolved[w.key] = str(row["Id"])
            # else: another buyer's, or another entity's name: the document path qualifies it.
    items = [w for w in wanted if w.entity == "Item"]
    if items:
        by_sku: dict[str, dict[str, Any]] = {}
        for row in _rows(adapter, client, "Item", "Sku", [w.sku for w in items]):
            if row.get("Active", True):
                by_sku.setdefault(str(row.get("Sku") or "").strip().casefold(), row)
        for w in items:
            row = by_sku.get(w.sku.casefold())
            if row is not None:
                resolved[w.key] = str(row["Id"])
            elif w.body:  # allowed to create it
                missing.append(w)
    return missing


def _create(
    adapter: QboAdapter, client: QboClient, missing: list[_Wanted], resolved: dict[str, str]
) -> None:
    for chunk in _chunks(missing, CREATES_PER_BATCH):
        items = [
            {"bId": str(n), "operation": "create", w.entity: w.body} for n, w in enumerate(chunk)
        ]
        body = dumps({"BatchItemRequest": items})
        # The same creates sent again (an answer lost) are replayed by QuickBooks.
        request_id = "unify-refs-" + hashlib.sha256(body.encode()).hexdigest()[:32]
        url = f"{client.api_url}/company/{client.company_id}/batch"
        try:
            answer = client.make_request("POST", url, body, request_id=request_id)
        except qbe.QuickbooksException as exc:
            raise adapter._rejected(exc, "the batch") from None
        answers = answer.get("BatchItemResponse") if isinstance(answer, dict) else None
        by_b_id = {str(a.get("bId", "")): a for a in answers or [] if isinstance(a, dict)}
        for n, w in enumerate(chunk):
            data = (by_b_id.get(str(n)) or {}).get(w.entity)
            if isinstance(data, dict) and data.get("Id"):
                resolved[w.key] = str(data["Id"])
            # else a Fault (a duplicate name, another entity's name): the document path.


def _create_each(
    adapter: QboAdapter, client: QboClient, missing: list[_Wanted], resolved: dict[str, str]
) -> None:
    """A few creates, one request each, with the request id the document's own path uses
    (sent again, or by that path, QuickBooks replays it). A refused create (the name taken
    meanwhile, another entity's name) is left to the document's path."""
    from accounting.ledgers.qbo.entities import _entity_request_id

    for w in missing:
        email = w.body.get("PrimaryEmailAddr", {}).get("Address", "")
        request_id = _entity_request_id(w.entity, w.name, email)
        try:
            created = adapter._create(client, w.entity, w.body, request_id)
        except qbe.QuickbooksException:
            continue
        if created.get("Id"):
            resolved[w.key] = str(created["Id"])


@contextlib.contextmanager
def _one_drain_at_a_time(realm_id: str) -> Iterator[None]:
    """Drains of one company resolve one after the other (a shared lock, given up after a
    while): the second then finds by its query what the first created, instead of both
    creating the same buyers (a duplicate name each, then the document path's requests)."""
    backend = default_backend()
    key = f"qbo-refs:{realm_id}"
    token = uuid.uuid4().hex
    read = float(settings.QBO_TIMEOUT_READ)
    deadline = time.monotonic() + 2 * read
    held = False
    while not (held := backend.semaphore_acquire(key, 1, token, 4 * read + 30)):
        if time.monotonic() > deadline:
            break  # a slow holder: go on without it (duplicates are found by name)
        time.sleep(0.05)
    try:
        yield
    finally:
        if held:
            backend.semaphore_release(key, token)


def resolve_ahead(adapter: QboAdapter, docs: Sequence[Document], resolved: dict[str, str]) -> None:
    """Add to ``resolved`` (match key -> QuickBooks id) the customers, vendors and items
    ``docs`` need that can be settled together. Raises the ``IntegrationError`` of a request
    that failed (what was settled before it stays in ``resolved``)."""
    wanted = _wanted_parties(docs, resolved) + _wanted_items(docs, resolved)
    if len(wanted) < 2:
        return  # the document's own find-or-create costs no more than a look-up here

    def run(client: QboClient) -> None:
        missing = _look_up(adapter, client, wanted, resolved)
        if len(missing) >= BATCH_CREATES_FROM:
            _create(adapter, client, missing, resolved)
            return
        # A few: in a batch of their own only while the batch lane has a grant free now (a
        # fresh backlog: one request instead of several, at 10 a second), else one request
        # each on the single lane (a busy backlog: the batch lane carries documents).
        grant = lane_limits.try_batch_grant(str(adapter.realm_id)) if len(missing) > 1 else None
        if grant is None:
            _create_each(adapter, client, missing, resolved)
            return
        with lane_limits.batch_grant_held(grant):
            _create(adapter, client, missing, resolved)

    with _one_drain_at_a_time(str(adapter.realm_id)):
        adapter.call(run)
