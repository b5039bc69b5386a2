"""Documents posted to QuickBooks Online up to 30 per request (``POST /v3/company/<realm>/batch``).

Order of work for one call of :meth:`QboAdapter.post_many`:

1. The customers, vendors and items of all documents are found or created first, together
   (``parties.py``: names looked up 30 per query, the missing created in a batch of their
   own; what that does not settle, each document finds or creates with single requests;
   cached for the call and, by the engine, per connection): the operations of one batch
   cannot see each other's results, so nothing a sale needs may be created beside it.
2. A document that is a member of a batch still open (sent, answer never read) goes out again
   only inside that identical batch, with its request id: Intuit replays its first answer.
3. The others are grouped in batches of at most ``QBO_BATCH_SIZE``; each is recorded (members,
   exact body, request id derived from the batch id) BEFORE it is sent.
4. Each ``BatchItemResponse`` becomes the outcome of its own document by ``bId``: a ``Fault``
   fails that document alone with QuickBooks' words; a duplicate number (6140 or 6210) is looked up,
   as on the single path, and is ours when it carries our marker.

A request that fails in transit is sent again (same body, same request id) a few times while
the postings' lease allows; after that its documents come back with the error and the engine
looks them up before anything is sent again. Throttling (429, or 403 ThrottleExceeded) stops
the call: every document not answered waits, none fails. Invoices with a payment go through
the single path (the payment needs the invoice's id).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings
from quickbooks import exceptions as qbe

from accounting.ledgers.base import (
    Document,
    DocumentKind,
    ExpenseDocument,
    PostingResult,
    RequestNotSent,
    SaleDocument,
    memo_marker,
)
from accounting.ledgers.qbo import faults as qbo_faults
from accounting.ledgers.qbo import limits as lane_limits
from accounting.ledgers.qbo import parties
from accounting.ledgers.qbo.client import QboClient, dumps
from accounting.services import faults, request_batches
from unify.core.exceptions import (
    IntegrationError,
    ProviderAuthError,
    ProviderRateLimited,
    ProviderRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from unify.core.stored_text import gettext as _

if TYPE_CHECKING:
    from accounting.ledgers.qbo.adapter import QboAdapter

logger = logging.getLogger("unify.qbo")

SEND_ATTEMPTS = 3
# Postings a drain claims for the single lane (while the batch lane has no grant free): few,
# so that the drain looks at the batch lane again soon and a batch is never cut short by
# documents that went one per request.
SINGLE_LANE_CLAIM = 3
Outcome = PostingResult | Exception


def batch_size() -> int:
    return max(1, min(30, int(settings.QBO_BATCH_SIZE)))


def lanes_per_minute() -> tuple[float, float]:
    """Documents a minute at Intuit's limits, and the minute's length in seconds."""
    per_minute = float(settings.QBO_RATE_LIMIT_PER_MINUTE)
    window = float(settings.QBO_RATE_LIMIT_WINDOW_SECONDS)
    size = batch_size()
    if size <= 1:
        return per_minute, window
    batches = float(settings.QBO_BATCH_PER_MINUTE)
    singles = per_minute - batches if settings.QBO_SINGLES_BESIDE_BATCHES else 0.0
    return batches * size + max(0.0, singles), window


def _both_lanes() -> bool:
    return batch_size() > 1 and bool(getattr(settings, "QBO_SINGLES_BESIDE_BATCHES", True))


def next_claim_size(adapter: QboAdapter, usual: int) -> int:
    """Claim a full batch when a batch grant is free now (taken and held by the adapter for
    that batch), else a few postings for the single lane. The two lanes then stay busy at
    once, and every batch but the last of a backlog is full: a drain never trickles the
    members of a batch out one per request while it waits for the batch lane."""
    if not _both_lanes():
        return usual  # the drain claims at least a batch's worth already
    if adapter.held_batch_grant is None:
        adapter.held_batch_grant = lane_limits.try_batch_grant(str(adapter.realm_id))
    return batch_size() if adapter.held_batch_grant else SINGLE_LANE_CLAIM


def _take_held_grant(adapter: QboAdapter) -> str | None:
    grant, adapter.held_batch_grant = adapter.held_batch_grant, None
    return grant


def document_request(
    adapter: QboAdapter, client: QboClient, doc: Document, resolved: dict[str, str]
) -> tuple[str, dict[str, Any]]:
    """The entity and create body of ``doc`` as the single path sends it."""
    from accounting.ledgers.qbo.adapter import ENTITY_FOR_KIND, _ref

    if isinstance(doc, SaleDocument):
        body = adapter._sale_body(client, doc, resolved)
        if doc.kind == DocumentKind.SALES_RECEIPT:
            body["DepositToAccountRef"] = _ref(doc.payment.deposit_account_id)
            if doc.payment.payment_method_id:
                body["PaymentMethodRef"] = _ref(doc.payment.payment_method_id)
        return ENTITY_FOR_KIND[doc.kind], body
    if isinstance(doc, ExpenseDocument):
        return ENTITY_FOR_KIND[doc.kind], adapter._expense_body(client, doc, resolved)
    return "JournalEntry", adapter._summary_body(doc)


class _Stop(Exception):
    """Throttled or refused access: nothing more is sent in this call."""

    def __init__(self, error: IntegrationError) -> None:
        self.error = error


class BatchSender:
    def __init__(self, adapter: QboAdapter, docs: Sequence[Document], send_by: float | None):
        self.adapter = adapter
        self.docs = list(docs)
        self.send_by = send_by
        self.outcomes: list[Outcome | None] = [None] * len(self.docs)
        self.entities: dict[int, str] = {}
        self.bodies: dict[int, dict[str, Any]] = {}
        self.resolved: dict[int, dict[str, str]] = {}
        self.stopped: IntegrationError | None = None
        self.batches_sent = 0
        self.singles_sent = 0

    # -- the whole call -----------------------------------------------------------------------

    def run(self) -> list[Outcome]:
        # Nothing leaves after ``send_by``, however long the waits for the limits were: a
        # document sent later could be taken over by another worker once its lease ran out
        # and sent again (a single request is in no recorded batch to replay).
        try:
            with lane_limits.send_deadline(self.send_by):
                self._prepare()
                self._resend_open()
                self._send_new()
        except _Stop as stop:
            self.stopped = stop.error
        for index, outcome in enumerate(self.outcomes):
            if outcome is None:
                self.outcomes[index] = self.stopped or self.adapter._error(
                    ProviderResponseInvalid, "qbo batch: no answer for this document"
                )
        return list(self.outcomes)  # type: ignore[arg-type]

    def _prepare(self) -> None:
        shared: dict[str, str] = {}
        try:
            parties.resolve_ahead(
                self.adapter,
                [
                    d
                    for d in self.docs
                    if not (isinstance(d, SaleDocument) and d.kind == DocumentKind.INVOICE_PAYMENT)
                ],
                shared,
            )
        except (ProviderAuthError, ProviderRateLimited) as exc:
            raise _Stop(exc) from None
        except IntegrationError as exc:
            # Each document finds or creates what is still missing on its own below.
            logger.info("qbo batch: customers and items not all resolved ahead (%s)", exc)
        for index, doc in enumerate(self.docs):
            if isinstance(doc, SaleDocument) and doc.kind == DocumentKind.INVOICE_PAYMENT:
                # Two documents, the second needing the first's id: the single path.
                self.outcomes[index] = self._single(doc)
                continue
            resolved = dict(shared)
            try:
                doc.check()
                entity, body = self.adapter.call(
                    lambda client, doc=doc, resolved=resolved: document_request(
                        self.adapter, client, doc, resolved
                    )
                )
            except (ProviderAuthError, ProviderRateLimited) as exc:
                raise _Stop(exc) from None
            except Exception as exc:  # noqa: BLE001 - this document's outcome
                self.outcomes[index] = exc
                continue
            shared.update(resolved)
            self.entities[index], self.bodies[index], self.resolved[index] = entity, body, resolved

    def _single(self, doc: Document) -> Outcome:
        try:
            return self.adapter.post(doc)
        except (ProviderAuthError, ProviderRateLimited) as exc:
            raise _Stop(exc) from None
        except Exception as exc:  # noqa: BLE001 - this document's outcome
            return exc

    # -- batches ------------------------------------------------------------------------------

    def _by_key(self) -> dict[str, int]:
        return {self.docs[i].idempotency_key: i for i in self.bodies if self.outcomes[i] is None}

    def _resend_open(self) -> None:
        """Members of a batch whose answer was never read: the identical batch again."""
        waiting = self._by_key()
        connection_id = self.adapter.connection_id
        for batch in request_batches.open_batches(connection_id=connection_id, keys=waiting):
            mine = {waiting[k]: b for k, b in batch.members.items() if k in waiting}
            mine = {i: b for i, b in mine.items() if self.outcomes[i] is None}
            if mine:
                logger.info("qbo batch %s: sent again (answer never read)", batch.request_id)
                self._send(batch, mine)

    def _send_new(self) -> None:
        pending = [i for i in self.bodies if self.outcomes[i] is None]
        size = batch_size()
        realm = str(self.adapter.realm_id)
        both_lanes = _both_lanes()
        # The grant taken when these postings were claimed (``next_claim_size``).
        held = _take_held_grant(self.adapter)
        while pending:
            if self.send_by is not None and time.monotonic() > self.send_by:
                for index in pending:
                    self.outcomes[index] = RequestNotSent(
                        "qbo batch: the postings' lease is too short to send it now",
                        provider="qbo",
                        connection_id=self.adapter.connection_id,
                    )
                return
            granted, held = held, None
            if granted is None and both_lanes and len(pending) >= size:
                granted = lane_limits.try_batch_grant(realm)
            if not granted and both_lanes:
                # The batch lane is spent for now, or these are too few to fill a batch
                # (postings claimed for the single lane): one document on the single lane
                # (its own 500 a minute), then look again.
                index = pending.pop(0)
                self.outcomes[index] = self._single_create(index)
                continue
            chunk, pending = pending[:size], pending[size:]
            b_ids = {index: str(n) for n, index in enumerate(chunk)}
            items = [
                {"bId": b_ids[i], "operation": "create", self.entities[i]: self.bodies[i]}
                for i in chunk
            ]
            batch = request_batches.record(
                connection_id=self.adapter.connection_id,
                body=dumps({"BatchItemRequest": items}),
                members=[(self.docs[i].idempotency_key, b_ids[i]) for i in chunk],
            )
            faults.fault_point(faults.BATCH_RECORDED)
            self._send(batch, b_ids, granted=granted)

    def _single_create(self, index: int) -> Outcome:
        """One document as the single path creates it (``requestid`` = its own key)."""
        doc = self.docs[index]
        entity = self.entities[index]

        def run(client: QboClient) -> Outcome:
            data = self.adapter._create_document(
                client,
                entity,
                self.bodies[index],
                doc.idempotency_key,
                kind=doc.kind,
                reference=doc.reference,
                marker=memo_marker(getattr(doc, "memo", "")),
            )
            return self.adapter._result(
                doc.kind, data, self.resolved[index], expected_total=_total(doc)
            )

        try:
            outcome = self.adapter.call(run)
        except (ProviderAuthError, ProviderRateLimited) as exc:
            raise _Stop(exc) from None
        except Exception as exc:  # noqa: BLE001 - this document's outcome
            return exc
        self.singles_sent += 1
        return outcome

    def _post(self, batch: request_batches.OpenBatch, granted: str | None = None) -> dict[str, Any]:
        def run(client: QboClient) -> dict[str, Any]:
            url = f"{client.api_url}/company/{client.company_id}/batch"
            try:
                return client.make_request("POST", url, batch.body, request_id=batch.request_id)
            except qbe.QuickbooksException as exc:
                raise self.adapter._rejected(exc, _("the batch")) from None

        last: IntegrationError | None = None
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                if granted is not None and attempt == 1:
                    with lane_limits.batch_grant_held(granted):
                        answer = self.adapter.call(run)
                else:
                    answer = self.adapter.call(run)
                self.batches_sent += 1
                return answer
            except (ProviderUnavailable, ProviderResponseInvalid) as exc:
                if isinstance(exc, RequestNotSent):
                    raise
                last = exc
                pause = 0.5 * 2 ** (attempt - 1)
                if attempt == SEND_ATTEMPTS or (
                    self.send_by is not None and time.monotonic() + pause > self.send_by
                ):
                    break
                time.sleep(pause)
        assert last is not None
        raise last

    def _send(
        self,
        batch: request_batches.OpenBatch,
        mine: dict[int, str],
        granted: str | None = None,
    ) -> None:
        try:
            answer = self._post(batch, granted)
        except (ProviderAuthError, ProviderRateLimited) as exc:
            raise _Stop(exc) from None
        except IntegrationError as exc:
            if isinstance(exc, ProviderRejected):
                # The whole request refused (a 400 Fault): every member fails with it.
                request_batches.mark_answered(batch.batch_id)
            for index in mine:
                self.outcomes[index] = exc
            return
        faults.fault_point(faults.BATCH_ANSWERED)
        items = answer.get("BatchItemResponse") if isinstance(answer, dict) else None
        if not isinstance(items, list):
            error = self.adapter._error(ProviderResponseInvalid, "qbo batch: no BatchItemResponse")
            for index in mine:
                self.outcomes[index] = error
            return
        by_b_id = {str(i.get("bId", "")): i for i in items if isinstance(i, dict)}
        # Only these members' outcomes are recorded here: members of the batch claimed by
        # another drain read the answer (Intuit's replay) when they send it again.
        request_batches.mark_answered(
            batch.batch_id, keys=[self.docs[index].idempotency_key for index in mine]
        )
        for index, b_id in mine.items():
            self.outcomes[index] = self._outcome(index, by_b_id.get(b_id))

    def _outcome(self, index: int, item: dict[str, Any] | None) -> Outcome:
        doc = self.docs[index]
        entity = self.entities[index]
        if item is None:
            return self.adapter._error(ProviderResponseInvalid, "qbo batch: no answer for it")
        data = item.get(entity)
        if isinstance(data, dict):
            return self.adapter._result(
                doc.kind, data, self.resolved[index], expected_total=_total(doc)
            )
        fault = item.get("Fault") if isinstance(item.get("Fault"), dict) else {}
        errors = [e for e in fault.get("Error") or [] if isinstance(e, dict)]
        first = errors[0] if errors else {}
        code = _int(first.get("code"))
        exc = qbe.QuickbooksException(
            str(first.get("Message") or "unknown fault"), code, str(first.get("Detail") or "")
        )
        if qbo_faults.is_duplicate_doc_number(code):  # ours from an earlier lost answer?
            try:
                found = self.adapter.call(
                    lambda client: self.adapter._find(
                        client, doc.kind, doc.reference, memo_marker(getattr(doc, "memo", ""))
                    )
                )
            except IntegrationError as error:
                return error
            if found is not None:
                return self.adapter._result(doc.kind, found, self.resolved[index])
        return self.adapter._rejected(exc, f"{entity} {doc.reference}")


def _total(doc: Document):
    return doc.total if isinstance(doc, SaleDocument | ExpenseDocument) else None


def _int(value: Any) -> int:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return 0


def post_many(
    adapter: QboAdapter, docs: Sequence[Document], send_by: float | None = None
) -> list[Outcome]:
    return BatchSender(adapter, docs, send_by).run()


def describe(body: str) -> list[str]:
    """The ``bId``s of a recorded body (support and tests)."""
    return [str(i.get("bId")) for i in json.loads(body).get("BatchItemRequest", [])]
