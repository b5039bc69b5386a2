"""The control API under /__sandbox__/ (what tests and the demo use to see and steer)."""

from __future__ import annotations

import requests

from sandbox.qbo import DEMO_CLIENT_ID


def _control(qbo, method: str, path: str, **kwargs):
    return requests.request(method, f"{qbo.base_url}/__sandbox__{path}", timeout=5, **kwargs)


def test_info_names_the_urls_to_configure(qbo):
    info = _control(qbo, "GET", "/").json()
    assert info["name"] == "qbo"
    assert info["discovery_url"] == qbo.discovery_url
    assert info["api_base_url"] == qbo.api_base_url
    assert info["default_realm_id"] == qbo.realm_id
    assert info["demo_client_id"] == DEMO_CLIENT_ID
    assert info["limits"] == {
        "per_minute": 500,
        "window_seconds": 60.0,
        "concurrent": 10,
        "batch_per_minute": 40,
        "batch_window_seconds": 60.0,
        "per_second": None,
        "second_window_seconds": 1.0,
        "latency_seconds": 0.0,
    }


def test_companies_documents_and_stats(qbo, api):
    created = _control(qbo, "POST", "/qbo/companies", json={"name": "Bolt Bikes Books"})
    assert created.status_code == 201
    realm = created.json()["realm_id"]
    listed = _control(qbo, "GET", "/qbo/companies").json()["companies"]
    assert {c["name"] for c in listed} == {"Sandbox Company_US_1", "Bolt Bikes Books"}
    api.post(
        api.url("salesreceipt"),
        json={
            "DocNumber": "SS-1",
            "Line": [{"Amount": "5.00", "DetailType": "SalesItemLineDetail"}],
        },
    )
    docs = _control(qbo, "GET", f"/qbo/companies/{qbo.realm_id}/documents?type=SalesReceipt").json()
    assert docs["count"] == 1
    assert docs["documents"][0]["DocNumber"] == "SS-1"
    assert docs["documents"][0]["TotalAmt"] == 5.0
    assert (
        _control(qbo, "GET", f"/qbo/companies/{realm}/documents/SalesReceipt").json()["count"] == 0
    )
    one = _control(
        qbo,
        "GET",
        f"/qbo/companies/{qbo.realm_id}/documents/salesreceipt/{docs['documents'][0]['Id']}",
    )
    assert one.json()["DocNumber"] == "SS-1"
    stats = _control(qbo, "GET", f"/qbo/companies/{qbo.realm_id}/stats").json()
    assert (stats["requests_total"], stats["requests_last_minute"]) == (1, 1)
    assert stats["max_requests_per_minute"] == 1


def test_documents_can_be_added_as_if_typed_in(qbo):
    made = _control(
        qbo,
        "POST",
        f"/qbo/companies/{qbo.realm_id}/documents/Customer",
        json={"DisplayName": "Typed In"},
    )
    assert made.status_code == 201
    assert made.json()["DisplayName"] == "Typed In"
    clash = _control(
        qbo,
        "POST",
        f"/qbo/companies/{qbo.realm_id}/documents/Customer",
        json={"DisplayName": "Typed In"},
    )
    assert clash.status_code == 400
    assert clash.json()["Fault"]["Error"][0]["code"] == "6240"


def test_settings_toggle_duplicate_doc_numbers_and_preferences(qbo):
    answer = _control(
        qbo,
        "PUT",
        f"/qbo/companies/{qbo.realm_id}/settings",
        json={
            "reject_duplicate_doc_numbers": False,
            "preferences": {"SalesFormsPrefs": {"AllowShipping": False}},
        },
    )
    assert answer.json()["reject_duplicate_doc_numbers"] is False
    assert qbo.company().preferences["SalesFormsPrefs"]["AllowShipping"] is False


def test_oauth_controls(qbo):
    tokens = _control(qbo, "POST", "/qbo/oauth/tokens", json={}).json()
    url = f"{qbo.api_base_url}/company/{qbo.realm_id}/companyinfo/{qbo.realm_id}"
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(url, headers=headers, timeout=5).status_code == 200
    assert _control(qbo, "POST", "/qbo/oauth/expire", json={"what": "access"}).json() == {
        "expired": 1
    }
    assert requests.get(url, headers=headers, timeout=5).status_code == 401
    assert _control(qbo, "POST", "/qbo/oauth/revoke", json={}).json() == {"revoked": 1}
    summary = _control(qbo, "GET", "/qbo/oauth").json()
    assert summary["grants"][0]["revoked"] is True
    settings = _control(
        qbo, "PUT", "/qbo/oauth/settings", json={"auto_approve": True, "refresh_grace_seconds": 5}
    ).json()
    assert (settings["auto_approve"], settings["refresh_grace_seconds"]) == (True, 5.0)
    clients = _control(
        qbo,
        "POST",
        "/qbo/oauth/clients",
        json={"client_id": "unify-dev", "client_secret": "s", "redirect_uris": ["http://x/cb"]},
    ).json()["clients"]
    assert {"client_id": "unify-dev", "redirect_uris": ["http://x/cb"]} in clients


def test_limits_and_after_commit_faults(qbo):
    limits = _control(
        qbo, "PUT", "/qbo/limits", json={"per_minute": None, "concurrent": 3, "latency_seconds": 0}
    ).json()
    assert (limits["per_minute"], limits["concurrent"]) == (None, 3)
    rule = _control(
        qbo, "POST", "/qbo/after-commit-faults", json={"kind": "server_error", "probability": 0.2}
    ).json()
    assert rule["probability"] == 0.2
    assert len(_control(qbo, "GET", "/qbo/after-commit-faults").json()["faults"]) == 1
    _control(qbo, "DELETE", "/qbo/after-commit-faults")
    assert qbo.after_commit_faults.rules() == []


def test_reset_forgets_documents_and_grants(qbo, api):
    api.post(api.url("customer"), json={"DisplayName": "Temp"})
    assert qbo.count("Customer") == 4
    _control(qbo, "POST", "/reset")
    assert qbo.count("Customer") == 3
    assert api.get(api.url("customer/1")).status_code == 401


def test_deep_link_page_shows_the_document(qbo, api):
    answer = api.post(
        api.url("salesreceipt"),
        json={
            "DocNumber": "SS-77",
            "Line": [{"Amount": "8.25", "DetailType": "SalesItemLineDetail"}],
        },
    )
    assert answer.headers["intuit_tid"].startswith("1-")
    receipt = answer.json()["SalesReceipt"]
    page = requests.get(
        f"{qbo.base_url}/app/salesreceipt", params={"txnId": receipt["Id"]}, timeout=5
    )
    assert page.status_code == 200
    assert "SS-77" in page.text
    assert '<span id="total">8.25</span>' in page.text
    missing = requests.get(f"{qbo.base_url}/app/salesreceipt", params={"txnId": "999"}, timeout=5)
    assert missing.status_code == 404
