"""What executing the postings of one ledger connection needs, loaded once per drain, and
the drain's writer thread that records results while the next document is sent."""

from __future__ import annotations

import contextvars
import logging
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor

from django.db import connection as db_connection

from accounting.ledgers.base import LedgerAdapter, customer_claims
from accounting.ledgers.registry import get_provider
from accounting.models import LedgerConnection, LedgerReference, Posting, PostingKind
from accounting.services.connections import ledger_adapter
from accounting.services.documents import LedgerFacts
from accounting.services.engine.eligibility import _settings_of
from accounting.services.mappings import settings_stamp
from sales.models import Order, OrderLine
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)


# Results a drain's sender may have handed to its writer thread and not yet seen recorded.
RECORD_BACKLOG = 4


class _Context:
    """What executing postings of one connection needs, loaded once per drain."""

    def __init__(self, connection: LedgerConnection) -> None:
        self.connection = connection
        self.organization = Organization.objects.get(pk=connection.organization_id)
        self.tz = self.organization.tzinfo
        self.settings = _settings_of(connection)
        self._settings_stamp = self.settings.updated_at
        self.provider = get_provider(connection.provider)
        self.facts = LedgerFacts(
            connection_id=connection.pk,
            doc_number_max_length=self.provider.doc_number_max_length,
            name_max_length=self.provider.name_max_length,
            payment_reference_max_length=self.provider.payment_reference_max_length,
        )
        self._adapter: LedgerAdapter | None = None
        self._refs: dict[str, str] | None = None
        self._claims: dict[str, str] | None = None
        self._refs_seen = 0  # the newest LedgerReference loaded
        self.orders: dict[int, Order] = {}
        self.lines: dict[int, list[OrderLine]] = {}
        catalog = connection.catalog or {}
        self.account_kinds = {a["id"]: a.get("kind", "") for a in catalog.get("accounts", [])}
        # Set by a drain: results are recorded by a writer thread (its own database
        # connection) while the next document is built and sent.
        self._recorder: ThreadPoolExecutor | None = None
        self._pending: deque[Future] = deque()

    # -- recording in the background ----------------------------------------------------------

    def record_in_background(self) -> None:
        """From now on ``_record`` hands its statement to a writer thread. Safe for exactly
        once: a result not yet recorded when the process dies is a posting ``in_flight``
        whose lease runs out, and the next attempt looks the document up in the ledger
        before sending anything (as after any crash between the answer and the commit)."""
        if self._recorder is None:
            self._recorder = ThreadPoolExecutor(max_workers=1, thread_name_prefix="posting-rec")

    @property
    def records_in_background(self) -> bool:
        return self._recorder is not None

    def record_later(self, job, *args) -> None:
        assert self._recorder is not None
        # A few results in hand at most: the writer keeps up, or the sender waits for it.
        while len(self._pending) >= RECORD_BACKLOG:
            self._pending.popleft().result()  # re-raises the writer's error here
        # In the caller's context: its org_scope() (and so the database's row-level security
        # setting on the writer's own connection) applies to the writer's statements too.
        self._pending.append(self._recorder.submit(contextvars.copy_context().run, job, *args))

    def flush(self) -> None:
        """Wait until every result handed to the writer is recorded (its errors re-raised)."""
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        recorder, self._recorder = self._recorder, None
        if recorder is None:
            return
        try:
            self.flush()
        finally:
            recorder.submit(_close_thread_connection).result()
            recorder.shutdown(wait=True)

    @property
    def adapter(self) -> LedgerAdapter:
        if self._adapter is None:
            self._adapter = ledger_adapter(self.connection)
        return self._adapter

    @property
    def refs(self) -> dict[str, str]:
        if self._refs is None:
            self._refs = {}
            self._load_refs()
        return self._refs

    def refresh_settings(self) -> None:
        """Mapping changes apply to every posting built afterwards: settings saved while
        this drain runs are read again (and the references they made stale forgotten)."""
        stamp = settings_stamp(self.connection.pk)
        if stamp == self._settings_stamp:
            return
        self.settings = _settings_of(self.connection)
        self._settings_stamp = self.settings.updated_at
        self._refs = self._claims = None
        self._refs_seen = 0

    @property
    def claims(self) -> dict[str, str]:
        """Ledger customer id -> the buyer (by email) that holds it in Unify's map."""
        if self._claims is None:
            self._claims = customer_claims(self.refs)
        return self._claims

    def refresh_refs(self) -> None:
        """Add the references other drains of this connection recorded since the last look
        (one query): drains running at once then find a customer or item another one just
        created instead of each creating it again (a duplicate name, then a query)."""
        if self._refs is not None:  # else loaded in full when first needed
            self._load_refs()

    def _load_refs(self) -> None:
        assert self._refs is not None
        rows = LedgerReference.objects.filter(
            ledger_connection=self.connection, pk__gt=self._refs_seen
        ).values_list("pk", "key", "external_id")
        for pk, key, external_id in rows:
            self._refs[key] = external_id
            self._refs_seen = max(self._refs_seen, pk)
            self._claims = None  # a claim may have come with them

    def prefetch(self, postings: list[Posting]) -> None:
        """Load the orders and lines of a batch of sale postings in two queries."""
        ids = [p.order_id for p in postings if p.kind == PostingKind.SALE and p.order_id]
        self.orders = Order.objects.in_bulk(ids) if ids else {}
        self.lines: dict[int, list[OrderLine]] = {pk: [] for pk in self.orders}
        if ids:
            for line in OrderLine.objects.filter(order_id__in=ids).order_by("order_id", "position"):
                self.lines[line.order_id].append(line)

    def order_and_lines(self, order_id: int) -> tuple[Order | None, list[OrderLine]]:
        order = self.orders.pop(order_id, None)
        if order is not None:
            return order, self.lines.pop(order_id, [])
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            return None, []
        return order, list(OrderLine.objects.filter(order=order).order_by("position"))

    def remember(self, resolved: Mapping[str, str]) -> None:
        new = {k: v for k, v in resolved.items() if self.refs.get(k) != v}
        if not new:
            return
        LedgerReference.objects.bulk_create(
            [
                LedgerReference(
                    organization_id=self.connection.organization_id,
                    ledger_connection=self.connection,
                    key=key[:300],
                    external_id=value,
                )
                # In key order: two drains inserting overlapping keys then wait for each
                # other instead of deadlocking on the unique index.
                for key, value in sorted(new.items())
            ],
            ignore_conflicts=True,
        )
        self.refs.update(new)
        self.claims.update(customer_claims(new))


def _close_thread_connection() -> None:
    """Close the calling thread's own database connection (the proxy resolves per thread)."""
    db_connection.close()
