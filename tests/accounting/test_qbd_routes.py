"""The Web Connector's SOAP service is a route of the QuickBooks Desktop provider, mounted
through the ledger registry like its setup pages, at the address every Web Connector in the
field is configured with: /qbwc/ (named ``qbwc``)."""

from __future__ import annotations

from django.test import override_settings
from django.urls import resolve, reverse

from accounting.ledgers.qbd import soap_views
from accounting.ledgers.qbd.services import service_url
from accounting.ledgers.registry import ledger_url_patterns


def test_the_web_connector_service_stays_at_qbwc():
    assert reverse("qbwc") == "/qbwc/"
    match = resolve("/qbwc/")
    assert match.func is soap_views.endpoint
    assert (match.url_name, match.namespace) == ("qbwc", "")


@override_settings(UNIFY_PUBLIC_BASE_URL="https://unify.example")
def test_the_qwc_address_is_the_route():
    assert service_url() == "https://unify.example/qbwc/"


def test_root_routes_come_from_the_ledger_registry():
    [qbd] = ledger_url_patterns("root")  # the one ledger with an address outside clients call
    assert [str(p.pattern) for p in qbd.url_patterns] == ["qbwc/"]
    # The setup pages keep their place under the ledger's key.
    assert "qbd/" in [str(p.pattern) for p in ledger_url_patterns("tenant")]


@override_settings(
    UNIFY_LEDGER_PROVIDERS=[
        "accounting.ledgers.qbo.provider.QboProvider",
        "accounting.ledgers.xero.provider.XeroProvider",
    ]
)
def test_without_the_desktop_ledger_there_is_no_root_route():
    assert ledger_url_patterns("root") == []
