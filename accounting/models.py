"""Ledger connections, posting settings and postings.

A :class:`Posting` is the unit of exactly-once: one row per (ledger connection, kind,
source reference), created before anything is sent, claimed by one worker at a time under a
lease, and sent with an idempotency key that is fixed when the row is created. Its
``document`` is what was sent, its ``answer`` what the ledger said.
"""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from unify.core.fields import EncryptedJSONField
from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import OrgOwnedModel


def ledger_provider_choices() -> list[tuple[str, str]]:
    """The ledgers a connection can be to: the registry's (``UNIFY_LEDGER_PROVIDERS``)
    connectable providers, so a new ledger needs no migration."""
    from accounting.ledgers.registry import ledger_providers

    return [(key, str(provider.name)) for key, provider in ledger_providers().items()]


class LedgerStatus(models.TextChoices):
    ACTIVE = "active", _("Connected")
    NEEDS_REAUTH = "needs_reauth", _("Needs to be reconnected")
    DISABLED = "disabled", _("Disconnected")


class LedgerConnection(OrgOwnedModel):
    """One ledger company connected by one organization.

    The row outlives a disconnect (status ``disabled``): postings keep pointing at it, and
    reconnecting the same company reuses it, so nothing already posted is posted again.
    """

    provider = models.CharField(_("ledger"), max_length=10, choices=ledger_provider_choices)
    status = models.CharField(
        _("status"), max_length=20, choices=LedgerStatus, default=LedgerStatus.ACTIVE
    )
    status_message = LocalizedTextField(_("status details"), blank=True)
    # The ledger's own id of the company (or company file) connected.
    company_id = models.CharField(_("company id"), max_length=100)
    company_name = models.CharField(_("company"), max_length=300, blank=True)
    # {"access_token", "refresh_token"}: ciphertext in the column, a Secret in Python.
    tokens = EncryptedJSONField(null=True, blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token_expires_at = models.DateTimeField(null=True, blank=True)
    tokens_refreshed_at = models.DateTimeField(null=True, blank=True)
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    connected_at = models.DateTimeField(_("connected"), null=True, blank=True)
    last_verified_at = models.DateTimeField(_("last checked"), null=True, blank=True)
    # The ledger's accounts, items, tax codes... for the settings form; refreshed on demand.
    catalog = models.JSONField(default=dict, blank=True, encoder=DjangoJSONEncoder)
    catalog_fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("ledger connection")
        constraints = [
            models.UniqueConstraint(
                fields=["organization"],
                condition=~Q(status="disabled"),
                name="ledger_one_active_per_org",
            ),
            models.UniqueConstraint(
                fields=["organization", "provider", "company_id"],
                name="ledger_unique_company_per_org",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_provider_display()}: {self.company_name or self.company_id}"

    @property
    def is_usable(self) -> bool:
        return self.status == LedgerStatus.ACTIVE


class SaleDocumentType(models.TextChoices):
    SALES_RECEIPT = "sales_receipt", _("Sales receipt (paid)")
    INVOICE_PAYMENT = "invoice_payment", _("Invoice + payment")
    DAILY_SUMMARY = "daily_summary", _("Daily summary per store (journal entry)")


class PostingTrigger(models.TextChoices):
    AFTER_IMPORT = "after_import", _("Automatically after each import")
    SCHEDULE = "schedule", _("On a schedule")
    MANUAL = "manual", _("Only by hand from the Sales tab")


class CustomerStrategy(models.TextChoices):
    PER_BUYER = (
        "per_buyer",
        _("One customer per buyer (matched by email, else by name; created when missing)"),
    )
    PER_STORE = "per_store", _("One customer per store or marketplace")


class LabelCostMode(models.TextChoices):
    EXPENSE = "expense", _("As an expense (paid)")
    BILL = "bill", _("As a bill (payable)")
    OFF = "off", _("Do not post label costs")


class LabelVendorMode(models.TextChoices):
    """Who a label cost is owed to: the carrier, or the source the label was bought in (its
    connection's provider, named from the source registry; the stored value dates from when
    ShipStation was the only source and is kept so no row changes)."""

    CARRIER = "carrier", _("The carrier (USPS, UPS, FedEx...)")
    LABEL_SELLER = "shipstation", _("Where the label was bought (the connected source)")


def _default_statuses() -> list[str]:
    return ["shipped"]


class MarketplaceTaxTreatment(models.TextChoices):
    """What a sale posts for tax that a marketplace collected and remitted itself."""

    EXCLUDE = "exclude", _("Post the sale without the tax (no sales tax liability)")
    CLEARING = "clearing", _("Net the tax on a clearing account (collected and remitted)")


class PostingSettings(OrgOwnedModel):
    """How one ledger connection receives orders. Ids are the ledger's own ids."""

    ledger_connection = models.OneToOneField(
        LedgerConnection, on_delete=models.CASCADE, related_name="posting_settings"
    )
    document_type = models.CharField(
        _("post each order as"),
        max_length=20,
        choices=SaleDocumentType,
        default=SaleDocumentType.SALES_RECEIPT,
    )
    eligible_statuses = models.JSONField(_("order statuses to post"), default=_default_statuses)
    start_date = models.DateField(_("post orders from"), null=True, blank=True)
    # SourceStore ids; empty means every store.
    store_ids = models.JSONField(_("stores"), default=list, blank=True)
    trigger = models.CharField(
        _("when"), max_length=20, choices=PostingTrigger, default=PostingTrigger.MANUAL
    )
    schedule_interval_minutes = models.PositiveIntegerField(_("post every"), default=24 * 60)
    last_scheduled_at = models.DateTimeField(null=True, blank=True)

    customer_strategy = models.CharField(
        _("customers"), max_length=20, choices=CustomerStrategy, default=CustomerStrategy.PER_BUYER
    )
    item_match_sku = models.BooleanField(_("match SKUs to ledger items"), default=True)
    item_create_missing = models.BooleanField(_("create missing items"), default=True)
    default_item_id = models.CharField(_("default item"), max_length=64, blank=True)
    # The merchant's own item for shipping lines, when chosen; blank: Unify's own item on the
    # shipping income account (a merchant's "Shipping" item is used only when chosen here).
    shipping_item_id = models.CharField(_("shipping item"), max_length=64, blank=True)

    product_income_account_id = models.CharField(_("product income"), max_length=64, blank=True)
    shipping_income_account_id = models.CharField(_("shipping income"), max_length=64, blank=True)
    discount_account_id = models.CharField(_("discounts"), max_length=64, blank=True)
    tax_liability_account_id = models.CharField(_("sales tax liability"), max_length=64, blank=True)
    deposit_account_id = models.CharField(_("deposit to"), max_length=64, blank=True)
    payment_method_id = models.CharField(_("payment method"), max_length=64, blank=True)
    shipping_expense_account_id = models.CharField(_("shipping expense"), max_length=64, blank=True)
    label_payment_account_id = models.CharField(
        _("account that pays label costs"), max_length=64, blank=True
    )
    # Return labels (``ShippingCost.is_return``) are not outbound shipping: blank posts
    # them to the shipping expense account with "Return label" on the line.
    return_label_account_id = models.CharField(_("return label expense"), max_length=64, blank=True)
    # Fulfillment fees are posted like label costs (same mode and paying account); blank:
    # the shipping expense account, and the fulfillment provider as the vendor.
    fulfillment_fee_account_id = models.CharField(
        _("fulfillment fee expense"), max_length=64, blank=True
    )
    fulfillment_fee_vendor = models.CharField(
        _("fulfillment fee vendor"), max_length=100, blank=True
    )
    reconciliation_enabled = models.BooleanField(
        _("post differences to a reconciliation account"), default=False
    )
    reconciliation_account_id = models.CharField(
        _("reconciliation difference"), max_length=64, blank=True
    )

    label_cost_mode = models.CharField(
        _("label costs"), max_length=10, choices=LabelCostMode, default=LabelCostMode.EXPENSE
    )
    label_vendor_mode = models.CharField(
        _("label cost vendor"),
        max_length=20,
        choices=LabelVendorMode,
        default=LabelVendorMode.LABEL_SELLER,
    )
    default_tax_code_id = models.CharField(_("tax code"), max_length=64, blank=True)
    # {"<SourceStore id>": "<tax code id>"} and {"<country>-<state>": "<tax code id>"}.
    tax_code_by_store = models.JSONField(default=dict, blank=True)
    tax_code_by_destination = models.JSONField(default=dict, blank=True)
    document_number_prefix = models.CharField(
        _("document number prefix"), max_length=8, blank=True, default="SS-"
    )
    # A document the ledger refuses for its closed books (a closing date, lock dates) is
    # held; with this on it is dated the first open day instead and posted.
    post_on_first_open_day = models.BooleanField(
        _("post on the first open day when the books are closed"), default=False
    )
    # Marketplace-facilitator tax (``accounting.services.differences``): {"<SourceStore id>":
    # true/false}; a store without an entry follows its marketplace (on for the known ones).
    marketplace_tax_by_store = models.JSONField(default=dict, blank=True)
    marketplace_tax_treatment = models.CharField(
        _("tax the marketplace collected"),
        max_length=10,
        choices=MarketplaceTaxTreatment,
        default=MarketplaceTaxTreatment.EXCLUDE,
    )
    marketplace_tax_account_id = models.CharField(
        _("marketplace tax clearing"), max_length=64, blank=True
    )

    class Meta:
        verbose_name = _("posting settings")
        verbose_name_plural = _("posting settings")

    def __str__(self) -> str:
        return f"settings of {self.ledger_connection_id}"


class PostingKind(models.TextChoices):
    SALE = "sale", _("Sale")
    SHIPPING_COST = "shipping_cost", _("Label cost")
    SUMMARY = "summary", _("Daily summary")
    # A fulfillment provider's fee (an order the source had fulfilled), posted like a label
    # cost.
    FULFILLMENT_FEE = "fulfillment_fee", _("Fulfillment fee")


class PostingState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    IN_FLIGHT = "in_flight", _("Posting")
    QUEUED = "queued", _("Queued in the ledger")
    POSTED = "posted", _("Posted")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")
    # Taken out of the ledger again (a label voided after its cost was posted); the ledger id
    # stays for the record.
    REMOVED = "removed", _("Removed from the ledger")


OPEN_POSTING_STATES = (PostingState.PENDING, PostingState.IN_FLIGHT, PostingState.QUEUED)


class HoldReason(models.TextChoices):
    """Why a failed posting is held: the ledger or the order must change first (a retry
    alone fails the same way)."""

    CLOSED_BOOKS = "closed_books", _("Books closed for its date")
    CURRENCY = "currency", _("Currency the ledger does not take")
    UNPAID = "unpaid", _("Order not paid")


class PostingBatch(OrgOwnedModel):
    """One "Post selected", "Post all filtered", "Retry failed" or automatic run, so a page
    can show its progress."""

    class Origin(models.TextChoices):
        SELECTED = "selected", _("Post selected")
        FILTERED = "filtered", _("Post all filtered")
        RETRY = "retry", _("Retry failed")
        AFTER_IMPORT = "after_import", _("After import")
        SCHEDULE = "schedule", _("Schedule")
        UPDATE = "update", _("Update changed")

    ledger_connection = models.ForeignKey(
        LedgerConnection, on_delete=models.CASCADE, related_name="batches"
    )
    origin = models.CharField(_("started by"), max_length=20, choices=Origin)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    total = models.PositiveIntegerField(_("documents"), default=0)
    # Orders asked for but not eligible (ignored, cancelled, wrong status, already posted).
    not_eligible = models.PositiveIntegerField(_("not eligible"), default=0)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("posting batch")

    def __str__(self) -> str:
        return f"{self.get_origin_display()} #{self.pk}"


class Posting(OrgOwnedModel):
    ledger_connection = models.ForeignKey(
        LedgerConnection, on_delete=models.PROTECT, related_name="postings"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PostingKind)
    # "order:<id>", "label:<id>", "summary:<store key>:<yyyy-mm-dd>": stable for the life of
    # the source record, whatever happens to it.
    source_reference = models.CharField(_("source"), max_length=120)
    order = models.ForeignKey(
        "sales.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="postings"
    )
    shipping_cost = models.ForeignKey(
        "sales.ShippingCost",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="postings",
    )
    fulfillment_fee = models.ForeignKey(
        "sales.FulfillmentFee",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="postings",
    )
    summary_date = models.DateField(null=True, blank=True)
    summary_store_key = models.CharField(max_length=64, blank=True)
    batch = models.ForeignKey(
        PostingBatch, on_delete=models.SET_NULL, null=True, blank=True, related_name="postings"
    )

    status = models.CharField(
        _("status"), max_length=20, choices=PostingState, default=PostingState.PENDING
    )
    # Fixed when the row is created (new revision only for an update of a posted document).
    idempotency_key = models.CharField(max_length=50)
    document_number = models.CharField(_("document number"), max_length=40)
    revision = models.PositiveIntegerField(default=0)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    lease_token = models.CharField(max_length=40, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Set just before a request leaves and cleared when its answer is recorded: while set,
    # the ledger may hold the document even though we have no answer, so look it up first.
    sent_at = models.DateTimeField(null=True, blank=True)

    external_id = models.CharField(_("ledger id"), max_length=64, blank=True)
    external_number = models.CharField(_("ledger number"), max_length=40, blank=True)
    external_revision = models.CharField(max_length=40, blank=True)
    secondary_external_id = models.CharField(max_length=64, blank=True)
    deep_link = models.URLField(_("link"), max_length=500, blank=True)
    document = models.JSONField(
        _("document as sent"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    answer = models.JSONField(
        _("ledger's answer"), default=dict, blank=True, encoder=DjangoJSONEncoder
    )
    # A fingerprint of the source content that was posted: a later import that changes it
    # lists the posting for review.
    content_hash = models.CharField(max_length=64, blank=True)
    needs_review = models.BooleanField(_("changed after posting"), default=False)
    error = LocalizedTextField(_("error"), blank=True)
    error_detail = models.TextField(_("error detail"), blank=True)
    # Set with each failure: why it is held ("" for a failure a retry may cure).
    hold_reason = models.CharField(_("held"), max_length=20, choices=HoldReason, blank=True)
    posted_at = models.DateTimeField(_("posted"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("posting")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ledger_connection", "kind", "source_reference"],
                name="posting_unique_source",
            ),
            models.UniqueConstraint(
                fields=["organization", "ledger_connection", "document_number"],
                name="posting_unique_document_number",
            ),
        ]
        indexes = [
            models.Index(
                fields=["ledger_connection", "status", "next_attempt_at"], name="posting_claim"
            ),
            models.Index(
                fields=["organization", "status", "-created_at"], name="posting_org_status"
            ),
            models.Index(fields=["organization", "order"], name="posting_org_order"),
            models.Index(fields=["organization", "batch"], name="posting_org_batch"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.document_number}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_POSTING_STATES


class PostingEvent(OrgOwnedModel):
    """Every transition of a posting: what the posting log and the order history show."""

    posting = models.ForeignKey(Posting, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20)
    attempt = models.PositiveIntegerField(default=0)
    message = LocalizedTextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("posting event")
        indexes = [
            models.Index(fields=["organization", "posting"], name="postingevent_org_posting")
        ]

    def __str__(self) -> str:
        return f"{self.from_status} -> {self.to_status}"


class LedgerReference(OrgOwnedModel):
    """Customers, vendors and items already found or created in the ledger, by our key, so
    each is looked up once rather than before every document."""

    ledger_connection = models.ForeignKey(
        LedgerConnection, on_delete=models.CASCADE, related_name="references"
    )
    key = models.CharField(max_length=300)  # "customer:jane@example.com", "item:sku:ABC"
    external_id = models.CharField(max_length=64)

    class Meta:
        verbose_name = _("ledger reference")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "ledger_connection", "key"], name="ledger_reference_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.key} -> {self.external_id}"


class LedgerRequestBatch(OrgOwnedModel):
    """Documents sent to a ledger in one request (``LedgerProvider.batch_size`` > 1), recorded
    before the request leaves: a retry sends the identical body with the same request id, so
    the ledger replays its first answer instead of creating the documents again."""

    ledger_connection = models.ForeignKey(
        LedgerConnection, on_delete=models.CASCADE, related_name="request_batches"
    )
    body = models.TextField()  # exactly what is sent
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ledger request batch")
        indexes = [
            models.Index(
                fields=["ledger_connection", "answered_at"], name="requestbatch_conn_answered"
            )
        ]

    @property
    def request_id(self) -> str:
        """Deterministic, derived from the batch id, within Intuit's 50 characters."""
        return f"unify-batch-{self.pk}"

    def __str__(self) -> str:
        return self.request_id


class LedgerRequestMember(OrgOwnedModel):
    """One document of a :class:`LedgerRequestBatch`: its idempotency key and its ``bId``."""

    batch = models.ForeignKey(LedgerRequestBatch, on_delete=models.CASCADE, related_name="members")
    key = models.CharField(max_length=64)
    b_id = models.CharField(max_length=10)
    # When this member's outcome was read from the batch's answer and recorded on its posting.
    # Members claimed apart (one drain holds some, another the rest) each read the replayed
    # answer; the batch is answered once every member is.
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("ledger request member")
        indexes = [models.Index(fields=["key"], name="requestmember_key")]

    def __str__(self) -> str:
        return f"{self.batch_id}:{self.b_id}"
