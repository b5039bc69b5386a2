"""The Web Connector's SOAP 1.1 conversation (document/literal, namespace
``http://developer.intuit.com/``), hand-written: read a call, write its answer or a fault,
and the WSDL. Method and parameter names follow Intuit's QBWebConnectorSvc WSDL."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from accounting.ledgers.qbd.xmlsafe import XmlRejected, local, parse

NS = "http://developer.intuit.com/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"

# Method -> its parameters, in the WSDL's order.
METHODS: dict[str, tuple[str, ...]] = {
    "serverVersion": ("strVersion",),
    "clientVersion": ("strVersion",),
    "authenticate": ("strUserName", "strPassword"),
    "sendRequestXML": (
        "ticket",
        "strHCPResponse",
        "strCompanyFileName",
        "qbXMLCountry",
        "qbXMLMajorVers",
        "qbXMLMinorVers",
    ),
    "receiveResponseXML": ("ticket", "response", "hresult", "message"),
    "connectionError": ("ticket", "hresult", "message"),
    "getLastError": ("ticket",),
    "closeConnection": ("ticket",),
}
INT_RESULTS = {"receiveResponseXML"}


@dataclass(frozen=True, slots=True)
class SoapCall:
    method: str
    params: Mapping[str, str]


def read_call(body: bytes, *, max_bytes: int) -> SoapCall:
    """The method and parameters of a SOAP request. Raises ``XmlRejected``."""
    root = parse(body, max_bytes=max_bytes)
    if local(root.tag) != "Envelope":
        raise XmlRejected("not a SOAP envelope")
    soap_body = next((c for c in root if local(c.tag) == "Body"), None)
    if soap_body is None:
        raise XmlRejected("SOAP envelope without a body")
    call = next((c for c in soap_body if isinstance(c.tag, str)), None)
    if call is None:
        raise XmlRejected("SOAP body without a call")
    method = local(call.tag)
    if method not in METHODS:
        raise XmlRejected(f"unknown method {method[:60]!r}")
    wanted = METHODS[method]
    params: dict[str, str] = {}
    for child in call:
        name = local(child.tag)
        if name in wanted:
            params[name] = child.text or ""
    return SoapCall(method=method, params=params)


def _envelope(inner: str) -> str:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP_ENV}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
        f"<soap:Body>{inner}</soap:Body></soap:Envelope>"
    )


def answer(method: str, result: str | int | Sequence[str]) -> str:
    """``<{method}Response><{method}Result>…`` in the Intuit namespace."""
    if isinstance(result, (list, tuple)):
        value = "".join(f"<string>{escape(str(item))}</string>" for item in result)
    else:
        value = escape(str(result))
    return _envelope(
        f'<{method}Response xmlns="{NS}"><{method}Result>{value}</{method}Result>'
        f"</{method}Response>"
    )


def fault(message: str, *, client: bool = True) -> str:
    code = "soap:Client" if client else "soap:Server"
    return _envelope(
        f"<soap:Fault><faultcode>{code}</faultcode>"
        f"<faultstring>{escape(message)}</faultstring></soap:Fault>"
    )


def _element(name: str, fields: Sequence[str], ints: Sequence[str] = ()) -> str:
    inner = "".join(
        f'<s:element minOccurs="{1 if f in ints else 0}" maxOccurs="1" name="{f}" '
        f'type="{"s:int" if f in ints else "s:string"}"/>'
        for f in fields
    )
    return (
        f'<s:element name="{name}"><s:complexType><s:sequence>{inner}</s:sequence>'
        "</s:complexType></s:element>"
    )


def wsdl(location: str) -> str:
    """The service description, with ``location`` as the SOAP address."""
    types = []
    for method, params in METHODS.items():
        ints = ("qbXMLMajorVers", "qbXMLMinorVers") if method == "sendRequestXML" else ()
        types.append(_element(method, params, ints))
        if method == "authenticate":
            types.append(
                '<s:element name="authenticateResponse"><s:complexType><s:sequence>'
                '<s:element minOccurs="0" maxOccurs="1" name="authenticateResult" '
                'type="tns:ArrayOfString"/></s:sequence></s:complexType></s:element>'
            )
        elif method in INT_RESULTS:
            types.append(_element(f"{method}Response", (f"{method}Result",), (f"{method}Result",)))
        else:
            types.append(_element(f"{method}Response", (f"{method}Result",)))
    messages = "".join(
        f'<wsdl:message name="{m}SoapIn"><wsdl:part name="parameters" element="tns:{m}"/>'
        f'</wsdl:message><wsdl:message name="{m}SoapOut"><wsdl:part name="parameters" '
        f'element="tns:{m}Response"/></wsdl:message>'
        for m in METHODS
    )
    port_ops = "".join(
        f'<wsdl:operation name="{m}"><wsdl:input message="tns:{m}SoapIn"/>'
        f'<wsdl:output message="tns:{m}SoapOut"/></wsdl:operation>'
        for m in METHODS
    )
    binding_ops = "".join(
        f'<wsdl:operation name="{m}"><soap:operation soapAction="{NS}{m}" style="document"/>'
        '<wsdl:input><soap:body use="literal"/></wsdl:input>'
        '<wsdl:output><soap:body use="literal"/></wsdl:output></wsdl:operation>'
        for m in METHODS
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<wsdl:definitions xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/" '
        'xmlns:s="http://www.w3.org/2001/XMLSchema" '
        f'xmlns:tns="{NS}" targetNamespace="{NS}" '
        'xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/">'
        f'<wsdl:types><s:schema elementFormDefault="qualified" targetNamespace="{NS}">'
        + "".join(types)
        + '<s:complexType name="ArrayOfString"><s:sequence><s:element minOccurs="0" '
        'maxOccurs="unbounded" name="string" nillable="true" type="s:string"/>'
        "</s:sequence></s:complexType></s:schema></wsdl:types>"
        + messages
        + f'<wsdl:portType name="QBWebConnectorSvcSoap">{port_ops}</wsdl:portType>'
        '<wsdl:binding name="QBWebConnectorSvcSoap" type="tns:QBWebConnectorSvcSoap">'
        '<soap:binding transport="http://schemas.xmlsoap.org/soap/http" style="document"/>'
        f"{binding_ops}</wsdl:binding>"
        '<wsdl:service name="QBWebConnectorSvc"><wsdl:port name="QBWebConnectorSvcSoap" '
        f'binding="tns:QBWebConnectorSvcSoap"><soap:address location="{escape(location)}"/>'
        "</wsdl:port></wsdl:service></wsdl:definitions>"
    )
