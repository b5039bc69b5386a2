"""The Sales tab's background actions on "all N filtered" orders."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from sales.sources import reimport_label
from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import OrgOwnedModel


class BulkActionKind(models.TextChoices):
    IGNORE = "ignore", _("Ignore")
    UNIGNORE = "unignore", _("Un-ignore")
    REIMPORT = "reimport", reimport_label()
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
