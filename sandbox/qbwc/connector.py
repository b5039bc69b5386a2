"""A QuickBooks Web Connector that calls a real SOAP URL over HTTP (``requests``).

The conversation, as Intuit's Web Connector runs it (QBWC programmer's guide; the QBWC logs
show the same order): ``serverVersion``, ``clientVersion``, ``authenticate``; then while
there is work: ``sendRequestXML`` (the first call carries the host/company/preferences
answer, "HCP"), the message runs against the company file, ``receiveResponseXML`` with the
answer (or an HRESULT when QuickBooks failed the whole message) returns the percentage done;
an empty request or a negative percentage makes it call ``getLastError`` ("NoOp" = wait and
ask again); ``closeConnection`` at the end. ``connectionError`` when it cannot reach the
company file.

Fault knobs: ``cut_after`` (the connection dies right after the N-th message ran in
QuickBooks: no answer comes back, no close), ``connection_error`` (QuickBooks cannot be
opened), and the company's own knobs (``hresult_messages``, ``refuse_refs``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

import requests
from lxml import etree

from sandbox.qbwc.company import Company

NS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
DEFAULT_CLIENT_VERSION = "2.3.0.36"


class SoapFault(RuntimeError):
    pass


@dataclass
class RunResult:
    status: str  # "" (ran) | "none" | "nvu" | "busy" | "cut" | "error" | "connection_error"
    exchanges: int = 0  # request messages run against the company file
    soap_calls: int = 0
    percents: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    close_message: str = ""
    requests: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.status == "" and bool(self.percents) and self.percents[-1] == 100


def read_qwc(path: Path) -> dict[str, str]:
    """AppURL, UserName, OwnerID, FileID... of a ``.qwc`` file."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(Path(path).read_bytes(), parser=parser)
    values = {c.tag: (c.text or "").strip() for c in root if isinstance(c.tag, str)}
    scheduler = root.find("Scheduler")
    if scheduler is not None:
        values["RunEveryNMinutes"] = (scheduler.findtext("RunEveryNMinutes") or "").strip()
    return values


class WebConnector:
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        company: Company,
        *,
        company_file: str = r"C:\Users\Public\Documents\Intuit\QuickBooks\Sandbox.QBW",
        client_version: str = DEFAULT_CLIENT_VERSION,
        qbxml_major: int = 13,
        qbxml_minor: int = 0,
        noop_wait: float = 5.0,
        timeout: float = 120.0,
        http: requests.Session | None = None,
    ) -> None:
        self.url = url
        self.username = username
        self.password = password
        self.company = company
        self.company_file = company_file
        self.client_version = client_version
        self.qbxml_major = qbxml_major
        self.qbxml_minor = qbxml_minor
        self.noop_wait = noop_wait
        self.timeout = timeout
        self.http = http or requests.Session()
        self.calls = 0
        # Seconds spent waiting for the service's answers (its own time, plus loopback HTTP).
        self.service_seconds = 0.0

    # -- SOAP ---------------------------------------------------------------------------------

    def call(self, method: str, **params: object):
        body = "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in params.items())
        envelope = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<soap:Envelope xmlns:soap="{SOAP_ENV}"><soap:Body>'
            f'<{method} xmlns="{NS}">{body}</{method}></soap:Body></soap:Envelope>'
        )
        self.calls += 1
        started = time.perf_counter()
        answer = self.http.post(
            self.url,
            data=envelope.encode("utf-8"),
            headers={
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": f'"{NS}{method}"',
            },
            timeout=self.timeout,
        )
        self.service_seconds += time.perf_counter() - started
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        root = etree.fromstring(answer.content, parser=parser)
        fault = root.find(f".//{{{SOAP_ENV}}}Fault")
        if fault is not None:
            raise SoapFault(fault.findtext("faultstring") or "SOAP fault")
        result = root.find(f".//{{{NS}}}{method}Result")
        if result is None:
            raise SoapFault(f"{method}: no {method}Result in the answer")
        strings = result.findall(f"{{{NS}}}string")
        if strings:
            return [s.text or "" for s in strings]
        return result.text or ""

    # -- one update ---------------------------------------------------------------------------

    def run(self, *, cut_after: int | None = None, connection_error: bool = False) -> RunResult:
        started = time.perf_counter()
        result = RunResult(status="")
        calls_before = self.calls
        try:
            self._run(result, cut_after=cut_after, connection_error=connection_error)
        finally:
            result.soap_calls = self.calls - calls_before
            result.seconds = time.perf_counter() - started
        return result

    def _run(self, result: RunResult, *, cut_after: int | None, connection_error: bool) -> None:
        self.call("serverVersion", strVersion="")
        verdict = self.call("clientVersion", strVersion=self.client_version)
        if verdict.startswith("E:"):
            result.status = "error"
            result.errors.append(verdict[2:])
            return
        auth = self.call("authenticate", strUserName=self.username, strPassword=self.password)
        ticket, status = (auth + ["", ""])[:2]
        if status in ("nvu", "none", "busy"):
            result.status = status
            return
        if connection_error:
            self.call(
                "connectionError",
                ticket=ticket,
                hresult="0x80040408",
                message="Could not start QuickBooks.",
            )
            result.status = "connection_error"
            return
        first = True
        while True:
            request = self.call(
                "sendRequestXML",
                ticket=ticket,
                strHCPResponse=self.company.hcp_response() if first else "",
                strCompanyFileName=self.company_file,
                qbXMLCountry="US",
                qbXMLMajorVers=self.qbxml_major,
                qbXMLMinorVers=self.qbxml_minor,
            )
            first = False
            if not request:
                error = self.call("getLastError", ticket=ticket)
                if error == "NoOp":
                    time.sleep(self.noop_wait)
                    continue
                result.errors.append(error)
                break
            result.requests.append(request)
            response, hresult, message = self.company.process(request)
            result.exchanges += 1
            if cut_after is not None and result.exchanges >= cut_after:
                result.status = "cut"  # QuickBooks ran it; the answer never reaches Unify
                return
            percent = int(
                self.call(
                    "receiveResponseXML",
                    ticket=ticket,
                    response=response,
                    hresult=hresult,
                    message=message,
                )
            )
            result.percents.append(percent)
            if percent < 0:
                result.errors.append(self.call("getLastError", ticket=ticket))
                break
            if percent >= 100:
                break
        result.close_message = self.call("closeConnection", ticket=ticket)
