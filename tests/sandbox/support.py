"""Plain-HTTP helpers for the sandbox tests: talk to the stand-in as any client would."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import requests

from sandbox.shipstation import ShipStationSandbox

KEY = "test-key-1"
SECRET = "test-secret-1"
NOW = datetime(2024, 5, 20, 18, 0, tzinfo=UTC)


def get(
    sandbox: ShipStationSandbox,
    path: str,
    *,
    auth: tuple[str, str] | None = (KEY, SECRET),
    timeout: float = 10,
    **params: Any,
) -> requests.Response:
    return requests.get(sandbox.base_url + path, params=params, auth=auth, timeout=timeout)


def parse(response: requests.Response) -> Any:
    return json.loads(response.content, parse_float=Decimal)


def get_json(sandbox: ShipStationSandbox, path: str, **params: Any) -> Any:
    response = get(sandbox, path, **params)
    assert response.status_code == 200, response.text[:500]
    return parse(response)


def all_pages(sandbox: ShipStationSandbox, path: str, list_key: str, **params: Any) -> list[Any]:
    records: list[Any] = []
    page = 1
    while True:
        body = get_json(sandbox, path, page=page, **params)
        records.extend(body[list_key])
        if page >= body["pages"]:
            return records
        page += 1


def seed_account(sandbox: ShipStationSandbox, orders: int = 300, **kwargs: Any):
    kwargs.setdefault("seed", 7)
    kwargs.setdefault("days", 30)
    kwargs.setdefault("now", NOW)
    return sandbox.add_account(KEY, SECRET, orders=orders, **kwargs)
