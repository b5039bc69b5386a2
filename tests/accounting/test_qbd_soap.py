"""The Web Connector's SOAP endpoint as an attacker or a confused client meets it: wrong
passwords, tickets of other connections, forged or ended tickets, hostile XML; the WSDL and
the .qwc file."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from django.utils import timezone
from lxml import etree

from accounting.ledgers.qbd.models import WebConnectorExchange, WebConnectorUser
from accounting.ledgers.qbd.services import qbd_password_regenerate
from accounting.models import Posting
from accounting.services.connections import ledger_disconnect
from sandbox.qbwc import Company, WebConnector
from tests.accounting.factories import make_order
from tests.accounting.qbd.support import (
    catalog_run,
    connect,
    enqueue,
    map_settings,
    web_connector,
)
from unify.tenancy.scoping import org_scope

pytestmark = pytest.mark.django_db(transaction=True)

NS = "http://developer.intuit.com/"


def _soap(live_server, method: str, **params) -> requests.Response:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in params.items())
    envelope = (
        '<?xml version="1.0" encoding="utf-8"?><soap:Envelope '
        'xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
        f'<{method} xmlns="{NS}">{body}</{method}></soap:Body></soap:Envelope>'
    )
    return requests.post(
        f"{live_server.url}/qbwc/",
        data=envelope.encode(),
        headers={"Content-Type": "text/xml; charset=utf-8"},
        timeout=30,
    )


def _result(response: requests.Response, method: str):
    root = etree.fromstring(response.content)
    node = root.find(f".//{{{NS}}}{method}Result")
    strings = node.findall(f"{{{NS}}}string")
    return [s.text or "" for s in strings] if strings else (node.text or "")


def _order(org, number):
    when = timezone.now() - timedelta(hours=2)
    return make_order(
        org,
        number=number,
        lines=[("MUG", "Mug", 1, "10.00", False)],
        order_date=when,
        payment_date=when,
    )


def test_wrong_password_unknown_user_and_disconnected_ledger_answer_nvu(live_server, org_a):
    credentials = connect(org_a)
    company = Company()
    wrong = WebConnector(f"{live_server.url}/qbwc/", credentials.username, "nope", company)
    assert wrong.run().status == "nvu"
    nobody = WebConnector(f"{live_server.url}/qbwc/", "unify-nobody", credentials.password, company)
    assert nobody.run().status == "nvu"
    ledger_disconnect(connection=credentials.connection)
    assert web_connector(live_server, credentials, company).run().status == "nvu"


def test_repeated_wrong_passwords_lock_the_user_name_out(live_server, org_a, settings):
    settings.QBD_AUTH_MAX_FAILURES = 3
    credentials = connect(org_a)
    for _ in range(3):
        answer = _soap(
            live_server, "authenticate", strUserName=credentials.username, strPassword="x"
        )
        assert _result(answer, "authenticate")[1] == "nvu"
    answer = _soap(
        live_server,
        "authenticate",
        strUserName=credentials.username,
        strPassword=credentials.password,
    )
    assert _result(answer, "authenticate")[1] == "nvu"


def test_a_second_run_while_one_is_active_is_told_busy(live_server, org_a):
    company = Company()
    credentials = connect(org_a)
    first = _result(
        _soap(
            live_server,
            "authenticate",
            strUserName=credentials.username,
            strPassword=credentials.password,
        ),
        "authenticate",
    )
    assert first[1] == ""
    second = web_connector(live_server, credentials, company).run()
    assert second.status == "busy"


def test_a_ticket_only_works_for_its_own_session_and_connection(live_server, org_a, org_b):
    company_a, company_b = Company(), Company("Bolt Books")
    a, b = connect(org_a), connect(org_b)
    catalog_run(live_server, a, company_a)
    catalog_run(live_server, b, company_b)
    map_settings(a.connection, company_a)
    map_settings(b.connection, company_b)
    enqueue(org_a, [_order(org_a, "A-1")])
    enqueue(org_b, [_order(org_b, "B-1")])

    # B's Web Connector posts B's order into B's books, and nothing of A's.
    assert web_connector(live_server, b, company_b).run().finished
    assert [t.ref_number for t in company_b.transactions()] == ["SS-B-1"]
    assert company_a.transactions() == []
    with org_scope(org_a.pk):
        assert Posting.objects.get().status == "pending"

    forged = "x" * 43
    assert _result(
        _soap(live_server, "sendRequestXML", ticket=forged, strHCPResponse="",
              strCompanyFileName="", qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0),
        "sendRequestXML",
    ) == ""  # fmt: skip
    assert _result(
        _soap(live_server, "receiveResponseXML", ticket=forged, response="<QBXML/>", hresult="",
              message=""),
        "receiveResponseXML",
    ) == "-1"  # fmt: skip
    assert "not valid" in _result(_soap(live_server, "getLastError", ticket=forged), "getLastError")

    # A new password ends the open session: its ticket stops working at once.
    ticket_a = _result(
        _soap(live_server, "authenticate", strUserName=a.username, strPassword=a.password),
        "authenticate",
    )[0]
    with org_scope(a.connection.organization_id):  # as the setup page calls it
        qbd_password_regenerate(connection=a.connection)
    assert _result(
        _soap(live_server, "sendRequestXML", ticket=ticket_a, strHCPResponse="",
              strCompanyFileName="", qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0),
        "sendRequestXML",
    ) == ""  # fmt: skip
    with org_scope(org_a.pk):
        assert Posting.objects.get().status in ("pending", "queued")
    assert company_a.transactions() == []


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<authenticate xmlns="http://developer.intuit.com/"><strUserName>&lol4;</strUserName>
<strPassword>x</strPassword></authenticate></soap:Body></soap:Envelope>"""

XXE = """<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>
<authenticate xmlns="http://developer.intuit.com/"><strUserName>&xxe;</strUserName>
<strPassword>x</strPassword></authenticate></soap:Body></soap:Envelope>"""


@pytest.mark.parametrize("document", [BILLION_LAUGHS, XXE], ids=["entity-expansion", "xxe"])
def test_hostile_xml_is_refused_without_reading_files_or_expanding(live_server, document):
    started = time.monotonic()
    answer = requests.post(f"{live_server.url}/qbwc/", data=document.encode(), timeout=30)
    assert answer.status_code == 500
    assert b"Fault" in answer.content and b"root:" not in answer.content
    assert b"lollol" not in answer.content
    assert time.monotonic() - started < 5


def test_oversized_requests_are_refused(live_server, settings):
    settings.QBD_SOAP_MAX_BYTES = 10_000
    answer = requests.post(
        f"{live_server.url}/qbwc/", data=b"<a>" + b"x" * 20_000 + b"</a>", timeout=30
    )
    assert answer.status_code == 413


def test_hostile_qbxml_inside_a_response_ends_the_exchange_safely(live_server, org_a):
    company = Company()
    credentials = connect(org_a)
    ticket = _result(
        _soap(
            live_server,
            "authenticate",
            strUserName=credentials.username,
            strPassword=credentials.password,
        ),
        "authenticate",
    )[0]
    _soap(live_server, "sendRequestXML", ticket=ticket, strHCPResponse="", strCompanyFileName="",
          qbXMLCountry="US", qbXMLMajorVers=13, qbXMLMinorVers=0)  # fmt: skip
    inner = '<!DOCTYPE q [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><QBXML>&xxe;</QBXML>'
    escaped = inner.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    answer = _soap(
        live_server, "receiveResponseXML", ticket=ticket, response=escaped, hresult="", message=""
    )
    assert _result(answer, "receiveResponseXML") == "-1"
    error = _result(_soap(live_server, "getLastError", ticket=ticket), "getLastError")
    assert "could not read" in error and "root:" not in error
    del company


def test_wsdl_lists_the_eight_methods_in_intuits_namespace(live_server):
    answer = requests.get(f"{live_server.url}/qbwc/?wsdl", timeout=30)
    assert answer.status_code == 200
    root = etree.fromstring(answer.content)
    wsdl = "http://schemas.xmlsoap.org/wsdl/"
    assert root.get("targetNamespace") == NS
    operations = {
        op.get("name") for op in root.iterfind(f".//{{{wsdl}}}portType/{{{wsdl}}}operation")
    }
    assert operations == {
        "serverVersion", "clientVersion", "authenticate", "sendRequestXML",
        "receiveResponseXML", "connectionError", "getLastError", "closeConnection",
    }  # fmt: skip
    address = root.find(".//{http://schemas.xmlsoap.org/wsdl/soap/}address")
    assert address.get("location") == f"{live_server.url}/qbwc/"


def test_qwc_file_has_the_documented_elements_and_no_password(client, owner_of_a, org_a):
    client.force_login(owner_of_a.user)
    page = client.post(f"/o/{org_a.slug}/accounting/qbd/connect/")
    assert page.status_code == 200
    user = WebConnectorUser.all_orgs.get(organization=org_a)
    password = page.context["credentials"].password
    qwc = client.get(f"/o/{org_a.slug}/accounting/qbd/{user.ledger_connection_id}/unify.qwc")
    assert qwc["Content-Disposition"] == 'attachment; filename="unify.qwc"'
    body = qwc.content.decode()
    root = etree.fromstring(qwc.content)
    assert root.tag == "QBWCXML"
    assert [c.tag for c in root] == [
        "AppName", "AppID", "AppURL", "AppDescription", "AppSupport", "UserName", "OwnerID",
        "FileID", "QBType", "Scheduler", "IsReadOnly",
    ]  # fmt: skip
    assert root.findtext("UserName") == user.username
    assert root.findtext("AppURL") == "http://testserver/qbwc/"
    assert root.findtext("QBType") == "QBFS"
    assert root.findtext("Scheduler/RunEveryNMinutes") == "15"
    import re

    guid = re.compile(r"^\{[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}\}$")
    assert guid.match(root.findtext("OwnerID")) and guid.match(root.findtext("FileID"))
    assert password not in body and "Password" not in body
    assert password not in user.password_hash


def test_session_log_keeps_the_exchanges_without_secrets(live_server, org_a):
    company = Company()
    credentials = connect(org_a)
    catalog_run(live_server, credentials, company)
    rows = list(WebConnectorExchange.all_orgs.filter(organization=org_a).order_by("pk"))
    assert [r.method for r in rows][:2] == ["authenticate", "sendRequestXML"]
    assert any("AccountQueryRq" in r.request_xml for r in rows)
    assert any("AccountRet" in r.response_xml for r in rows)
    assert not any(
        credentials.password in (r.request_xml + r.response_xml + r.result) for r in rows
    )


def test_the_password_is_stored_salted_and_an_older_slow_hash_still_works(live_server, org_a):
    """The generated password is kept as a salted SHA-256 (never the password itself); a
    user whose password was stored as Django's PBKDF2 hash before still signs in, once, and
    the hash is replaced by the current form."""
    from django.contrib.auth.hashers import make_password

    credentials = connect(org_a)
    user = WebConnectorUser.all_orgs.get(username=credentials.username)
    assert user.password_hash.startswith("sha256$")
    assert credentials.password not in user.password_hash
    other = connect(org_a.__class__.objects.create(name="Other", slug="other-qbd-hash"))
    assert WebConnectorUser.all_orgs.get(username=other.username).password_hash != (
        user.password_hash
    )
    WebConnectorUser.all_orgs.filter(pk=user.pk).update(
        password_hash=make_password(credentials.password)
    )
    company = Company()
    assert web_connector(live_server, credentials, company).run().status in ("", "none")
    user.refresh_from_db()
    assert user.password_hash.startswith("sha256$")
    assert web_connector(live_server, credentials, company).run().status in ("", "none")
    wrong = WebConnector(f"{live_server.url}/qbwc/", credentials.username, "nope", company)
    assert wrong.run().status == "nvu"
