"""What QuickBooks Desktop needs beyond the shared ledger tables: the Web Connector's
credentials per ledger connection, its sessions and their exchanges (for support), and the
progress of each posting's qbXML document across Web Connector runs."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from unify.core.stored_text import LocalizedTextField
from unify.tenancy.models import OrgOwnedModel


class WebConnectorUser(OrgOwnedModel):
    """The user name and hashed password a ledger connection's Web Connector signs in with,
    and the GUIDs of its ``.qwc`` file."""

    ledger_connection = models.OneToOneField(
        "accounting.LedgerConnection", on_delete=models.CASCADE, related_name="web_connector"
    )
    username = models.CharField(_("user name"), max_length=64, unique=True)
    # Django's password hash: the password itself is shown once and never stored.
    password_hash = models.CharField(max_length=256)
    password_set_at = models.DateTimeField(null=True, blank=True)
    owner_id = models.CharField(max_length=38)  # {GUID}
    file_id = models.CharField(max_length=38)  # {GUID}
    last_contact_at = models.DateTimeField(_("last contact"), null=True, blank=True)
    company_file = models.CharField(_("company file"), max_length=500, blank=True)
    qbxml_version = models.CharField(max_length=10, blank=True)
    client_version = models.CharField(max_length=40, blank=True)
    last_error = LocalizedTextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    # Ask QuickBooks for its accounts and items at the next run (set on connect and on demand).
    catalog_requested = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("Web Connector user")

    def __str__(self) -> str:
        return self.username


class SessionState(models.TextChoices):
    OPEN = "open", _("Running")
    DONE = "done", _("Finished")
    FAILED = "failed", _("Ended with an error")
    ABANDONED = "abandoned", _("Interrupted")


class WebConnectorSession(OrgOwnedModel):
    """One Web Connector run: from ``authenticate`` to ``closeConnection`` (or until it is
    abandoned). Only the SHA-256 of its ticket is stored."""

    web_connector = models.ForeignKey(
        WebConnectorUser, on_delete=models.CASCADE, related_name="sessions"
    )
    ticket_hash = models.CharField(max_length=64, unique=True)
    state = models.CharField(max_length=20, choices=SessionState, default=SessionState.OPEN)
    expires_at = models.DateTimeField()
    last_activity_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    exchanges = models.PositiveIntegerField(default=0)
    # Documents this run posted / failed, and the total it started with (for the percentage).
    total = models.PositiveIntegerField(default=0)
    posted = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    last_error = LocalizedTextField(blank=True)
    # The request handed out and not answered yet, and the names being looked up or added:
    # see ``accounting.ledgers.qbd.planner``.
    pending = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("Web Connector session")
        indexes = [models.Index(fields=["web_connector", "state"], name="qbd_session_state")]

    def __str__(self) -> str:
        return f"session {self.pk} ({self.state})"


class WebConnectorExchange(OrgOwnedModel):
    """One SOAP call of a session, for support: never a password or a ticket."""

    session = models.ForeignKey(
        WebConnectorSession, on_delete=models.CASCADE, related_name="exchange_log"
    )
    method = models.CharField(max_length=40)
    request_xml = models.TextField(blank=True)
    response_xml = models.TextField(blank=True)
    hresult = models.CharField(max_length=40, blank=True)
    message = models.TextField(blank=True)
    result = models.CharField(max_length=200, blank=True)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["id"]
        verbose_name = _("Web Connector exchange")

    def __str__(self) -> str:
        return f"{self.method} #{self.pk}"


class DocumentStep(models.TextChoices):
    NEW = "new", _("Not sent yet")
    SENT = "sent", _("Sent, answer not known")
    PAYMENT_DUE = "payment_due", _("Invoice added, payment not yet")
    PAYMENT_SENT = "payment_sent", _("Payment sent, answer not known")
    DONE = "done", _("In QuickBooks")
    FAILED = "failed", _("Refused by QuickBooks")


class QbdDocument(OrgOwnedModel):
    """Where one posting's document stands in QuickBooks Desktop, across Web Connector runs.

    ``SENT``/``PAYMENT_SENT`` mean a request left in a Web Connector message and no answer
    was recorded: the next run looks the document up by its ``RefNumber`` (and our memo
    marker) before anything is added again. An invoice keeps its ``txn_id`` when its payment
    fails, so a retry adds only the payment."""

    posting = models.OneToOneField(
        "accounting.Posting", on_delete=models.CASCADE, related_name="qbd_document"
    )
    step = models.CharField(max_length=20, choices=DocumentStep, default=DocumentStep.NEW)
    txn_id = models.CharField(max_length=64, blank=True)
    edit_sequence = models.CharField(max_length=40, blank=True)
    payment_txn_id = models.CharField(max_length=64, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_in = models.ForeignKey(
        WebConnectorSession, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Invalid references (3140) seen: the first one makes the names be looked up again.
    stale_references = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("QuickBooks Desktop document")
        indexes = [models.Index(fields=["organization", "step"], name="qbd_document_step")]

    def __str__(self) -> str:
        return f"{self.posting_id}: {self.step}"
