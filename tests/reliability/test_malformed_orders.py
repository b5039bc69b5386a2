"""Hypothesis: pages mixing good orders with broken ones (missing ids, amounts that are not
numbers, broken dates, wrong shapes, out-of-range values, NULs and lone surrogates) never
crash the page, every broken record becomes an ImportIssue with a reason, every good one is
imported, and nothing of a page is half-written."""

from __future__ import annotations

import copy
import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connections.sources.base import RawRecord
from connections.sources.shipstation import mapping
from connections.sources.shipstation import wire as ss_wire
from sales.models import ImportIssue, Order, OrderLine, SyncKind, SyncRun
from sales.services.upsert import OrderFilter, order_upsert_page
from sandbox.framework import json_bytes, json_loads
from sandbox.generator import generate_merchant
from sandbox.shipstation import wire
from tests.sales.support import make_connection
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db

_DATA, _ = generate_merchant(seed=9, orders=12, days=10, stores=3,
                             now=datetime(2024, 5, 20, tzinfo=UTC))  # fmt: skip
TEMPLATES = [json_loads(json_bytes(wire.order(o))) for o in _DATA.orders]
_ids = itertools.count(10_000_000)

REQUIRED = ["orderId", "orderNumber", "orderStatus", "orderDate", "createDate", "modifyDate"]
MONEY = ["orderTotal", "amountPaid", "taxAmount", "shippingAmount"]
DATES = ["orderDate", "createDate", "modifyDate", "paymentDate"]

not_a_number = st.one_of(
    st.text(min_size=1, max_size=12).filter(lambda s: not _is_decimal(s)),
    st.booleans(),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["NaN", "Infinity", "-inf", "12,50", "$4.00", "1e999999"]),
)
out_of_range = st.sampled_from([Decimal("1e15"), Decimal("-1e13"), "99999999999999.99", 10**20])
not_a_date = st.one_of(
    st.text(max_size=30).filter(lambda s: s.strip() and not _is_timestamp(s)),
    st.integers(),
    st.booleans(),
    st.sampled_from(["2024-13-45T99:00:00.0000000", "yesterday", "2024-02-30T00:00:00"]),
)
# Truthy: an empty value (0, "", []) in an optional object reads as "absent", which is fine.
not_an_object = st.one_of(
    st.integers(min_value=1), st.text(min_size=1, max_size=5),
    st.lists(st.integers(), min_size=1, max_size=2),
)  # fmt: skip
nasty_text = st.text(
    alphabet=st.sampled_from(["a", "\x00", "\ud800", "\udfff", "é", "😀", "\n", '"']),
    min_size=1,
    max_size=40,
)


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text.strip()).is_finite()
    except Exception:
        return False


def _is_timestamp(text: str) -> bool:
    try:
        return mapping.parse_timestamp(text) is not None
    except Exception:
        return False


@st.composite
def broken_order(draw):
    """An order with one definite defect; returns (record, defect description)."""
    record = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    record["orderId"] = next(_ids)
    kind = draw(st.sampled_from(
        ["missing", "money", "range", "date", "items", "item_qty", "item_price", "address"]
    ))  # fmt: skip
    if kind == "missing":
        field = draw(st.sampled_from(REQUIRED))
        if draw(st.booleans()):
            del record[field]
        else:
            record[field] = None if field != "orderNumber" else draw(st.sampled_from(["", "  "]))
    elif kind == "money":
        record[draw(st.sampled_from(MONEY))] = draw(not_a_number)
    elif kind == "range":
        record[draw(st.sampled_from(MONEY))] = draw(out_of_range)
    elif kind == "date":
        record[draw(st.sampled_from(DATES))] = draw(not_a_date)
    elif kind == "items":
        record["items"] = draw(st.one_of(st.integers(), st.text(max_size=4), st.just({"a": 1})))
    elif kind in ("item_qty", "item_price"):
        if not record["items"]:
            record["items"] = [copy.deepcopy(TEMPLATES[0]["items"][0])]
        item = draw(st.sampled_from(record["items"]))
        if kind == "item_qty":
            item["quantity"] = draw(st.one_of(st.none(), not_a_number, st.just(10**12)))
        else:
            item["unitPrice"] = draw(st.one_of(not_a_number, st.just("1e11")))
    else:
        record[draw(st.sampled_from(["billTo", "shipTo", "advancedOptions"]))] = draw(not_an_object)
    return record, kind


@st.composite
def good_order(draw):
    record = copy.deepcopy(draw(st.sampled_from(TEMPLATES)))
    record["orderId"] = next(_ids)
    if draw(st.booleans()):
        # Unpleasant but valid text must be stored, not rejected, and must not break SQL.
        record["customerNotes"] = draw(nasty_text)
        record["billTo"] = dict(record["billTo"] or {}, name=draw(nasty_text))
        if record["items"]:
            record["items"][0] = dict(record["items"][0], name=draw(nasty_text))
    return record


@st.composite
def page(draw):
    good = draw(st.lists(good_order(), max_size=4))
    broken = draw(st.lists(broken_order(), min_size=1, max_size=4))
    nulls = draw(st.integers(min_value=0, max_value=2))
    entries = [*good, *(record for record, _ in broken), *([None] * nulls)]
    order = draw(st.permutations(range(len(entries))))
    return [entries[i] for i in order], good, broken


@pytest.fixture
def run(org_a):
    connection = make_connection(org_a)
    now = timezone.now()
    with org_scope(org_a.pk):
        yield SyncRun.objects.create(
            organization=org_a, connection=connection, kind=SyncKind.MANUAL, status="running",
            window_start=now, window_end=now,
        )  # fmt: skip


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(generated=page())
def test_broken_orders_become_issues_and_never_sink_their_page(run, generated):
    entries, good, broken = generated
    with org_scope(run.organization_id):
        ImportIssue.objects.all().delete()
        Order.objects.all().delete()
        envelope = {"orders": entries, "total": len(entries), "page": 1, "pages": 1}
        # What the adapter does with a page: map each record on its own.
        mapped = mapping.map_page(
            "order", envelope, list_key="orders", page=1, mapper=mapping.map_order
        )
        with transaction.atomic():
            result = order_upsert_page(
                organization_id=run.organization_id,
                connection_id=run.connection_id,
                orders=mapped.items,
                errors=mapped.errors,
                order_filter=OrderFilter(),
                currency="USD",
                run_id=run.pk,
                synced_at=timezone.now(),
            )

        issues = list(ImportIssue.objects.filter(run=run))
        imported = set(Order.objects.values_list("external_id", flat=True))
    assert mapped.skipped_nulls == entries.count(None)
    assert imported == {str(r["orderId"]) for r in good}
    assert result.created == len(good)
    # Two identical broken records (e.g. both without an orderId) are one issue of the run.
    distinct_broken = {json_bytes(record) for record, _ in broken}
    assert result.issues == len(issues) == len(distinct_broken)
    assert all(issue.reason.strip() for issue in issues)
    by_ref = {issue.external_ref for issue in issues}
    for record, kind in broken:
        assert str(record.get("orderId")) in by_ref or kind == "missing", (kind, by_ref)
    with org_scope(run.organization_id):
        # Lines belong only to imported orders; a broken order left nothing half-written.
        assert set(OrderLine.objects.values_list("order__external_id", flat=True)) <= imported


def _wire_body(value) -> bytes:
    """JSON as ShipStation sends it (money as numbers); a lone surrogate, which only an
    escape can carry, makes it ASCII-escaped JSON instead."""
    try:
        return json_bytes(value)
    except UnicodeEncodeError:
        return json.dumps(value, default=str).encode()


def _summary(page):
    return (
        [(o, dict(o.bill_to), dict(o.ship_to)) for o in page.items],
        [(e.kind, e.external_ref, e.reason) for e in page.errors],
        page.skipped_nulls,
    )


@settings(max_examples=200, deadline=None)
@given(generated=page())
def test_the_typed_reader_maps_every_record_as_the_dict_mapper_does(generated):
    """Pages are read by typed fields where a record has the usual shape and by the dict
    mapper otherwise; whichever reads a record, the result (or the reason it is refused)
    is the dict mapper's."""
    entries, good, _broken = generated
    body = _wire_body({"orders": entries, "total": len(entries), "page": 1, "pages": 1})
    reference = mapping.map_page(
        "order", json_loads(body), list_key="orders", page=1, mapper=mapping.map_order
    )
    read = mapping.map_page(
        "order", ss_wire.read_list_page(body, "orders"), list_key="orders", page=1,
        mapper=mapping.map_order,
    )  # fmt: skip
    assert _summary(read) == _summary(reference)
    assert len(read.items) >= len(good)  # out-of-range amounts are refused later


def test_the_typed_reader_takes_the_usual_orders_and_keeps_their_text():
    for template in TEMPLATES:
        record = RawRecord(json_bytes(template))
        order = mapping._map_wire_order(record)
        assert order is not None
        assert order == mapping.map_order(dict(json_loads(record.data)))
        assert order.raw is record
    odd = RawRecord(json_bytes({**TEMPLATES[0], "orderNumber": 1042}))  # a number, not text
    assert mapping._map_wire_order(odd) is None
    assert mapping.map_order(odd).number == "1042"


# --- labels: the typed reader against the dict mapper ----------------------------------------

LABELS = [json_loads(json_bytes(wire.shipment(s, include_items=False))) for s in _DATA.shipments]
LABEL_FIELDS = [
    "shipmentId", "orderId", "orderKey", "orderNumber", "createDate", "shipDate", "carrierCode",
    "serviceCode", "trackingNumber", "shipmentCost", "insuranceCost", "voided", "voidDate",
    "isReturnLabel", "advancedOptions",
]  # fmt: skip
any_value = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.text(max_size=12), st.sampled_from(["", "  ", "12.50", "NaN", "2024-05-02T13:02:45",
                                           "2024-05-02", "1e400"]),
    st.decimals(allow_nan=False, allow_infinity=False, places=2),
    st.lists(st.integers(), max_size=2), st.dictionaries(st.sampled_from(["storeId"]),
                                                         st.integers(), max_size=1),
)  # fmt: skip


def _read_label(raw) -> tuple:
    try:
        return ("ok", mapping.map_shipment(raw))
    except (mapping.MappingError, ValueError, TypeError, ArithmeticError) as exc:
        return ("refused", str(exc))


@settings(max_examples=300, deadline=None)
@given(
    template=st.sampled_from(LABELS),
    changes=st.dictionaries(st.sampled_from(LABEL_FIELDS), any_value, max_size=3),
    dropped=st.lists(st.sampled_from(LABEL_FIELDS), max_size=2),
)
def test_the_typed_reader_maps_every_label_as_the_dict_mapper_does(template, changes, dropped):
    record = {k: v for k, v in {**template, **changes}.items() if k not in dropped}
    body = _wire_body(record)
    reference = _read_label(json_loads(body))
    read = _read_label(RawRecord(body))
    assert read == reference


def test_the_typed_reader_takes_the_usual_labels():
    for template in LABELS:
        record = RawRecord(json_bytes(template))
        label = mapping._map_wire_shipment(record)
        assert label is not None
        assert label == mapping.map_shipment(dict(json_loads(record.data)))
        assert label.raw is record
