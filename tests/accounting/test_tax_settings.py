"""Tax code per store and per destination: the settings form, the settings page, and the
documents built from what was saved."""

from __future__ import annotations

import html
import zoneinfo

import pytest

from accounting.forms import PostingSettingsForm
from accounting.ledgers.base import CatalogEntry, LedgerCatalog
from accounting.models import PostingSettings
from accounting.services.connections import ledger_catalog_refresh
from accounting.services.documents import LedgerFacts, build_sale_document
from connections.models import SourceStore
from tests.accounting.factories import make_order, make_store_connection, mapped_settings
from tests.accounting.test_views import VALID
from tests.factories import LedgerConnectionFactory
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
CATALOG = LedgerCatalog(
    accounts=tuple(
        CatalogEntry(id=i, name=f"Account {i}", kind="Income")
        for i in ("4", "35", "79", "83", "86", "89", "90", "92")
    ),
    tax_codes=(
        CatalogEntry(id="TAX", name="TAX"),
        CatalogEntry(id="NON", name="NON"),
        CatalogEntry(id="OLD", name="Old rate", active=False),
    ),
)


def _store(organization, name: str, external_id: int) -> SourceStore:
    connection = make_store_connection(organization)
    return SourceStore.all_orgs.create(
        organization=organization, connection=connection, external_id=external_id, name=name
    )


def _rules(*rows: tuple[str, str, str], initial: int = 0, deleted: tuple[int, ...] = ()):
    data = {
        "destination-TOTAL_FORMS": str(len(rows)),
        "destination-INITIAL_FORMS": str(initial),
        "destination-MIN_NUM_FORMS": "0",
        "destination-MAX_NUM_FORMS": "1000",
    }
    for i, (country, state, code) in enumerate(rows):
        data[f"destination-{i}-country"] = country
        data[f"destination-{i}-state"] = state
        data[f"destination-{i}-tax_code_id"] = code
        if i in deleted:
            data[f"destination-{i}-DELETE"] = "on"
    return data


def _form(ps, data, stores):
    return PostingSettingsForm(
        data,
        instance=ps,
        catalog=CATALOG,
        stores=[(s.pk, str(s)) for s in stores],
        sale_kinds=("sales_receipt", "invoice_payment"),
    )


def _build(order, ps):
    return build_sale_document(
        order=order,
        lines=list(order.lines.model.all_orgs.filter(order=order)),
        posting_settings=ps,
        facts=LedgerFacts(connection_id=ps.ledger_connection_id, doc_number_max_length=21),
        document_number="SS-1",
        idempotency_key="unify-test",
        source_reference=f"order:{order.pk}",
        refs={},
        tz=NY,
    )


@pytest.fixture
def settings_row(org_a):
    return mapped_settings(LedgerConnectionFactory(organization=org_a))


def test_form_saves_store_and_destination_tax_codes_normalised(org_a, settings_row):
    etsy, web = _store(org_a, "Etsy", 1), _store(org_a, "Web", 2)
    data = dict(
        VALID,
        **{f"tax_code_store_{etsy.pk}": "NON", f"tax_code_store_{web.pk}": ""},
        **_rules(("us", " ca ", "TAX"), ("CA", "", "NON"), ("", "", "")),
    )
    form = _form(settings_row, data, [etsy, web])
    assert form.is_valid(), (form.errors, form.destination_rules.errors)
    assert form.tax_code_values() == {
        "tax_code_by_store": {str(etsy.pk): "NON"},
        "tax_code_by_destination": {"CA": "NON", "US-CA": "TAX"},
    }


@pytest.mark.parametrize(
    ("rows", "field", "message"),
    [
        ((("USA", "", "TAX"),), "country", "two-letter country code"),
        ((("U1", "", "TAX"),), "country", "two-letter country code"),
        ((("", "CA", "TAX"),), "country", "two-letter country code"),
        ((("US", "CA", ""),), "tax_code_id", "Choose the tax code"),
        ((("US", "CA", "999"),), "tax_code_id", "Select a valid choice"),
        ((("US", "CA", "OLD"),), "tax_code_id", "Select a valid choice"),
        ((("US", "C@", "TAX"),), "state", "state or province"),
    ],
)
def test_form_rejects_a_bad_destination_rule(org_a, settings_row, rows, field, message):
    form = _form(settings_row, dict(VALID, **_rules(*rows)), [])
    assert not form.is_valid()
    (row_errors,) = form.destination_rules.errors
    assert message in " ".join(row_errors[field])


def test_form_rejects_a_duplicate_destination(org_a, settings_row):
    form = _form(settings_row, dict(VALID, **_rules(("US", "CA", "TAX"), ("us", "ca", "NON"))), [])
    assert not form.is_valid()
    assert "There is already a rule for US-CA." in form.destination_rules.errors[1]["country"]


def test_form_rejects_a_store_tax_code_the_ledger_does_not_have(org_a, settings_row):
    etsy = _store(org_a, "Etsy", 1)
    form = _form(settings_row, dict(VALID, **{f"tax_code_store_{etsy.pk}": "999"}), [etsy])
    assert not form.is_valid()
    assert "Select a valid choice" in form.errors[f"tax_code_store_{etsy.pk}"][0]


def test_form_removes_a_ticked_rule_and_keeps_the_others(org_a, settings_row):
    settings_row.tax_code_by_destination = {"US-CA": "TAX", "US-NY": "NON"}
    settings_row.save()
    data = dict(VALID, **_rules(("US", "CA", "TAX"), ("US", "NY", "NON"), initial=2, deleted=(0,)))
    form = _form(settings_row, data, [])
    assert form.is_valid(), form.destination_rules.errors
    assert form.tax_code_values()["tax_code_by_destination"] == {"US-NY": "NON"}


def test_form_shows_the_saved_rules_and_stale_codes(org_a, settings_row):
    etsy = _store(org_a, "Etsy", 1)
    settings_row.tax_code_by_store = {str(etsy.pk): "GONE"}
    settings_row.tax_code_by_destination = {"US-CA": "TAX", "DE": "GONE"}
    settings_row.save()
    form = _form(settings_row, None, [etsy])
    assert [f.initial for f in form.destination_rules.initial_forms] == [
        {"country": "DE", "state": "", "tax_code_id": "GONE"},
        {"country": "US", "state": "CA", "tax_code_id": "TAX"},
    ]
    assert len(form.destination_rules.forms) == 2 + 3  # saved rows and three blank ones
    assert form.stale_mappings() == ["Tax code of Etsy", "Tax code for DE"]


def test_post_without_the_rules_section_keeps_the_saved_rules(org_a, settings_row):
    etsy = _store(org_a, "Etsy", 1)
    settings_row.tax_code_by_store = {str(etsy.pk): "NON"}
    settings_row.tax_code_by_destination = {"US-CA": "TAX"}
    settings_row.save()
    form = _form(settings_row, dict(VALID), [etsy])
    assert form.is_valid()
    assert form.tax_code_values() == {
        "tax_code_by_store": {str(etsy.pk): "NON"},
        "tax_code_by_destination": {"US-CA": "TAX"},
    }


def test_document_carries_the_tax_code_of_its_destination_then_store_then_default(
    org_a, settings_row
):
    etsy, web = _store(org_a, "Etsy", 1), _store(org_a, "Web", 2)
    settings_row.default_tax_code_id = "TAX"
    settings_row.tax_code_by_store = {str(etsy.pk): "NON"}
    settings_row.tax_code_by_destination = {"US-CA": "CA-CODE", "CA": "GST"}
    settings_row.save()

    def tax_code(store, ship_to):
        order = make_order(
            org_a,
            lines=[("A", "A", 1, "10.00", False)],
            tax="0.80",
            source_store=store,
            ship_to=ship_to,
        )
        doc = _build(order, settings_row)
        assert doc.lines[0].tax_code_id == doc.tax_code_id
        return doc.tax_code_id

    assert tax_code(etsy, {"country": "US", "state": "CA"}) == "CA-CODE"
    assert tax_code(etsy, {"country": "CA", "state": "ON"}) == "GST"
    assert tax_code(web, {"country": "ca", "state": ""}) == "GST"
    assert tax_code(etsy, {"country": "US", "state": "NY"}) == "NON"
    assert tax_code(web, {"country": "US", "state": "NY"}) == "TAX"
    assert tax_code(None, {}) == "TAX"


def test_settings_page_saves_tax_codes_per_store_and_destination(
    owner_client, org_a, org_b, qbo_ledger
):
    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    etsy = _store(org_a, "Etsy", 1)
    other = _store(org_b, "Other org store", 9)
    url = f"/o/{org_a.slug}/accounting/settings/"
    page = html.unescape(owner_client.get(url).content.decode())
    assert f'name="tax_code_store_{etsy.pk}"' in page
    assert f"tax_code_store_{other.pk}" not in page and "Other org store" not in page
    assert 'name="destination-TOTAL_FORMS"' in page

    bad = dict(VALID, **_rules(("US", "CA", "TAX"), ("US", "CA", "NON")))
    response = owner_client.post(url, bad)
    assert response.status_code == 200
    assert "There is already a rule for US-CA." in html.unescape(response.content.decode())
    ps = PostingSettings.all_orgs.get(ledger_connection=qbo_ledger)
    assert ps.tax_code_by_destination == {}

    good = dict(
        VALID,
        **{f"tax_code_store_{etsy.pk}": "NON"},
        **_rules(("us", "ca", "TAX"), ("", "", "")),
    )
    response = owner_client.post(url, good)
    assert response.status_code == 302
    ps.refresh_from_db()
    assert ps.tax_code_by_store == {str(etsy.pk): "NON"}
    assert ps.tax_code_by_destination == {"US-CA": "TAX"}

    page = owner_client.get(url).content.decode()
    assert 'name="destination-0-country" value="US"' in page
    assert 'name="destination-0-state" value="CA"' in page
    assert 'name="destination-0-DELETE"' in page
    assert 'name="destination-3-country"' in page  # three blank rows to add rules

    order = make_order(
        org_a,
        lines=[("A", "A", 1, "10.00", False)],
        tax="0.80",
        source_store=etsy,
        ship_to={"country": "US", "state": "CA"},
    )
    assert _build(order, ps).tax_code_id == "TAX"


def test_settings_page_names_the_connection_of_stores_that_share_a_name(
    owner_client, org_a, qbo_ledger
):
    from connections.models import StoreConnection

    with org_scope(qbo_ledger.organization_id):  # as the settings page calls it
        ledger_catalog_refresh(connection=qbo_ledger)
    east = StoreConnection.all_orgs.create(organization=org_a, name="East warehouse")
    west = StoreConnection.all_orgs.create(organization=org_a, name="West warehouse")
    amazon_east = SourceStore.all_orgs.create(
        organization=org_a, connection=east, external_id=1, name="Amazon",
        marketplace_name="Amazon",
    )  # fmt: skip
    amazon_west = SourceStore.all_orgs.create(
        organization=org_a, connection=west, external_id=2, name="Amazon",
        marketplace_name="Amazon",
    )  # fmt: skip
    page = html.unescape(owner_client.get(f"/o/{org_a.slug}/accounting/settings/").content.decode())
    for store, connection in ((amazon_east, "East warehouse"), (amazon_west, "West warehouse")):
        label = f"Amazon (Amazon) · {connection}"
        assert (
            f'<label class="form-label" for="id_tax_code_store_{store.pk}">{label}</label>' in page
        )
