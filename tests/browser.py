"""Shared pieces of the browser tests that look at layout: a signed-in page at a given window
size, element boxes as the browser laid them out, and screenshots for a person to look at.

Screenshots go to ``test-results/screenshots/`` (or ``UNIFY_SCREENSHOT_DIR``); the tests
assert on measured boxes, the pictures are for review."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip

# The window widths a merchant's laptop and desktop screens have.
WIDTHS = (1366, 1920)


def screenshot_dir() -> Path:
    root = Path(__file__).resolve().parent.parent
    path = Path(os.environ.get("UNIFY_SCREENSHOT_DIR") or root / "test-results" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@contextlib.contextmanager
def signed_in_browser(
    live_server, client, user, chromium_path: str, *, locale: str | None = None
) -> Iterator[Any]:
    """A Chromium context whose session is ``user``'s (a browser asking for ``locale``'s
    language when given). Yields ``(context, errors)``; ``errors`` collects page errors and
    4xx/5xx answers."""
    from playwright.sync_api import sync_playwright

    client.force_login(user)
    session = client.cookies["sessionid"].value
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(**({"locale": locale} if locale else {}))
            context.add_cookies([{"name": "sessionid", "value": session, "url": live_server.url}])
            errors: list[str] = []
            context.on("page", lambda page: _watch(page, errors))
            yield context, errors
        finally:
            browser.close()


def _watch(page, errors: list[str]) -> None:
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and "favicon" not in r.url
            else None
        ),
    )


def box(locator) -> dict[str, float]:
    """The element's box in page coordinates (x, y, width, height, right, bottom)."""
    b = locator.bounding_box()
    assert b is not None, f"{locator} is not rendered"
    return {**b, "right": b["x"] + b["width"], "bottom": b["y"] + b["height"]}


def visible_box(locator) -> dict[str, float]:
    """The part of the element that is not clipped by a scrolling or overflow-hidden ancestor,
    measured in the page: ``clipped`` is how many pixels of its width are cut off."""
    return locator.evaluate(
        """(el) => {
          const r = el.getBoundingClientRect();
          let left = r.left, right = r.right;
          for (let a = el.parentElement; a; a = a.parentElement) {
            const style = getComputedStyle(a);
            if (style.overflowX !== "visible") {
              const ar = a.getBoundingClientRect();
              left = Math.max(left, ar.left);
              right = Math.min(right, ar.right);
            }
          }
          right = Math.min(right, document.documentElement.clientWidth);
          return {left: r.left, right: r.right, width: r.width,
                  visibleWidth: Math.max(0, right - left),
                  clipped: Math.max(0, r.width - Math.max(0, right - left))};
        }"""
    )
