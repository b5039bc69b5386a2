"""``python -m sandbox``: run every stand-in with its demo account until Ctrl-C.

``python -m sandbox qbwc --qwc unify.qwc``: play the QuickBooks Web Connector against the
Unify that issued the ``.qwc`` file (its AppURL and UserName), with a stand-in company file
kept in ``--books`` between runs; asks for the password once, then updates every
``--every`` seconds (``--once`` for a single update)."""

from __future__ import annotations

import argparse
import getpass
import signal
import sys
import threading
from pathlib import Path

from sandbox import qbo, shipstation, xero


def qbwc_main(argv: list[str]) -> int:
    from sandbox.qbwc import Company, SoapFault, WebConnector, read_qwc

    parser = argparse.ArgumentParser(prog="python -m sandbox qbwc", description=__doc__)
    parser.add_argument("--qwc", required=True, type=Path, help="the .qwc file from Unify")
    parser.add_argument("--password", help="the password Unify showed (asked for if left out)")
    parser.add_argument(
        "--books",
        type=Path,
        default=Path(".data/sandbox-qbd-company.json"),
        help="where the stand-in company file is kept (default .data/sandbox-qbd-company.json)",
    )
    parser.add_argument("--every", type=float, default=60.0, help="seconds between updates")
    parser.add_argument("--once", action="store_true", help="one update, then exit")
    args = parser.parse_args(argv)

    qwc = read_qwc(args.qwc)
    password = args.password or getpass.getpass(f"Password for {qwc['UserName']}: ")
    company = Company.load(args.books)
    connector = WebConnector(qwc["AppURL"], qwc["UserName"], password, company)
    print(f"Web Connector simulator: {qwc.get('AppName', '')} at {qwc['AppURL']}", flush=True)
    print(f"  company file: {company.name} ({args.books})", flush=True)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.is_set():
        try:
            result = connector.run()
        except (OSError, SoapFault) as exc:
            print(f"  update failed: {exc}", flush=True)
        else:
            args.books.parent.mkdir(parents=True, exist_ok=True)
            company.save(args.books)
            kinds: dict[str, int] = {}
            for txn in company.transactions():
                kinds[txn.kind] = kinds.get(txn.kind, 0) + 1
            outcome = {
                "nvu": "the user name or password was refused",
                "none": "nothing to do",
                "busy": "Unify is busy with another update",
            }.get(result.status, result.close_message or "; ".join(result.errors) or "done")
            print(
                f"  update: {outcome} ({result.exchanges} messages); books now hold "
                + (", ".join(f"{n} {k}" for k, n in sorted(kinds.items())) or "no transactions"),
                flush=True,
            )
            if result.status == "nvu":
                return 1
        if args.once:
            break
        stop.wait(args.every)
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["qbwc"]:
        return qbwc_main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default loopback)")
    parser.add_argument(
        "--shipstation-port",
        type=int,
        default=shipstation.DEFAULT_PORT,
        help=f"ShipStation stand-in port (default {shipstation.DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--qbo-port",
        type=int,
        default=qbo.DEFAULT_PORT,
        help=f"QuickBooks Online stand-in port (default {qbo.DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument(
        "--xero-port",
        type=int,
        default=xero.DEFAULT_PORT,
        help=f"Xero stand-in port (default {xero.DEFAULT_PORT}; 0 = any free port)",
    )
    parser.add_argument("--verbose", action="store_true", help="print one line per request")
    args = parser.parse_args(argv)
    print(
        "QuickBooks Desktop: connect it on the Accounting tab, download the .qwc file, then run "
        "`python -m sandbox qbwc --qwc <file>` as its Web Connector.",
        flush=True,
    )

    ship = shipstation.start_demo(args.host, args.shipstation_port, verbose=args.verbose)
    meta = ship.account_meta(shipstation.DEMO_API_KEY)
    print(f"ShipStation stand-in: {ship.base_url}", flush=True)
    print(f"  API key:    {shipstation.DEMO_API_KEY}")
    print(f"  API secret: {shipstation.DEMO_API_SECRET}")
    print(
        f"  demo account: {meta['order_count']} orders, {meta['shipment_count']} labels, "
        f"{len(meta['stores'])} stores (seed {shipstation.DEMO_SEED})"
    )
    print(
        f"  try: curl -u {shipstation.DEMO_API_KEY}:{shipstation.DEMO_API_SECRET} "
        f"'{ship.base_url}/orders?pageSize=2'"
    )
    print(f"  control API: {ship.base_url}/__sandbox__/", flush=True)
    books = qbo.start_demo(args.host, args.qbo_port, verbose=args.verbose)
    print(f"QuickBooks Online stand-in: {books.base_url}", flush=True)
    print(f"  discovery URL (intuit-oauth environment): {books.discovery_url}")
    print(f"  API base URL (python-quickbooks api_url_v3): {books.api_base_url}")
    print(f"  client id:     {qbo.DEMO_CLIENT_ID}")
    print(f"  client secret: {qbo.DEMO_CLIENT_SECRET}")
    print(f"  company: {qbo.DEFAULT_COMPANY_NAME} (realm {books.realm_id})")
    print(f"  control API: {books.base_url}/__sandbox__/qbo/companies", flush=True)
    ledger = xero.start_demo(args.host, args.xero_port, verbose=args.verbose)
    print(f"Xero stand-in: {ledger.base_url}", flush=True)
    print(f"  authorize URL: {ledger.authorize_url}")
    print(f"  token URL:     {ledger.token_url}")
    print(f"  API base URL (AccountingApi base_url): {ledger.api_base_url}")
    print(f"  client id:     {xero.DEMO_CLIENT_ID}")
    print(f"  client secret: {xero.DEMO_CLIENT_SECRET}")
    print(f"  organisations: {xero.DEFAULT_ORGANISATION_NAME} ({xero.DEFAULT_TENANT_ID}),")
    print(f"                 {xero.SECOND_ORGANISATION_NAME} ({xero.SECOND_TENANT_ID})")
    print(f"  control API: {ledger.base_url}/__sandbox__/xero/organisations", flush=True)
    print("Ctrl-C to stop.", flush=True)

    stop = threading.Event()
    # Installed explicitly: a parent without job control (a Makefile, a process supervisor)
    # starts us with SIGINT ignored, and Ctrl-C should still stop us cleanly.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        stop.wait()
    finally:
        ledger.stop()
        books.stop()
        ship.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
