from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from unify.core.fields import EncryptedJSONField
from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import OrgOwnedModel


def source_provider_choices() -> list[tuple[str, str]]:
    """The sources a connection can be of: the registry's connectable providers (a new
    source needs no migration)."""
    from connections.sources.registry import connectable_providers

    return [(provider.key, str(provider.name)) for provider in connectable_providers()]


def _default_provider() -> str:
    return source_provider_choices()[0][0]


class ConnectionMode(models.TextChoices):
    SALES_CHANNEL = "sales_channel", _("Sales channel")
    SHIPPING_EXPENSE = "shipping_expense", _("Shipping expense")


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    NEEDS_CREDENTIALS = "needs_credentials", _("Needs new keys")
    DISABLED = "disabled", _("Disconnected")


def _default_start_date():
    return (timezone.now() - timedelta(days=30)).date()


def _default_statuses() -> list[str]:
    return ["shipped"]


def _webhook_token() -> str:
    return secrets.token_urlsafe(24)


class StoreConnection(OrgOwnedModel):
    """One account of an order source (e.g. a key pair) connected by one organization."""

    provider = models.CharField(
        _("platform"), max_length=20, choices=source_provider_choices, default=_default_provider
    )
    name = models.CharField(_("connection name"), max_length=120)
    mode = models.CharField(
        _("mode"), max_length=20, choices=ConnectionMode, default=ConnectionMode.SALES_CHANNEL
    )
    # {"api_key": ..., "api_secret": ...}; ciphertext in the column, a Secret in Python.
    credentials = EncryptedJSONField(null=True, blank=True)
    credentials_hint = models.CharField(_("API key"), max_length=16, blank=True)
    # A keyed hash of the API key: finds "these keys are already connected" without
    # decrypting anything and without storing the key in a searchable form.
    credentials_fingerprint = models.CharField(max_length=64, blank=True, db_index=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ConnectionStatus, default=ConnectionStatus.ACTIVE
    )
    status_message = LocalizedTextField(_("status details"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_verified_at = models.DateTimeField(_("last verified"), null=True, blank=True)
    disconnected_at = models.DateTimeField(_("disconnected"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, default="USD")

    # Sync settings
    import_start_date = models.DateField(_("import orders from"), default=_default_start_date)
    order_statuses = models.JSONField(_("order statuses to import"), default=_default_statuses)
    sync_interval_minutes = models.PositiveIntegerField(_("auto-sync every"), default=24 * 60)
    auto_sync_enabled = models.BooleanField(_("auto-sync"), default=True)
    pull_label_costs = models.BooleanField(_("import shipping label costs"), default=True)

    # Sync state
    last_sync_at = models.DateTimeField(null=True, blank=True)
    next_sync_at = models.DateTimeField(null=True, blank=True, db_index=True)
    orders_watermark = models.DateTimeField(null=True, blank=True)
    shipments_watermark = models.DateTimeField(null=True, blank=True)

    webhook_token = models.CharField(max_length=64, default=_webhook_token, unique=True)
    webhook_ids = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "provider", "credentials_fingerprint"],
                condition=~Q(credentials_fingerprint=""),
                name="connection_unique_keys_per_org",
            )
        ]
        verbose_name = _("store connection")

    def __str__(self) -> str:
        return self.name


class SourceStore(OrgOwnedModel):
    """A store or marketplace inside the connected source account."""

    connection = models.ForeignKey(StoreConnection, on_delete=models.CASCADE, related_name="stores")
    external_id = models.BigIntegerField(_("store id at the source"))
    name = models.CharField(_("store"), max_length=200)
    marketplace_id = models.IntegerField(null=True, blank=True)
    marketplace_name = models.CharField(_("marketplace"), max_length=100, blank=True)
    active = models.BooleanField(_("active at the source"), default=True)
    included = models.BooleanField(_("import orders"), default=True)

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "connection", "external_id"], name="source_store_unique"
            )
        ]
        verbose_name = _("source store")

    def __str__(self) -> str:
        return f"{self.name} ({self.marketplace_name})" if self.marketplace_name else self.name


class OrderFileFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "Excel (XLSX)"


class OrderFileStatus(models.TextChoices):
    PROCESSING = "processing", _("Reading the file")
    FINISHED = "finished", _("Imported")
    FAILED = "failed", _("Could not be read")


class OrderFileUpload(OrgOwnedModel):
    """One uploaded order file (shipping-expense mode) and what came of it.

    The file itself is not kept: it is read once while uploading. Its orders belong to the
    shipping-expense connection it was uploaded for; every rejected row is kept as an
    ``OrderFileProblem`` with its reason.
    """

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    connection = models.ForeignKey(
        StoreConnection,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="order_files",
        verbose_name=_("connection"),
    )
    # The store for rows whose store column names none of the connection's stores.
    default_store = models.ForeignKey(
        SourceStore,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("store for rows without a known store"),
    )
    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=10, choices=OrderFileFormat)
    status = models.CharField(
        _("status"),
        max_length=20,
        choices=OrderFileStatus,
        default=OrderFileStatus.PROCESSING,
    )
    rows_total = models.PositiveIntegerField(_("rows read"), default=0)
    rows_rejected = models.PositiveIntegerField(_("rows rejected"), default=0)
    orders_found = models.PositiveIntegerField(_("orders in the file"), default=0)
    orders_created = models.PositiveIntegerField(_("orders new"), default=0)
    orders_updated = models.PositiveIntegerField(_("orders updated"), default=0)
    costs_matched = models.PositiveIntegerField(_("label costs matched"), default=0)
    # Store names in the file that are none of the connection's stores.
    unknown_stores = models.JSONField(default=list, blank=True)
    error = LocalizedTextField(_("error"), blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("order file upload")

    def __str__(self) -> str:
        return self.file_name

    @property
    def rows_imported(self) -> int:
        return self.rows_total - self.rows_rejected


class OrderFileProblem(OrgOwnedModel):
    """A rejected row of an order file, with the reason (a rejected row rejects its order)."""

    upload = models.ForeignKey(
        OrderFileUpload, on_delete=models.CASCADE, related_name="problems", db_index=False
    )
    row = models.PositiveIntegerField(_("row"), null=True, blank=True)
    order_number = models.CharField(_("order number"), max_length=100, blank=True)
    reason = LocalizedTextField(_("reason"))

    class Meta:
        ordering = ["upload", "row", "id"]
        verbose_name = _("order file problem")
        indexes = [models.Index(fields=["upload", "row"], name="orderfileproblem_upload_row")]

    def __str__(self) -> str:
        return f"{self.row}: {self.reason}"


class OrderFileContent(OrgOwnedModel):
    """An uploaded file's bytes, kept only until a worker has read it (then deleted): the
    database carries them from the web process to the worker, so no shared disk is needed."""

    upload = models.OneToOneField(
        OrderFileUpload, on_delete=models.CASCADE, related_name="content", primary_key=True
    )
    data = models.BinaryField()

    class Meta:
        verbose_name = _("order file content")

    def __str__(self) -> str:
        return f"{self.upload_id}"
