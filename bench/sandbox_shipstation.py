"""Benchmark the ShipStation stand-in: seeding, paging throughput, memory.

Runs the stand-in as its own process (``python -m sandbox``, so client and server do not
share a GIL), seeds an account of N orders through the control API with the rate limit off,
then pages through /orders and /shipments with pageSize=500 using plain ``requests``.

    python bench/sandbox_shipstation.py            # 100,000 orders
    python bench/sandbox_shipstation.py --quick    # 10,000 orders, well under a minute

Prints one ``name: value`` line per figure. "cold" passes include serialising each record
the first time it is served; "warm" passes serve the cached JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
KEY, SECRET = "bench-key", "bench-secret"


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process: immune to other load on a shared machine."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_ms(control: requests.Session, base: str, path: str, since: int) -> float:
    """Median time the stand-in itself spent on each request (from its request log)."""
    log = control.get(f"{base}/__sandbox__/requests", params={"key": KEY}).json()["requests"]
    durations = sorted(r["duration_ms"] for r in log[since:] if r["path"] == path)
    return durations[len(durations) // 2]


def start_server() -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--shipstation-port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("ShipStation stand-in:"):
            return proc, line.split(":", 1)[1].strip()
    raise RuntimeError("stand-in did not start")


def page_through(
    session: requests.Session, base: str, path: str, key: str, **params: object
) -> tuple[int, int, float]:
    """(pages, records, seconds) for every page of a list endpoint."""
    started = time.perf_counter()
    page, pages, records = 1, 1, 0
    while page <= pages:
        response = session.get(f"{base}{path}", params={**params, "page": page, "pageSize": 500})
        response.raise_for_status()
        body = response.json()
        pages = body["pages"]
        records += len(body[key])
        page += 1
    return pages, records, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="10,000 orders")
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    orders = 10_000 if args.quick else args.orders

    proc, base = start_server()
    try:
        control = requests.Session()
        control.delete(f"{base}/__sandbox__/rate-limit").raise_for_status()
        print(f"orders_seeded: {orders}")
        print(f"rss_mb_idle: {rss_mb(proc.pid):.0f}")
        started, cpu = time.perf_counter(), cpu_seconds(proc.pid)
        created = control.post(
            f"{base}/__sandbox__/shipstation/accounts",
            json={"key": KEY, "secret": SECRET, "seed": 1, "orders": orders, "days": args.days},
            timeout=600,
        )
        created.raise_for_status()
        print(f"seed_seconds: {time.perf_counter() - started:.2f}")
        print(f"seed_cpu_seconds: {cpu_seconds(proc.pid) - cpu:.2f}")
        meta = created.json()
        print(f"shipments_seeded: {meta['shipment_count']}")
        print(f"rss_mb_after_seed: {rss_mb(proc.pid):.0f}")

        client = requests.Session()
        client.auth = (KEY, SECRET)
        logged = 0
        for label in ("", "_warm"):
            pages, records, seconds = page_through(client, base, "/orders", "orders")
            assert records == orders, (records, orders)
            print(f"orders_pages_per_second{label}: {pages / seconds:.1f}")
            print(f"orders_per_second{label}: {records / seconds:.0f}")
            print(
                f"orders_page_server_ms{label}: {server_ms(control, base, '/orders', logged):.1f}"
            )
            logged += pages
        for label in ("", "_warm"):
            pages, records, seconds = page_through(client, base, "/shipments", "shipments")
            assert records == meta["shipment_count"]
            print(f"shipments_per_second{label}: {records / seconds:.0f}")
            logged += pages

        # An incremental sync's request: last 2 days by modifyDate, sorted, first page.
        latest = client.get(
            f"{base}/orders", params={"sortBy": "ModifyDate", "sortDir": "DESC", "pageSize": 1}
        ).json()["orders"][0]["modifyDate"]
        since = time.strftime(
            "%Y-%m-%d %H:%M:%S",
            time.localtime(time.mktime(time.strptime(latest[:19], "%Y-%m-%dT%H:%M:%S")) - 172800),
        )
        params = {"modifyDateStart": since, "sortBy": "ModifyDate", "pageSize": 500}
        timings = []
        for _ in range(10):
            t = time.perf_counter()
            client.get(f"{base}/orders", params=params).raise_for_status()
            timings.append(time.perf_counter() - t)
        print(f"filtered_page_ms: {sorted(timings)[len(timings) // 2] * 1000:.1f}")
        t = time.perf_counter()
        body = client.get(f"{base}/orders", params={"customerName": "zz-nobody"}).json()
        print(f"full_scan_filter_ms: {(time.perf_counter() - t) * 1000:.1f}")
        assert body["total"] == 0
        print(f"rss_mb: {rss_mb(proc.pid):.0f}")
        print(f"rss_mb_peak: {rss_mb(proc.pid, 'VmHWM'):.0f}")
        print(f"rss_mb_per_1000_orders: {rss_mb(proc.pid) / orders * 1000:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
