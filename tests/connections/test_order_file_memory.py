"""Order files (shipping-expense mode): big files are parsed as a stream, in bounded memory."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import tracemalloc

import openpyxl
import pytest
from django.conf import settings

from connections.sources.base import SourceOrder
from connections.sources.csv.parser import OrderFileReader
from tests.connections.test_order_file import HEADER, NEW_YORK, row

pytestmark = pytest.mark.django_db


def _write_big_csv(path, orders: int) -> int:
    rows = 0
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(HEADER)
        for n in range(orders):
            for line in range(2):
                writer.writerow(row(f"B{n:07d}", sku=f"SKU-{line}", price=f"{n % 97}.{line}5"))
                rows += 1
    return rows


_MEASURE_CHILD = """
import json, re, sys
import django
django.setup()
from zoneinfo import ZoneInfo
from connections.sources.csv.parser import OrderFileReader
from connections.sources.base import SourceOrder

def status(name):
    with open("/proc/self/status") as fh:
        return int(re.search(name + r":\\s+(\\d+) kB", fh.read()).group(1))

with open("/proc/self/clear_refs", "w") as fh:
    fh.write("5")  # reset the peak (VmHWM) to the current RSS
before = status("VmRSS")
orders = lines = 0
with open(sys.argv[1], "rb") as fh:
    reader = OrderFileReader(fh, file_name="huge.csv", timezone=ZoneInfo("America/New_York"))
    for item in reader:
        orders += isinstance(item, SourceOrder)
        lines += len(item.lines)
print(json.dumps({"orders": orders, "lines": lines, "rows": reader.rows_total,
                  "rejected": reader.rows_rejected, "growth_kb": status("VmHWM") - before}))
"""


def _parse_in_child(path) -> dict:
    """Parse a file in a fresh interpreter and report how much its peak resident memory grew
    while parsing (Linux: the peak is reset through /proc/self/clear_refs first), a measure
    unaffected by this test process and by what Django's start-up allocated."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "unify.settings.test"}
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE_CHILD, str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=settings.BASE_DIR,
        timeout=600,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_huge_file_is_streamed_in_bounded_memory(tmp_path):
    path = tmp_path / "huge.csv"
    rows = _write_big_csv(path, 100_000)  # 200,000 rows
    assert rows == 200_000
    size_mb = path.stat().st_size / 1e6
    result = _parse_in_child(path)
    assert result["orders"] == 100_000 and result["lines"] == 200_000
    assert (result["rows"], result["rejected"]) == (200_000, 0)
    growth_mb = result["growth_kb"] / 1024
    print(f"\norder file: {rows} rows, {size_mb:.1f} MB on disk, peak RSS grew {growth_mb:.1f} MB")
    assert growth_mb < 50


def test_parser_memory_does_not_grow_with_the_file(tmp_path):
    """tracemalloc (exact Python allocations) on a small and a ten times larger file: the
    peak stays flat, apart from a fixed 8-byte fingerprint per order seen."""
    peaks = []
    for orders in (1_000, 10_000):
        path = tmp_path / f"orders-{orders}.csv"
        _write_big_csv(path, orders)
        tracemalloc.start()
        try:
            with path.open("rb") as fh:
                reader = OrderFileReader(fh, file_name=path.name, timezone=NEW_YORK)
                assert sum(1 for _ in reader) == orders
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    small, large = (p / 1e6 for p in peaks)
    print(f"\norder file tracemalloc peak: 2,000 rows {small:.2f} MB, 20,000 rows {large:.2f} MB")
    assert large < small + 2.0


def test_big_xlsx_is_read_row_by_row(tmp_path):
    # openpyxl in read-only mode streams the sheet; what stays in memory is the workbook's
    # shared-strings table (distinct texts), so a few thousand rows show the shape. Tracing
    # makes openpyxl slow, hence the modest size.
    path = tmp_path / "big.xlsx"
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(HEADER)
    for n in range(6_000):
        sheet.append(row(f"X{n:06d}", price=f"{n % 50}.99"))
    workbook.save(path)
    tracemalloc.start()
    try:
        with path.open("rb") as fh:
            reader = OrderFileReader(fh, file_name="big.xlsx", timezone=NEW_YORK)
            orders = sum(1 for item in reader if isinstance(item, SourceOrder))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    size_mb = path.stat().st_size / 1e6
    print(f"\norder file xlsx: 6000 rows, {size_mb:.1f} MB, peak traced {peak / 1e6:.1f} MB")
    assert orders == 6_000
    assert peak / 1e6 < 20
