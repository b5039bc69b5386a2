"""Daily summaries only for closed days (issue 17, item 3; issue 18 for Xero), against the
QuickBooks Online and Xero stand-ins over HTTP:

- a day's summary is posted only once the day has ended in the organization's time zone
  plus the import's overlap; until then its posting waits, with the reason, and sends
  nothing (even when claimed early);
- a late change to a summarised day (an order edited, cancelled, merged away, or imported
  late) updates the posted journal in place, never a second summary: in a real worker after
  the ShipStation stand-in's import, and by hand with "Update selected in the ledger";
- a day left without orders has its journal taken out; orders arriving later post it again.

The clock is the one thing these tests cannot run for real: moving past the end of a day is
done by replacing ``django.utils.timezone.now`` in this process (the stand-ins keep theirs).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.models import Posting, PostingKind, PostingState
from accounting.services import posting_enqueue_orders, posting_update_changed
from accounting.services.engine import posting_drain, posting_flag_changes
from accounting.services.summaries import day_closes_at
from sales.models import Order, SyncKind, SyncRun
from sales.services import sync_request
from sandbox.xero import DEFAULT_TENANT_ID as T
from tests.accounting.conftest import connect_ledger, import_worker_env, qbo_env, wait_until
from tests.accounting.factories import make_order
from tests.accounting.xero_support import connect_xero, xero_account, xero_env
from tests.sales.support import SS_KEY, make_connection
from tests.worker_process import unique_queue
from unify.tenancy.scoping import org_scope

D = Decimal
LEDGERS = ["qbo", "xero"]


class Books:
    """One ledger stand-in, read back the same way for QuickBooks Online and Xero."""

    def __init__(self, name: str, request) -> None:
        self.name = name
        self.stand_in = request.getfixturevalue(name)
        request.getfixturevalue(f"{name}_settings")

    def connect(self, org, **overrides):
        values = {
            "document_type": "daily_summary",
            "label_cost_mode": "off",
            "reconciliation_enabled": True,
            **overrides,
        }
        if self.name == "qbo":
            return connect_ledger(org, self.stand_in, **values)
        return connect_xero(org, self.stand_in, **values)

    def env(self) -> dict[str, str]:
        return qbo_env(self.stand_in) if self.name == "qbo" else xero_env(self.stand_in)

    def journals(self) -> dict[str, dict]:
        """Live journals (id -> {"deposit", "balanced", "version"})."""
        out = {}
        if self.name == "qbo":
            for entry in self.stand_in.documents("journalentry"):
                sides = {"Debit": D(0), "Credit": D(0)}
                deposit = D(0)
                for line in entry["Line"]:
                    detail = line["JournalEntryLineDetail"]
                    sides[detail["PostingType"]] += D(str(line["Amount"]))
                    if detail["AccountRef"]["value"] == "4" and detail["PostingType"] == "Debit":
                        deposit += D(str(line["Amount"]))
                out[entry["Id"]] = {
                    "deposit": deposit,
                    "balanced": sides["Debit"] == sides["Credit"],
                    "version": entry["SyncToken"],
                }
            return out
        clearing = xero_account("clearing", T)
        for journal in self.stand_in.documents("ManualJournals"):
            if journal["Status"] != "POSTED":
                continue
            lines = journal["JournalLines"]
            out[journal["ManualJournalID"]] = {
                "deposit": sum(
                    (x["LineAmount"] for x in lines if x["AccountID"] == clearing), D(0)
                ),
                "balanced": sum(x["LineAmount"] for x in lines) == 0,
                "version": journal.get("UpdatedDateUTC"),
            }
        return out

    def journal_requests(self) -> int:
        """Requests of any kind about journals (created, read, updated or removed)."""
        log = self.stand_in.requests_log(self.stand_in.realm_id if self.name == "qbo" else T)
        return len([r for r in log if "journalentry" in r.path or "ManualJournals" in r.path])


@pytest.fixture(params=LEDGERS)
def books(request) -> Books:
    return Books(request.param, request)


def _at(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr(timezone, "now", lambda: moment)


def _drain(org, ledger) -> int:
    with org_scope(org.pk):
        return posting_drain(ledger_connection_id=ledger.pk)


def _summary(org) -> Posting:
    with org_scope(org.pk):
        [posting] = Posting.objects.filter(kind=PostingKind.SUMMARY)
    return posting


@pytest.mark.django_db
def test_a_days_summary_waits_for_the_day_to_end_plus_the_overlap(
    books, org_a, owner_client, monkeypatch, settings
):
    settings.SALES_SYNC_OVERLAP_MINUTES = 5
    tz = org_a.tzinfo
    ledger = books.connect(org_a)
    now = timezone.now()
    today = now.astimezone(tz).date()
    with org_scope(org_a.pk):
        order = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], order_date=now,
                           payment_date=now)  # fmt: skip
        make_order(org_a, lines=[("B", "Beta", 2, "7.50", False)], order_date=now,
                   payment_date=now)  # fmt: skip
        batch = posting_enqueue_orders(
            organization=org_a, order_ids=Order.objects.values_list("pk", flat=True)
        )
    closes = day_closes_at(today, tz)
    assert closes == datetime.combine(today + timedelta(days=1), datetime.min.time(), tz) + (
        timedelta(minutes=5)
    )
    # Nothing to post now: the click says why, its progress is not held up.
    assert (batch.total, batch.waiting_for_day_end) == (0, 1)
    posting = _summary(org_a)
    assert (posting.status, posting.summary_date, posting.next_attempt_at) == (
        PostingState.PENDING,
        today,
        closes,
    )
    assert posting.error.startswith("Waiting for the day to end")
    assert _drain(org_a, ledger) == 0
    # The order page names the waiting summary and why.
    page = owner_client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content.decode()
    assert "Waiting for the day to end" in page

    # Claimed early anyway (a retry of everything due, say): back to waiting, unsent.
    with org_scope(org_a.pk):
        Posting.objects.filter(pk=posting.pk).update(next_attempt_at=None)
    _drain(org_a, ledger)
    posting.refresh_from_db()
    assert (posting.status, posting.attempts, posting.sent_at) == (PostingState.PENDING, 0, None)
    assert posting.next_attempt_at == closes and posting.error.startswith("Waiting")

    # Midnight has passed, the overlap has not: still waiting.
    _at(monkeypatch, closes - timedelta(seconds=1))
    with org_scope(org_a.pk):
        Posting.objects.filter(pk=posting.pk).update(next_attempt_at=None)
    _drain(org_a, ledger)
    assert _summary(org_a).status == PostingState.PENDING
    assert books.journals() == {} and books.journal_requests() == 0

    # The day is closed: posted once, with the day's money, and the waiting reason gone.
    _at(monkeypatch, closes + timedelta(seconds=1))
    _drain(org_a, ledger)
    posting = _summary(org_a)
    assert (posting.status, posting.error) == (PostingState.POSTED, ""), posting.error
    [journal] = books.journals().values()
    assert journal == {**journal, "deposit": D("35.00"), "balanced": True}
    _drain(org_a, ledger)
    assert len(books.journals()) == 1


@pytest.mark.django_db
def test_automatic_posting_holds_todays_summary_once_without_empty_runs(books, org_a):
    """After each import: today's orders get one waiting summary posting; the next imports
    neither queue it again nor record empty posting runs; nothing reaches the ledger."""
    from accounting.models import PostingBatch
    from accounting.services import posting_after_import
    from tests.accounting.factories import make_store_connection

    ledger = books.connect(org_a, trigger="after_import")
    store = make_store_connection(org_a)
    now = timezone.now()
    with org_scope(org_a.pk):
        for sku in ("A", "B"):
            make_order(org_a, lines=[(sku, sku, 1, "10.00", False)], connection=store,
                       order_date=now, payment_date=now)  # fmt: skip
        assert posting_after_import(org_a.pk, store.pk, None) == 0
        batches = PostingBatch.objects.count()
        for _run in range(3):
            posting_after_import(org_a.pk, store.pk, None)
        assert PostingBatch.objects.count() == batches
    posting = _summary(org_a)
    assert posting.status == PostingState.PENDING and posting.error.startswith("Waiting")
    _drain(org_a, ledger)
    assert books.journal_requests() == 0


@pytest.mark.django_db
def test_late_changes_correct_the_posted_summary_by_hand_and_an_emptied_day_is_taken_out(
    books, org_a
):
    """Manual posting: a late change lists the summary for review with the reason; "Update
    selected in the ledger" updates the same journal (never a second one); a day whose last
    order goes is taken out, and an order arriving for it later posts it afresh."""
    ledger = books.connect(org_a, trigger="manual")
    day = timezone.now() - timedelta(days=2)
    with org_scope(org_a.pk):
        first = make_order(org_a, lines=[("A", "Alpha", 1, "20.00", False)], order_date=day,
                           payment_date=day)  # fmt: skip
        second = make_order(org_a, lines=[("B", "Beta", 1, "15.00", False)], order_date=day,
                            payment_date=day)  # fmt: skip
        posting_enqueue_orders(organization=org_a, order_ids=[first.pk, second.pk])
    _drain(org_a, ledger)
    posting = _summary(org_a)
    assert posting.status == PostingState.POSTED, posting.error
    [(journal_id, journal)] = books.journals().items()
    assert journal["deposit"] == D("35.00")

    def update() -> Posting:
        with org_scope(org_a.pk):
            posting_flag_changes(organization=org_a, ledger=ledger)
            flagged = _summary(org_a)
            assert flagged.needs_review and "changed after the summary was posted" in (
                flagged.error
            )
            assert posting_update_changed(organization=org_a, posting_ids=[flagged.pk])
        _drain(org_a, ledger)
        return _summary(org_a)

    # A late order for that day, merged into another order (gone from the day), cancelled.
    with org_scope(org_a.pk):
        late = make_order(org_a, lines=[("C", "Gamma", 1, "9.00", False)], order_date=day,
                          payment_date=day)  # fmt: skip
        posting_enqueue_orders(organization=org_a, order_ids=[late.pk])  # no second summary
    posting = update()
    assert (posting.status, posting.revision) == (PostingState.POSTED, 1), posting.error
    assert books.journals()[journal_id]["deposit"] == D("44.00")

    with org_scope(org_a.pk):
        Order.objects.filter(pk=second.pk).update(merged_into=first)
    posting = update()
    assert books.journals()[journal_id]["deposit"] == D("29.00")
    with org_scope(org_a.pk):
        statuses = dict(Order.objects.values_list("pk", "posting_status"))
    # The merged order is out of the journal, and says so; the others are in it.
    assert (statuses[second.pk], statuses[first.pk], statuses[late.pk]) == (
        "merged",
        "posted",
        "posted",
    )

    with org_scope(org_a.pk):
        Order.objects.filter(pk__in=[first.pk, late.pk]).update(
            status="cancelled", is_cancelled=True, changed_after_posting=True
        )
    posting = update()
    assert (posting.status, posting.needs_review) == (PostingState.REMOVED, False)
    assert "no order of this day is left" in posting.error
    assert books.journals() == {}
    with org_scope(org_a.pk):
        assert set(
            Order.objects.filter(pk__in=[first.pk, late.pk]).values_list(
                "posting_status", flat=True
            )
        ) == {"not_posted"}

    # An order for that day after all: the day is posted again, as a new journal.
    with org_scope(org_a.pk):
        again = make_order(org_a, lines=[("D", "Delta", 1, "11.00", False)], order_date=day,
                           payment_date=day)  # fmt: skip
        posting_enqueue_orders(organization=org_a, order_ids=[again.pk])
    _drain(org_a, ledger)
    posting = _summary(org_a)
    assert posting.status == PostingState.POSTED, posting.error
    [(new_id, journal)] = books.journals().items()
    assert new_id != journal_id and journal["deposit"] == D("11.00") and journal["balanced"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.worker
def test_a_worker_corrects_the_summary_after_imports_bring_late_changes(
    books, org_a, ss_account, celery_worker_process, settings
):
    """Posting after each import, in a real worker: edits, a late order and a cancellation
    imported from the ShipStation stand-in update the day's one journal in place."""
    queue = unique_queue("days")
    settings.SALES_TASK_QUEUE = settings.ACCOUNTING_TASK_QUEUE = queue
    ss = ss_account
    tz = org_a.tzinfo
    noon = datetime.combine(timezone.now().astimezone(tz).date() - timedelta(days=2),
                            datetime.min.time(), tz) + timedelta(hours=12)  # fmt: skip
    items = [{"sku": "MUG-1", "name": "Mug", "quantity": 1, "unitPrice": "20.00"}]
    a = ss.add_order(SS_KEY, items=items, shipping_amount="0.00", order_date=noon, at=noon)
    b = ss.add_order(SS_KEY, items=items, shipping_amount="0.00", order_date=noon, at=noon)
    for order in (a, b):
        ss.add_label(SS_KEY, order["orderId"], shipment_cost="4.00", at=noon)
    store = make_connection(org_a)
    books.connect(org_a, trigger="after_import")
    celery_worker_process([queue], env=import_worker_env(books.env(), queue, ss))

    def import_and_wait(revision: int) -> Posting:
        with org_scope(org_a.pk):
            runs = SyncRun.objects.count()
            sync_request(organization=org_a, connection=store, kind=SyncKind.MANUAL)

        def settled() -> bool:
            with org_scope(org_a.pk):
                if (
                    SyncRun.objects.count() <= runs
                    or SyncRun.objects.filter(status__in=["queued", "running"]).exists()
                ):
                    return False
                posting = Posting.objects.filter(kind=PostingKind.SUMMARY).first()
            return (
                posting is not None
                and posting.status == PostingState.POSTED
                and posting.revision == revision
                and not posting.needs_review
            )

        assert wait_until(settled), _summary(org_a).__dict__
        return _summary(org_a)

    posting = import_and_wait(0)
    [(journal_id, journal)] = books.journals().items()
    assert journal["deposit"] == D("40.00") and journal["balanced"]

    # Late: order A's payment edited, order C (paid that day) reaches ShipStation now.
    ss.edit_order(SS_KEY, a["orderId"], amountPaid="25.00")
    c = ss.add_order(SS_KEY, items=items, shipping_amount="0.00", order_date=noon)
    ss.add_label(SS_KEY, c["orderId"], shipment_cost="4.00")
    posting = import_and_wait(1)
    journals = books.journals()
    assert list(journals) == [journal_id] == [posting.external_id]
    assert journals[journal_id]["deposit"] == D("65.00") and journals[journal_id]["balanced"]
    if books.name == "qbo":
        assert (journal["version"], journals[journal_id]["version"]) == ("0", "1")

    # Late: order B cancelled in ShipStation.
    ss.edit_order(SS_KEY, b["orderId"], orderStatus="cancelled")
    posting = import_and_wait(2)
    journals = books.journals()
    assert list(journals) == [journal_id]
    assert journals[journal_id]["deposit"] == D("45.00") and journals[journal_id]["balanced"]
    with org_scope(org_a.pk):
        statuses = dict(Order.objects.values_list("external_id", "posting_status"))
    # The cancelled order is no longer in the books, and no longer reads "Posted".
    assert statuses == {str(a["orderId"]): "posted", str(b["orderId"]): "not_posted",
                        str(c["orderId"]): "posted"}  # fmt: skip
    with org_scope(org_a.pk):
        assert Posting.objects.filter(kind=PostingKind.SUMMARY).count() == 1


@pytest.mark.django_db
def test_orders_without_a_store_record_get_one_summary_per_connection_and_exact_store_name(
    books, org_a
):
    """Orders with no store record (an order file, or a store ShipStation no longer lists)
    are summarised per connection and per store name: two connections whose orders carry
    the same store name, and a store named like the start of another's name ("Shop" and
    "Shop 2"), never share a journal nor count each other's orders."""
    from tests.accounting.factories import make_store_connection

    ledger = books.connect(org_a, trigger="manual")
    first, second = make_store_connection(org_a), make_store_connection(org_a)
    day = timezone.now() - timedelta(days=2)
    with org_scope(org_a.pk):
        for connection, store, price in (
            (first, "Shop", "10.00"),
            (second, "Shop", "20.00"),
            (first, "Shop 2", "40.00"),
        ):
            make_order(org_a, lines=[("A", "Alpha", 1, price, False)], connection=connection,
                       source_store=None, store_name=store, order_date=day,
                       payment_date=day)  # fmt: skip
        posting_enqueue_orders(
            organization=org_a, order_ids=Order.objects.values_list("pk", flat=True)
        )
        keys = sorted(
            Posting.objects.filter(kind=PostingKind.SUMMARY).values_list(
                "summary_store_key", flat=True
            )
        )
    assert keys == sorted(
        [f"conn:{first.pk}:Shop", f"conn:{second.pk}:Shop", f"conn:{first.pk}:Shop 2"]
    )
    assert _drain(org_a, ledger) == 3
    deposits = sorted(j["deposit"] for j in books.journals().values())
    assert deposits == [D("10.00"), D("20.00"), D("40.00")]
    with org_scope(org_a.pk):
        assert set(Order.objects.values_list("posting_status", flat=True)) == {"posted"}


@pytest.mark.django_db
def test_a_summary_of_orders_without_a_store_name_is_named_after_their_connection(books, org_a):
    """The journal's lines say whose sales they are: the store, else the connection's own
    name as the merchant gave it (never a provider's name standing in for it)."""
    from tests.accounting.factories import make_store_connection

    ledger = books.connect(org_a, trigger="manual")
    connection = make_store_connection(org_a)
    connection.name = "Hofladen Kasse"
    connection.save(update_fields=["name"])
    day = timezone.now() - timedelta(days=2)
    with org_scope(org_a.pk):
        make_order(org_a, lines=[("A", "Alpha", 1, "12.00", False)], connection=connection,
                   source_store=None, store_name="", order_date=day,
                   payment_date=day)  # fmt: skip
        posting_enqueue_orders(
            organization=org_a, order_ids=Order.objects.values_list("pk", flat=True)
        )
    assert _drain(org_a, ledger) == 1
    if books.name == "qbo":
        [entry] = books.stand_in.documents("journalentry")
        texts = {line.get("Description", "") for line in entry["Line"]}
    else:
        [journal] = books.stand_in.documents("ManualJournals")
        texts = {line.get("Description", "") for line in journal["JournalLines"]}
    label = f"Hofladen Kasse sales of {day.astimezone(org_a.tzinfo).date().isoformat()}"
    assert label in texts, texts
    assert not any("ShipStation" in text for text in texts)
