"""The record of every sync run and of every record a run could not read."""

from __future__ import annotations

import math

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import OrgOwnedModel


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
    # Every record read from the source so far (orders and labels, unchanged ones too).
    records_read = models.PositiveIntegerField(_("records read"), default=0)
    # What the run waits for right now (progress display): the source's rate limit until
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
    # A record the source fails on (e.g. an HTTP 500 whenever a page holds it) is known only
    # by the modify dates of its neighbours; later runs read that window again until it reads
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
