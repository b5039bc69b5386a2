"""One way to read XML that came over the network: lxml with entity resolution, DTD loading
and network access off, no huge trees, and any document type declaration refused (SOAP
forbids one, and qbXML from QuickBooks never carries one). Billion-laughs, external
entities (XXE) and oversized documents end as :class:`XmlRejected`, never as a file read, a
network call or a process that eats the machine."""

from __future__ import annotations

from lxml import etree


class XmlRejected(ValueError):
    """The bytes are not a document we accept; the message says why (safe to log)."""


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        remove_pis=False,
        collect_ids=False,
    )


def parse(data: bytes | str, *, max_bytes: int) -> etree._Element:
    """The root element of ``data``. Raises :class:`XmlRejected`."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if len(data) > max_bytes:
        raise XmlRejected(f"document of {len(data)} bytes is over the {max_bytes} limit")
    # Checked before parsing as well: nothing in a DTD is ever looked at.
    head = data[:4096].upper()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in data.upper():
        raise XmlRejected("document type declarations and entities are not accepted")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise XmlRejected(f"not well-formed XML ({exc.msg})") from None
    if root is None:
        raise XmlRejected("empty document")
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.doctype:
        raise XmlRejected("document type declarations are not accepted")
    for node in root.iter():
        if isinstance(node, etree._Entity):
            raise XmlRejected("entity references are not accepted")
    return root


def local(tag: object) -> str:
    """An element's name without its namespace ("" for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]
