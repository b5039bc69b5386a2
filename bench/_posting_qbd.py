"""QuickBooks Desktop posting benchmark (``python bench/posting.py --ledger qbd``, or ``both``,
the default; see ``posting.py``): the orders posted through the SOAP endpoint of Unify's app,
served on loopback in a process of its own, by the Web Connector simulator.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid

import requests
from _support import ROOT, CpuMeter

# --- QuickBooks Desktop -----------------------------------------------------------------------


def serve_unify(profile: str = ""):
    """Unify's WSGI app on a loopback port in a process of its own (``_serve_unify.py``):
    (base URL, process)."""
    command = [sys.executable, str(ROOT / "bench" / "_serve_unify.py")]
    if profile:
        command += ["--profile", profile]
    proc = subprocess.Popen(
        command, cwd=ROOT, env=dict(os.environ), stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("serving:"):
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return line.split(":", 1)[1].strip(), proc
    raise RuntimeError("Unify's server did not start")


def server_figures(base: str) -> dict:
    return requests.get(f"{base}/__bench__", timeout=10).json()


QBD_ACCOUNTS = {
    "product_income_account_id": "Merchandise Sales",
    "shipping_income_account_id": "Shipping Income",
    "discount_account_id": "Discounts Given",
    "tax_liability_account_id": "Sales Tax Payable",
    "deposit_account_id": "Undeposited Funds",
    "reconciliation_account_id": "Reconciliation Discrepancies",
}


def qbd_bench(n: int, profile: str = "") -> None:
    from collections import Counter

    from django.conf import settings
    from posting import DB_NAME, TARGET_MS, seed_orders

    from accounting.ledgers.qbd.services import qbd_connect
    from accounting.models import Posting, PostingSettings
    from accounting.services import posting_enqueue_orders
    from sales.models import Order
    from sandbox.qbwc import Company, WebConnector
    from unify.tenancy.models import Organization
    from unify.tenancy.scoping import org_scope

    org = Organization.objects.create(name="Bench QBD", slug=f"bench-{uuid.uuid4().hex[:10]}")
    with org_scope(org.pk):  # as the connect view, under the organization's scope
        credentials = qbd_connect(organization=org)
    base, server = serve_unify(profile)
    try:
        company = Company()
        connector = WebConnector(
            f"{base}/qbwc/", credentials.username, credentials.password, company
        )
        if not connector.run().finished:  # the first update reads the accounts
            raise SystemExit("qbd: the catalog run did not finish")
        PostingSettings.all_orgs.filter(ledger_connection=credentials.connection).update(
            label_cost_mode="off",
            reconciliation_enabled=True,
            **{f: company.find("account", name).list_id for f, name in QBD_ACCOUNTS.items()},
        )
        with org_scope(org.pk):
            seed_orders(org, n)
            posting_enqueue_orders(organization=org, order_ids=Order.objects.all())
        connector.service_seconds = 0.0
        seen = company.requests_seen
        before = server_figures(base)
        meter = CpuMeter(pids={"server": server.pid}, database=DB_NAME).start()
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        result = connector.run()
        wall = time.perf_counter() - started
        cpu = meter.stop()
        after = server_figures(base)
    finally:
        server.terminate()
        server.wait(timeout=60)
    with org_scope(org.pk):
        statuses = Counter(Posting.objects.values_list("status", flat=True))
    if statuses != Counter(posted=n) or len(company.transactions("SalesReceipt")) != n:
        raise SystemExit(f"qbd: not every order was posted once: {dict(statuses)}")
    wall_ms = connector.service_seconds * 1000 / n
    process_ms = (after["process_cpu_seconds"] - before["process_cpu_seconds"]) * 1000 / n
    handler_ms = (after["handler_cpu_seconds"] - before["handler_cpu_seconds"]) * 1000 / n
    postgres_ms = cpu.get("postgres", 0.0) * 1000 / n
    requests_sent = company.requests_seen - seen
    print(f"qbd_orders: {n}")
    print(f"qbd_requests_per_message_setting: {settings.QBD_REQUESTS_PER_MESSAGE}")
    print(f"qbd_machine_load_average_before: {load_before:.2f}")
    print(f"qbd_machine_load_average_after: {os.getloadavg()[0]:.2f}")
    print(f"cpus: {os.cpu_count()}")
    print(f"qbd_seconds: {wall:.2f}")
    print(f"qbd_documents_per_second_through_soap: {n / wall:.1f}")
    print(f"qbd_company_file_seconds: {wall - connector.service_seconds:.2f}")
    # Unify's own time: CPU time of the server process (HTTP, middleware, handlers, the
    # database client), per document; the handlers alone; PostgreSQL's backends apart.
    print(f"qbd_unify_cpu_ms_per_doc: {process_ms:.2f}")
    print(f"qbd_unify_handler_cpu_ms_per_doc: {handler_ms:.2f}")
    print(f"qbd_postgres_cpu_ms_per_doc: {postgres_ms:.2f}")
    for method, seconds in sorted(after["by_method"].items()):
        spent = seconds - before["by_method"].get(method, 0.0)
        print(f"qbd_handler_cpu_ms_per_doc_in_{method}: {spent * 1000 / n:.2f}")
    print(f"qbd_unify_cpu_ms_per_doc_target_met: {'yes' if process_ms <= TARGET_MS else 'NO'}")
    # Wall: how long the Web Connector waited for Unify's answers, per document (includes
    # PostgreSQL and the wait for a CPU on a loaded machine).
    print(f"qbd_unify_wall_ms_per_doc: {wall_ms:.2f}")
    print(f"qbd_messages: {result.exchanges}")
    print(f"qbd_soap_calls: {result.soap_calls}")
    print(f"qbd_server_requests: {after['requests'] - before['requests']}")
    print(f"qbd_round_trips_per_1000_documents: {result.exchanges * 1000 / n:.1f}")
    print(f"qbd_requests_per_1000_documents: {requests_sent * 1000 / n:.1f}")
    print(f"qbd_customers_created: {len(company.of_kind('customer'))}")
    if profile:
        import pstats

        pstats.Stats(profile).sort_stats("cumulative").print_stats(45)
