"""QuickBooks Desktop through the QuickBooks Web Connector.

QuickBooks Desktop has no cloud API: the merchant's Web Connector polls the SOAP service this
package hosts (``soap_views``), takes qbXML requests built from the organization's queued
postings (``planner``, ``qbxml``), runs them against the company file and sends back the
answers, which are recorded with ``accounting.services.posting_record_result``.
"""
