"""``/qbwc/``: the one public URL the Web Connector calls. ``GET ?wsdl`` serves the WSDL;
``POST`` is a SOAP call, read with the safe parser and answered in Intuit's namespace. No
session cookie, no CSRF token (the Web Connector has neither): the ticket is the credential.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounting.ledgers.qbd import session as qbwc
from accounting.ledgers.qbd import soap
from accounting.ledgers.qbd.services import service_url
from accounting.ledgers.qbd.xmlsafe import XmlRejected

logger = logging.getLogger("unify.qbd")
XML = "text/xml; charset=utf-8"


def _dispatch(call: soap.SoapCall) -> object:
    p = call.params
    match call.method:
        case "serverVersion":
            return qbwc.server_version()
        case "clientVersion":
            return qbwc.client_version(p.get("strVersion", ""))
        case "authenticate":
            return qbwc.authenticate(p.get("strUserName", ""), p.get("strPassword", ""))
        case "sendRequestXML":
            return qbwc.send_request_xml(
                p.get("ticket", ""),
                p.get("strHCPResponse", ""),
                p.get("strCompanyFileName", ""),
                p.get("qbXMLCountry", ""),
                p.get("qbXMLMajorVers", ""),
                p.get("qbXMLMinorVers", ""),
            )
        case "receiveResponseXML":
            return qbwc.receive_response_xml(
                p.get("ticket", ""),
                p.get("response", ""),
                p.get("hresult", ""),
                p.get("message", ""),
            )
        case "connectionError":
            return qbwc.connection_error(
                p.get("ticket", ""), p.get("hresult", ""), p.get("message", "")
            )
        case "getLastError":
            return qbwc.get_last_error(p.get("ticket", ""))
        case "closeConnection":
            return qbwc.close_connection(p.get("ticket", ""))
    raise XmlRejected("unknown method")


@csrf_exempt
def endpoint(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if "wsdl" in request.GET or "WSDL" in request.GET:
            return HttpResponse(soap.wsdl(service_url(request)), content_type=XML)
        return HttpResponse(
            "Unify QuickBooks Web Connector service. Add the .qwc file from Unify's "
            "Accounting tab to the QuickBooks Web Connector.",
            content_type="text/plain; charset=utf-8",
        )
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    limit = int(settings.QBD_SOAP_MAX_BYTES)
    body = request.read(limit + 1)
    if len(body) > limit:
        return HttpResponse(soap.fault("The request is too large."), status=413, content_type=XML)
    try:
        call = soap.read_call(body, max_bytes=limit)
    except XmlRejected as exc:
        logger.info("qbwc: request refused: %s", exc)
        return HttpResponse(soap.fault(f"Request refused: {exc}"), status=500, content_type=XML)
    try:
        result = _dispatch(call)
    except Exception:
        logger.exception("qbwc: %s failed", call.method)
        return HttpResponse(
            soap.fault("Unify could not handle this call; support has the details.", client=False),
            status=500,
            content_type=XML,
        )
    return HttpResponse(soap.answer(call.method, result), content_type=XML)
