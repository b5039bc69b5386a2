"""A page as a browser shows it to a merchant: the HTML, with the parts it loads itself on
arrival (``hx-get`` + ``hx-trigger="load"``, e.g. the connection page's import panel) fetched
the way htmx does and put in place of their placeholders, their out-of-band pieces
(``hx-swap-oob="outerHTML:#id"``: the piece's children replace the element with that id)
swapped into the page as htmx swaps them."""

from __future__ import annotations

import html
import re

LOADER = re.compile(r'<div\b[^>]*\bhx-get="(?P<url>[^"]+)"[^>]*\bhx-trigger="load"[^>]*>')
OUT_OF_BAND = re.compile(r'<(?P<tag>\w+)\b[^>]*\bhx-swap-oob="outerHTML:#(?P<id>[\w-]+)"[^>]*>')


def _element(text: str, start: re.Match) -> tuple[int, int, int]:
    """(start, end of the opening tag, end) of the element opened at ``start``, nesting of
    the same tag counted."""
    tag = start.group("tag") if "tag" in start.groupdict() else "div"
    tags = re.compile(rf"<(/?){tag}\b[^>]*>")
    depth = 0
    for found in tags.finditer(text, start.start()):
        depth += -1 if found.group(1) else 1
        if depth == 0:
            return start.start(), start.end(), found.end()
    raise AssertionError(f"unclosed <{tag}> at {start.start()}")


def _swap_out_of_band(page: str, part: str) -> tuple[str, str]:
    while piece := OUT_OF_BAND.search(part):
        begin, inner, end = _element(part, piece)
        children = part[inner : end - len(f"</{piece.group('tag')}>")]
        part = part[:begin] + part[end:]
        target = re.search(rf'<(?P<tag>\w+)\b[^>]*\bid="{re.escape(piece.group("id"))}"', page)
        if target is not None:
            t_begin, _, t_end = _element(page, target)
            page = page[:t_begin] + children + page[t_end:]
    return page, part


def as_shown(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    page = response.content.decode()
    while loader := LOADER.search(page):
        url = html.unescape(loader.group("url"))
        part = client.get(url, HTTP_HX_REQUEST="true")
        assert part.status_code == 200, (url, part.status_code)
        page, body = _swap_out_of_band(page, part.content.decode())
        loader = LOADER.search(page)  # the page may have changed around it
        begin, _, end = _element(page, loader)
        page = page[:begin] + body + page[end:]
    return page
