"""QuickBooks Web Connector simulator: a Web Connector that calls a SOAP URL over HTTP
(``connector.WebConnector``) and the QuickBooks Desktop company file it runs the requests
against (``company.Company``). ``python -m sandbox qbwc --qwc unify.qwc`` runs it against a
local Unify on a schedule (see ``sandbox/__main__.py``)."""

from __future__ import annotations

from sandbox.qbwc.company import DEFAULT_COMPANY_NAME, Company
from sandbox.qbwc.connector import RunResult, SoapFault, WebConnector, read_qwc

__all__ = ["DEFAULT_COMPANY_NAME", "Company", "RunResult", "SoapFault", "WebConnector", "read_qwc"]
