"""Orders, their lines, label costs and fulfillment fees as imported from a source (see
``sales.models`` for the reconciliation)."""

from __future__ import annotations

from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from sales.models.fields import ZERO, SourceRecordField, _money, _organization_unindexed
from unify.tenancy.models import OrgOwnedModel


def order_source_choices() -> list[tuple[str, object]]:
    """The sources an order can come from: every provider of the source registry, by the key
    ``Order.source`` stores (a new source needs no migration)."""
    from connections.sources.registry import source_providers

    return [(provider.key, provider.name) for provider in source_providers().values()]


def _default_order_source() -> str:
    from connections.models import source_provider_choices

    return source_provider_choices()[0][0]


class OrderSource:
    """Values of ``Order.source`` that the import names itself: a provider key from the
    source registry (``connections.sources``)."""

    ORDER_FILE = "order_file"  # connections.sources.csv: orders read from an uploaded file


class LabelStatus(models.TextChoices):
    HAS_LABEL = "has_label", _("Label bought")
    # Shipped, but no label was bought in the source (marked shipped elsewhere, a 3PL, FBA):
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
        _("source"), max_length=20, choices=order_source_choices, default=_default_order_source
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
    # The source's own order id (as text), or the shop's id in an order file.
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
    # charge (``SourceFulfillment.fulfillment_fee``), the merchant's cost like a label's.
    fulfillment_fee_total = models.DecimalField(
        _("fulfillment fees"), max_digits=14, decimal_places=2, default=ZERO, db_default=ZERO
    )
    items_count = models.PositiveIntegerField(_("items"), default=0)

    is_cancelled = models.BooleanField(_("cancelled"), default=False)
    externally_fulfilled = models.BooleanField(
        _("fulfilled without a label from the source"), default=False
    )
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
    # A part split off another order in the source (``SourceOrder.parent_id``): the parts
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
        """The order number as Unify shows and posts it: the source's number, with
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


# ``SourceShipment.bill_to_party`` values whose labels the carrier bills to someone other
# than the merchant (see ``connections.sources.base``).
BILLED_TO_OTHERS = ("recipient", "third_party")


class ShippingCost(OrgOwnedModel):
    """One label bought in the source (a ``SourceShipment``). A label without an order
    (bought without one, e.g. a quick ship) has no ``order_external_id``; a
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
    """One fulfillment in the source (an order marked shipped by a fulfillment provider, no
    label bought) with its fee. Kept whatever the fee (zero too); a voided one
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
