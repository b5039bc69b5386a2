"""Orders, their lines and label costs as imported from a source, plus the record of every
sync run and of every record that could not be read.

Amounts are ``Decimal``; every instant is aware UTC. The reconciliation of an order is

    expected  = lines_subtotal - discount_total + shipping_charged + tax_total
    reconciliation_difference = amount_paid - expected

where ``lines_subtotal`` is the sum of ``quantity * unit_price`` over every line that is not
a discount (adjustment lines with a positive price, e.g. gift wrap, count here),
``discount_total`` is the positive sum of the discount lines' ``-(quantity * unit_price)``,
``shipping_charged`` is what the buyer paid for shipping and ``tax_total`` the order's tax.
A non-zero difference is never hidden: coupons the marketplace did not itemise, tax the
marketplace collected and remitted itself, FBA orders and unpaid orders all show up here.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from connections.sources.base import RawRecord
from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import Organization, OrgOwnedModel


def _organization_unindexed(*, copy_of_parents: bool = False) -> models.ForeignKey:
    """The tenant key of the import's bulk tables, without an index of its own: every index
    of these tables already begins with it, and each extra index is paid on every row a
    first import writes.

    ``copy_of_parents``: the row's organization is a copy of its parent's (a line's order, a
    label's connection), whose own foreign key already guarantees it exists. Such a copy
    gets no database constraint: PostgreSQL would check it (and lock the organization's
    row) for every line and label written, a tenth of a first import's time, to prove again
    what the parent proves. Deleting an organization still deletes them (Django's cascade)."""
    return models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=not copy_of_parents,
    )


ZERO = Decimal("0.00")


class SourceRecordField(models.JSONField):
    """A provider's record as JSON, kept as the JSON text itself (``text``, not ``jsonb``).

    Nothing queries inside a source record: support staff read it, and the import compares
    its hash. Stored as text, it is written without PostgreSQL parsing it into ``jsonb``
    first (a third of a first import's database time went there), and it reads back as the
    record's own text. In Python it is still the parsed record (a dict).

    Bulk inserts send it as one parameter per row: Django's UNNEST bulk insert on PostgreSQL
    would pass it inside a text array, whose per-character escaping of JSON (quotes
    everywhere) costs more than the rest of an import page."""

    def db_type(self, connection) -> str:
        return "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if isinstance(value, RawRecord):
            return value.text  # the record as received
        if not prepared:
            value = self.get_prep_value(value)
        return json.dumps(value, cls=self.encoder)

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs
    )


class OrderSource(models.TextChoices):
    SHIPSTATION = "shipstation", "ShipStation"
    ORDER_FILE = "order_file", _("Order file")


class LabelStatus(models.TextChoices):
    HAS_LABEL = "has_label", _("Label bought")
    # Shipped, but no label was bought in ShipStation (marked shipped elsewhere, a 3PL, FBA):
    # there is no label cost to book.
    NO_LABEL = "no_label", _("No label cost")
    NONE = "none", _("Not shipped")


class PostingStatus(models.TextChoices):
    NOT_POSTED = "not_posted", _("Not posted")
    POSTED = "posted", _("Posted")
    FAILED = "failed", _("Failed")
    IGNORED = "ignored", _("Ignored")
    # Posted, then edited in the source: the posting rules decide what happens next.
    CHANGED = "changed", _("Changed after posting")
    # Merged into another order in the source: that order carries its lines and amounts;
    # this one is neither posted nor counted.
    MERGED = "merged", _("Merged into another order")


class Order(OrgOwnedModel):
    organization = _organization_unindexed()
    connection = models.ForeignKey(
        "connections.StoreConnection",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("connection"),
    )
    source = models.CharField(
        _("source"), max_length=20, choices=OrderSource, default=OrderSource.SHIPSTATION
    )
    source_store = models.ForeignKey(
        "connections.SourceStore",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("store"),
    )
    store_name = models.CharField(_("store"), max_length=200, blank=True)
    # The source's own id: ShipStation ``orderId`` (as text), or the shop's id in an order file.
    external_id = models.CharField(_("source id"), max_length=64)
    order_key = models.CharField(_("order key"), max_length=200, blank=True)
    number = models.CharField(_("order number"), max_length=100)
    status = models.CharField(_("order status"), max_length=40, blank=True)

    order_date = models.DateTimeField(_("order date"), null=True, blank=True)
    payment_date = models.DateTimeField(_("payment date"), null=True, blank=True)
    create_date = models.DateTimeField(_("created in source"), null=True, blank=True)
    modify_date = models.DateTimeField(_("modified in source"), null=True, blank=True)
    ship_date = models.DateField(_("ship date"), null=True, blank=True)

    customer_name = models.CharField(_("customer"), max_length=300, blank=True)
    customer_email = models.CharField(_("customer email"), max_length=254, blank=True)
    bill_to = models.JSONField(_("bill to"), default=dict, blank=True)
    ship_to = models.JSONField(_("ship to"), default=dict, blank=True)

    currency = models.CharField(_("currency"), max_length=3, default="USD")
    lines_subtotal = _money(_("lines subtotal"))
    discount_total = _money(_("discounts"))
    tax_total = _money(_("tax"))
    shipping_charged = _money(_("shipping charged"))
    order_total = _money(_("order total"))
    amount_paid = _money(_("amount paid"))
    reconciliation_difference = _money(_("reconciliation difference"))

    label_cost_total = _money(_("label cost"))
    return_label_cost_total = _money(_("return label cost"))
    label_status = models.CharField(
        _("label"), max_length=20, choices=LabelStatus, default=LabelStatus.NONE
    )
    # Fees of the fulfillments (not voided) that shipped the order: a fulfillment provider's
    # charge (ShipStation ``fulfillmentFee``), the merchant's cost like a label's.
    fulfillment_fee_total = models.DecimalField(
        _("fulfillment fees"), max_digits=14, decimal_places=2, default=ZERO, db_default=ZERO
    )
    items_count = models.PositiveIntegerField(_("items"), default=0)

    is_cancelled = models.BooleanField(_("cancelled"), default=False)
    externally_fulfilled = models.BooleanField(_("fulfilled outside ShipStation"), default=False)
    changed_after_posting = models.BooleanField(_("changed after posting"), default=False)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merged_orders",
        verbose_name=_("merged into"),
        # Rarely set and only read per order: no index to keep up on every import write.
        db_index=False,
        db_constraint=False,
    )
    is_ignored = models.BooleanField(_("ignored"), default=False)
    # A part split off another order in ShipStation (``advancedOptions.parentId``): the parts
    # share the order number, so each split part is numbered 2, 3, ... in the order Unify
    # imported them and shown and posted as "<number>-<part>" (0: not a split part).
    # db_default: rows written by raw SQL (bulk loaders, benchmarks) need no value for it.
    split_part = models.PositiveSmallIntegerField(_("split part"), default=0, db_default=0)
    posting_status = models.CharField(
        _("posting status"), max_length=20, choices=PostingStatus, default=PostingStatus.NOT_POSTED
    )

    raw = SourceRecordField(_("source record"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    # raw_hash: any change at all (the row is rewritten); content_hash: a change to what
    # accounting cares about (flags changed_after_posting); lines_hash: lines are replaced.
    raw_hash = models.CharField(max_length=32, blank=True)
    content_hash = models.CharField(max_length=32, blank=True)
    lines_hash = models.CharField(max_length=32, blank=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        ordering = ["-order_date", "-id"]
        verbose_name = _("order")
        constraints = [
            # Not partial on purpose: INSERT .. ON CONFLICT needs a plain unique index. Order-file
            # orders have no connection, and NULLs never conflict.
            models.UniqueConstraint(
                fields=["organization", "connection", "external_id"], name="order_unique_source_id"
            ),
            models.UniqueConstraint(
                fields=["organization", "store_name", "external_id"],
                condition=Q(connection__isnull=True),
                name="order_file_unique_id",
            ),
        ]
        # The Sales tab's indexes (keyset sorts per filter, a covering index for its totals,
        # case-insensitive prefix and trigram search) are created by migration
        # 0003_sales_tab with SQL per database vendor: PostgreSQL gets INCLUDE columns,
        # text_pattern_ops and a pg_trgm GIN index, which Django's Index cannot express
        # portably. They replace the plain (organization, x) indexes that used to be here
        # (the last of them, on the exact e-mail, served no query: search is by prefix).

    def __str__(self) -> str:
        return f"#{self.display_number}"

    @property
    def display_number(self) -> str:
        """The order number as Unify shows and posts it: ShipStation's number, with
        "-2", "-3", ... for the parts split off an order (see ``split_part``)."""
        return f"{self.number}-{self.split_part}" if self.split_part else self.number

    @property
    def expected_paid(self) -> Decimal:
        return self.lines_subtotal - self.discount_total + self.shipping_charged + self.tax_total


class OrderLine(OrgOwnedModel):
    organization = _organization_unindexed(copy_of_parents=True)
    # Indexed by the unique (order, position) below, which it leads: lines are only ever read
    # and replaced by their order.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    line_key = models.CharField(_("line key"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"))
    sku = models.CharField(_("SKU"), max_length=200, blank=True)
    name = models.CharField(_("product"), max_length=500, blank=True)
    quantity = models.DecimalField(_("quantity"), max_digits=14, decimal_places=4)
    unit_price = models.DecimalField(_("unit price"), max_digits=14, decimal_places=4)
    tax = _money(_("tax"))
    shipping = _money(_("shipping"))
    is_adjustment = models.BooleanField(_("adjustment"), default=False)
    is_discount = models.BooleanField(_("discount"), default=False)

    class Meta:
        ordering = ["order_id", "position"]
        verbose_name = _("order line")
        constraints = [
            # The organization is a copy of the order's: unique per order is the same rule,
            # and the same index serves every look-up by order.
            models.UniqueConstraint(fields=["order", "position"], name="order_line_unique_position")
        ]
        # SKU search is by prefix: ``orderline_tab_sku_prefix`` (migration 0003).

    def __str__(self) -> str:
        return f"{self.quantity} × {self.sku or self.name}"

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.unit_price


# ``advancedOptions.billToParty`` values whose labels the carrier bills to someone other than
# the merchant (ShipStation's v1 Advanced Options model: my_account, my_other_account,
# recipient, third_party).
BILLED_TO_OTHERS = ("recipient", "third_party")


class ShippingCost(OrgOwnedModel):
    """One label bought in ShipStation (a v1 "shipment"). A label without an order
    (``orderId`` null: bought in ShipStation's quick ship) has no ``order_external_id``; a
    label billed to the recipient or a third party is kept but is not the merchant's cost."""

    organization = _organization_unindexed(copy_of_parents=True)

    connection = models.ForeignKey(
        "connections.StoreConnection", on_delete=models.CASCADE, related_name="shipping_costs"
    )
    external_id = models.CharField(_("shipment id"), max_length=64)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="shipping_costs"
    )
    # What the label says about its order, kept for matching when the order arrives later.
    order_external_id = models.CharField(_("order id"), max_length=64, blank=True)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    order_key = models.CharField(_("order key"), max_length=200, blank=True)
    store_external_id = models.CharField(_("store id"), max_length=64, blank=True)
    ship_date = models.DateField(_("ship date"), null=True, blank=True)
    create_date = models.DateTimeField(_("created"), null=True, blank=True)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    service = models.CharField(_("service"), max_length=100, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=200, blank=True)
    cost = _money(_("label cost"))
    insurance = _money(_("insurance"))
    voided = models.BooleanField(_("voided"), default=False)
    void_date = models.DateTimeField(_("voided on"), null=True, blank=True)
    is_return = models.BooleanField(_("return label"), default=False)
    bill_to_party = models.CharField(_("billed to"), max_length=30, blank=True)
    raw = SourceRecordField(_("source record"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    raw_hash = models.CharField(max_length=32, blank=True)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        ordering = ["-create_date", "-id"]
        verbose_name = _("shipping label cost")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "external_id"],
                name="shipping_cost_unique_source_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "connection", "order_external_id"],
                name="shipcost_org_conn_orderid",
            ),
            models.Index(
                fields=["organization", "order_number"],
                condition=Q(order__isnull=True),
                name="shipcost_unmatched_number",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.carrier} {self.tracking_number}".strip() or self.external_id

    @property
    def total(self) -> Decimal:
        return self.cost + self.insurance

    @property
    def billed_to_others(self) -> bool:
        return self.bill_to_party in BILLED_TO_OTHERS

    @property
    def linked_to_order(self) -> bool:
        return bool(self.order_external_id)


class FulfillmentFee(OrgOwnedModel):
    """One ShipStation fulfillment (an order marked shipped by a fulfillment provider, no
    label bought) with its ``fulfillmentFee``. Kept whatever the fee (zero too); a voided one
    is kept, marked, and no longer counted."""

    organization = _organization_unindexed(copy_of_parents=True)
    connection = models.ForeignKey(
        "connections.StoreConnection", on_delete=models.CASCADE, related_name="fulfillment_fees"
    )
    external_id = models.CharField(_("fulfillment id"), max_length=64)
    order = models.ForeignKey(
        Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="fulfillment_fees"
    )
    order_external_id = models.CharField(_("order id"), max_length=64, blank=True)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    create_date = models.DateTimeField(_("created"), null=True, blank=True)
    ship_date = models.DateField(_("ship date"), null=True, blank=True)
    provider = models.CharField(_("fulfilled by"), max_length=100, blank=True)
    carrier = models.CharField(_("carrier"), max_length=60, blank=True)
    tracking_number = models.CharField(_("tracking number"), max_length=200, blank=True)
    fee = _money(_("fulfillment fee"))
    voided = models.BooleanField(_("voided"), default=False)
    void_date = models.DateTimeField(_("voided on"), null=True, blank=True)
    raw = SourceRecordField(_("source record"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    last_synced_at = models.DateTimeField(_("last synced"), null=True, blank=True)

    class Meta:
        ordering = ["-create_date", "-id"]
        verbose_name = _("fulfillment fee")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "external_id"],
                name="fulfillment_fee_unique_source_id",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "connection", "order_external_id"],
                name="fulfillmentfee_org_conn_order",
            )
        ]

    def __str__(self) -> str:
        return f"{self.provider or self.carrier} {self.external_id}".strip()


class SyncKind(models.TextChoices):
    INITIAL = "initial", _("First import")
    INCREMENTAL = "incremental", _("Scheduled")
    MANUAL = "manual", _("Sync now")
    WEBHOOK = "webhook", _("Webhook")


class SyncStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")
    # Finished, but some records could not be read (see the import issues).
    PARTIAL = "partial", _("Finished with problems")


OPEN_SYNC_STATUSES = (SyncStatus.QUEUED, SyncStatus.RUNNING)


class SyncPhase(models.TextChoices):
    ORDERS = "orders", _("Orders")
    LABELS_CREATED = "labels_created", _("Label costs")
    LABELS_VOIDED = "labels_voided", _("Voided labels")
    DONE = "done", _("Done")


class SyncRun(OrgOwnedModel):
    """One import of a connection's window. Open runs (queued/running) are resumed, never
    duplicated: at most one exists per connection, and its checkpoint is committed together
    with the data of every page."""

    connection = models.ForeignKey(
        "connections.StoreConnection", on_delete=models.CASCADE, related_name="sync_runs"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=SyncKind)
    status = models.CharField(
        _("status"), max_length=20, choices=SyncStatus, default=SyncStatus.QUEUED
    )
    window_start = models.DateTimeField(_("from"))
    window_end = models.DateTimeField(_("to"))

    # Checkpoint: the listing in progress and where its next request starts. ``cursor`` is
    # the lower bound of the listing's date filter (keyset paging for orders), ``next_page``
    # the page to ask for under that bound.
    phase = models.CharField(_("phase"), max_length=20, choices=SyncPhase, default=SyncPhase.ORDERS)
    cursor = models.DateTimeField(null=True, blank=True)
    next_page = models.PositiveIntegerField(default=1)

    pages_done = models.PositiveIntegerField(_("pages done"), default=0)
    pages_total = models.PositiveIntegerField(_("pages expected"), default=0)
    orders_created = models.PositiveIntegerField(_("orders new"), default=0)
    orders_updated = models.PositiveIntegerField(_("orders updated"), default=0)
    orders_unchanged = models.PositiveIntegerField(_("orders unchanged"), default=0)
    orders_skipped = models.PositiveIntegerField(_("orders skipped by filters"), default=0)
    costs_created = models.PositiveIntegerField(_("label costs new"), default=0)
    costs_updated = models.PositiveIntegerField(_("label costs updated"), default=0)
    issues_count = models.PositiveIntegerField(_("unreadable records"), default=0)
    # Every record read from ShipStation so far (orders and labels, unchanged ones too).
    records_read = models.PositiveIntegerField(_("records read"), default=0)
    # What the run waits for right now (progress display): ShipStation's rate limit until
    # ``waiting_until``, or a retry (``waiting_attempt`` of ``waiting_attempts`` failed).
    waiting_for = models.CharField(_("waiting for"), max_length=20, blank=True)
    waiting_until = models.DateTimeField(null=True, blank=True)
    waiting_attempt = models.PositiveSmallIntegerField(default=0)
    waiting_attempts = models.PositiveSmallIntegerField(default=0)

    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    # What the merchant reads; error_detail is for support staff (never a secret).
    error = LocalizedTextField(_("error"), blank=True)
    error_detail = models.TextField(_("error detail"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # The failed run whose checkpoint this one carried on from.
    resumed_from = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    # The lease is the per-connection lock: a worker owns the run while lease_until is in the
    # future and renews it with every page; a killed worker's lease simply runs out.
    lease_token = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("sync run")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection"],
                condition=Q(status__in=["queued", "running"]),
                name="sync_run_one_open_per_connection",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "connection", "-created_at"], name="syncrun_org_conn"
            ),
            models.Index(fields=["status", "lease_until"], name="syncrun_status_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_SYNC_STATUSES

    @property
    def orders_seen(self) -> int:
        return self.orders_created + self.orders_updated + self.orders_unchanged

    @property
    def wait_seconds_left(self) -> int:
        """Whole seconds until the wait ends (0 when not waiting or past it)."""
        if not self.waiting_for or self.waiting_until is None:
            return 0
        from django.utils import timezone

        left = (self.waiting_until - timezone.now()).total_seconds()
        return max(0, math.ceil(left))

    @property
    def progress_percent(self) -> int:
        if self.status in (SyncStatus.SUCCEEDED, SyncStatus.PARTIAL):
            return 100
        if not self.pages_total:
            return 0
        return min(99, int(100 * self.pages_done / self.pages_total))

    @property
    def duration(self):
        if self.started_at is None:
            return None
        if self.finished_at is None:
            return None
        return self.finished_at - self.started_at


class ImportIssueKind(models.TextChoices):
    ORDER = "order", _("Order")
    SHIPMENT = "shipment", _("Label")


class ImportIssue(OrgOwnedModel):
    """A record that could not be read. The rest of its page was imported."""

    connection = models.ForeignKey(
        "connections.StoreConnection", on_delete=models.CASCADE, related_name="import_issues"
    )
    run = models.ForeignKey(
        SyncRun, on_delete=models.CASCADE, null=True, blank=True, related_name="issues"
    )
    kind = models.CharField(_("record"), max_length=20, choices=ImportIssueKind)
    external_ref = models.CharField(_("reference"), max_length=200, blank=True)
    reason = LocalizedTextField(_("reason"))
    raw_text = models.TextField(_("record as received"), blank=True)
    # The same unreadable record seen twice in one run (overlapping pages) is one issue.
    fingerprint = models.CharField(max_length=40)
    # A record ShipStation fails on (HTTP 500 whenever a page holds it) is known only by the
    # modify dates of its neighbours; later runs read that window again until it reads
    # (``sales.services.unreadable``). ``run`` is then the last run that tried.
    retry_from = models.DateTimeField(_("retry from"), null=True, blank=True)
    retry_until = models.DateTimeField(_("retry until"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=1)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import issue")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "run", "fingerprint"], name="import_issue_unique_per_run"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "connection", "-created_at"], name="importissue_org_conn"
            ),
            models.Index(
                fields=["organization", "connection"],
                condition=Q(retry_from__isnull=False, resolved_at__isnull=True),
                name="importissue_open_retries",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.external_ref}: {self.reason}"


class BulkActionKind(models.TextChoices):
    IGNORE = "ignore", _("Ignore")
    UNIGNORE = "unignore", _("Un-ignore")
    REIMPORT = "reimport", _("Re-import from ShipStation")
    POST = "post", _("Post")


class BulkActionStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Finished")
    FAILED = "failed", _("Failed")


class OrderBulkAction(OrgOwnedModel):
    """One Sales-tab action on many orders ("all N filtered", or a re-import of selected
    orders), done in the background. The row is the progress bar and the checkpoint: orders
    are taken in ``id`` order, and ``last_order_id`` is committed with every chunk, so a
    redelivered task carries on instead of starting over."""

    kind = models.CharField(_("action"), max_length=20, choices=BulkActionKind)
    status = models.CharField(
        _("status"), max_length=20, choices=BulkActionStatus, default=BulkActionStatus.QUEUED
    )
    # The Sales-tab filter as resolved when the merchant clicked (date presets already turned
    # into absolute bounds), or an explicit list of order ids.
    filters = models.JSONField(_("filters"), default=dict, blank=True)
    order_ids = models.JSONField(_("orders"), default=list, blank=True)
    total = models.PositiveIntegerField(_("orders"), default=0)
    done = models.PositiveIntegerField(_("orders done"), default=0)
    changed = models.PositiveIntegerField(_("orders changed"), default=0)
    failed = models.PositiveIntegerField(_("orders failed"), default=0)
    last_order_id = models.BigIntegerField(default=0)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    requested_ip = models.GenericIPAddressField(null=True, blank=True)
    error = LocalizedTextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # The task working on the action holds its lease (token + expiry, renewed with every
    # chunk); a second delivery cannot claim it while the lease lives. An open action with
    # no live lease and no recent change is queued again by the recovery task, at most
    # SALES_BULK_ACTION_MAX_REQUEUES times (``requeues`` counts them).
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    requeues = models.PositiveSmallIntegerField(_("times queued again"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order bulk action")
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="bulkaction_org_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in (BulkActionStatus.QUEUED, BulkActionStatus.RUNNING)

    @property
    def progress_percent(self) -> int:
        if self.status == BulkActionStatus.SUCCEEDED:
            return 100
        if not self.total:
            return 0
        return min(99, int(100 * self.done / self.total))
