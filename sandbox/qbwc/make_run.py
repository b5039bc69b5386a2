"""What ``make run`` (``manage.py run_embedded``) tells about QuickBooks Desktop: there is no
server to point Unify at; the Web Connector simulator is run by hand."""

from __future__ import annotations


def make_run_environment() -> dict[str, str]:
    return {}


def make_run_notes() -> list[str]:
    return [
        "QuickBooks Desktop: Accounting > Connect QuickBooks Desktop, download the .qwc file, "
        "then run `.venv/bin/python -m sandbox qbwc --qwc <file>` as its Web Connector."
    ]
