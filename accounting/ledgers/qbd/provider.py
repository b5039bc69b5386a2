"""QuickBooks Desktop as a ledger provider: no OAuth, no tokens. Connecting creates a Web
Connector user and a ``.qwc`` file (``services.py``); the provider's own views and URLs live
in this package (``views.py``, ``urls.py``, ``soap_views.py``)."""

from __future__ import annotations

from typing import ClassVar

from accounting.ledgers.base import (
    ConnectResult,
    DocumentKind,
    LedgerAdapter,
    LedgerProvider,
    OAuthTokens,
    TokenStore,
)
from accounting.ledgers.qbd import names
from accounting.ledgers.qbd.adapter import PROVIDER, QbdAdapter
from unify.core.exceptions import DomainError


class QbdProvider(LedgerProvider):
    key = PROVIDER
    name = "QuickBooks Desktop"
    # Its sandbox stand-in for make run (see run_embedded).
    stand_in = "sandbox.qbwc.make_run"
    connect_kind = "web_connector"
    asynchronous = True
    # Posted documents are not edited or removed through the Web Connector: a change after
    # posting is listed for the bookkeeper to make in QuickBooks.
    supports_update = False
    doc_number_max_length = names.REF_NUMBER
    # The builder's lengths so far; the QBXML writer fits names to names.CUSTOMER_NAME etc.
    name_max_length = 100
    payment_reference_max_length = 21
    sale_kinds = (DocumentKind.SALES_RECEIPT, DocumentKind.INVOICE_PAYMENT)
    # The Accounting tab's card for this ledger (setup, last contact, queue, errors).
    card_template = "accounting/qbd/_card.html"
    field_limits: ClassVar[dict[str, int]] = {
        "RefNumber": names.REF_NUMBER,
        "CustomerName": names.CUSTOMER_NAME,
        "VendorName": names.VENDOR_NAME,
        "ItemName": names.ITEM_NAME,
        "Memo": names.MEMO,
    }

    def authorization_url(self, *, state: str, redirect_uri: str) -> str:
        raise DomainError("QuickBooks Desktop connects through the Web Connector, not OAuth")

    def complete_authorization(
        self, *, code: str, company_id: str, redirect_uri: str
    ) -> ConnectResult:
        raise DomainError("QuickBooks Desktop connects through the Web Connector, not OAuth")

    def adapter(self, *, company_id: str, tokens: TokenStore, connection_id: int) -> LedgerAdapter:
        from accounting.models import LedgerConnection

        row = (
            LedgerConnection.objects.filter(pk=connection_id)
            .values("company_name", "catalog")
            .first()
            or {}
        )
        return QbdAdapter(
            company_id=company_id,
            company_name=row.get("company_name", ""),
            catalog=row.get("catalog"),
        )

    def revoke(self, *, tokens: OAuthTokens) -> None:
        return None  # no grant to give back: disconnecting disables the Web Connector user

    def url_patterns(self, scope: str) -> list:
        from django.urls import include, path

        if scope == "tenant":
            # Its setup pages, named in their own namespace (``accounting:qbd:setup``).
            return [path("", include("accounting.ledgers.qbd.urls"))]
        if scope == "root":
            # The SOAP service the Web Connector calls (URL name ``qbwc``): the address every
            # Web Connector in the field is configured with (the .qwc file's AppURL) stays
            # /qbwc/. The ticket in each call is the credential.
            return [path("qbwc/", include("accounting.ledgers.qbd.soap_urls"))]
        return []
