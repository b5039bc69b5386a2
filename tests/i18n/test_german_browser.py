"""In a real Chromium whose browser asks for German: sign up, confirm the email, sign in,
Verbindungen > Shop hinzufügen > ShipStation > Fortfahren > API-Schlüssel and API-Kennwort >
Shop verbinden > Verkauf, with a screenshot of every page and no English sentence on any of
them (provider names and the merchant's own data aside). Then the footer switches to English
and the same page shows no German."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from playwright.sync_api import sync_playwright

from tests.browser import CHROMIUM_ARGS, screenshot_dir
from tests.connections.conftest import SS_KEY, SS_SECRET
from tests.connections.conftest import ss as ss  # noqa: F401 (a fixture)
from tests.tenancy.conftest import clear_allauth_rate_limits as clear_allauth_rate_limits  # noqa: F401
from tests.tenancy.conftest import link_from_mail, path_of

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "Ein-sicheres-Passwort-42"
# Words of English sentences that German never uses (provider names are not in the list).
ENGLISH = {
    "the", "and", "your", "you", "of", "to", "is", "are", "with", "for", "this", "that",
    "from", "please", "here", "yet", "been", "have", "has", "not", "it", "by", "at", "on",
    "or", "be", "orders", "order", "store", "stores", "connect", "connection", "settings",
    "sign", "new", "all", "no", "sales", "accounting", "continue", "cancel", "save",
}  # fmt: skip
# ...and German words an English page never shows.
GERMAN = {
    "und", "der", "die", "das", "ihre", "ihr", "sie", "nicht", "mit", "für", "oder", "ist",
    "bestellungen", "verbindungen", "einstellungen", "buchhaltung", "verkauf", "abmelden",
    "zeiten", "sprache", "shop", "hinzufügen",
}  # fmt: skip


def _words_of(page, own_data: list[str]) -> tuple[list[str], str]:
    # The page's text without the time-zone list (city names are names, not sentences) and
    # without <noscript> fallbacks: a browser running scripts shows none of them, but their
    # markup is raw text to it (a link's address such as .../sales/summary/ read as words
    # while htmx had not yet replaced the placeholder holding it).
    text = page.evaluate(
        """() => { const b = document.body.cloneNode(true);
        b.querySelectorAll('select, script, style, noscript').forEach(e => e.remove());
        return b.innerText || b.textContent; }"""
    )
    for value in own_data:  # the merchant's and the stand-in's names are data, not sentences
        text = text.replace(value, " ")
    return re.findall(r"[^\W\d_]+", text.lower()), text


def _assert_language(page, step: str, *, english_allowed: bool, own_data: list[str]) -> None:
    words, text = _words_of(page, own_data)
    foreign = sorted({w for w in words if w in (GERMAN if english_allowed else ENGLISH)})
    language = "German" if english_allowed else "English"
    assert not foreign, f"{step}: {language} words {foreign} on the page:\n{text}"


def test_merchant_flow_in_german(live_server, chromium_path, ss):
    base = live_server.url
    shots = screenshot_dir()
    store_names = [s["storeName"] for s in ss.account_meta(SS_KEY)["stores"]]
    own_data = [
        *store_names, "Berliner Kram GmbH", "Hauptlager", "anna@kram.example",
        "ShipStation", "QuickBooks Online", "QuickBooks Desktop", "Xero", "Unify",
        "Europe/Berlin", "English",
    ]  # fmt: skip

    def step(page, name: str) -> None:
        page.screenshot(path=str(shots / f"german-{name}.png"), full_page=True)
        _assert_language(page, name, english_allowed=False, own_data=own_data)

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="de-DE", viewport={"width": 1366, "height": 900})
            page = context.new_page()
            console: list[str] = []
            page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))

            page.goto(f"{base}/accounts/signup/")
            assert page.locator("html").get_attribute("lang") == "de"
            step(page, "01-signup")
            page.get_by_label("Firmenname").fill("Berliner Kram GmbH")
            page.locator("#id_timezone").select_option("Europe/Berlin")
            page.locator("#id_email").fill("anna@kram.example")
            page.locator("#id_password1").fill(PASSWORD)
            page.locator("#id_password2").fill(PASSWORD)
            page.get_by_role("button", name="Konto erstellen").click()
            page.wait_for_url(f"{base}/accounts/confirm-email/")
            step(page, "02-confirm-email-sent")

            (message,) = mail.outbox
            assert "Hallo von Unify" in message.body  # the email is German too
            page.goto(base + path_of(link_from_mail(message.body)))
            step(page, "03-confirm-email")
            page.locator("main").get_by_role("button").first.click()
            page.wait_for_url(re.compile(r".*/accounts/login/.*"))
            step(page, "04-sign-in")
            page.locator("#id_login").fill("anna@kram.example")
            page.locator("#id_password").fill(PASSWORD)
            page.locator("main").get_by_role("button", name="Anmelden").click()
            page.wait_for_url(f"{base}/o/berliner-kram-gmbh/")
            step(page, "05-dashboard")

            page.get_by_role("link", name="Verbindungen", exact=True).click()
            page.wait_for_url(f"{base}/o/berliner-kram-gmbh/connections/")
            step(page, "06-verbindungen")
            page.locator("main").get_by_role("link", name="Shop hinzufügen").first.click()
            page.wait_for_url(f"{base}/o/berliner-kram-gmbh/connections/add/")
            step(page, "07-shop-hinzufuegen")
            page.get_by_label("ShipStation").check()
            page.get_by_role("button", name="Fortfahren").click()
            page.wait_for_url(f"{base}/o/berliner-kram-gmbh/connections/add/shipstation/")
            step(page, "08-shipstation-keys")

            page.get_by_label("API-Schlüssel").fill(SS_KEY)
            page.get_by_label("API-Kennwort").fill("not-the-secret")
            page.get_by_label("Name der Verbindung").fill("Hauptlager")
            page.get_by_role("button", name="Shop verbinden").click()
            page.wait_for_load_state()
            assert (
                "ShipStation hat diesen API-Schlüssel"
                in page.locator("#connect-errors").inner_text()
            )
            step(page, "09-wrong-keys")

            page.get_by_label("API-Schlüssel").fill(SS_KEY)
            page.get_by_label("API-Kennwort").fill(SS_SECRET)
            page.get_by_role("button", name="Shop verbinden").click()
            page.wait_for_url(f"{base}/o/berliner-kram-gmbh/connections/*/")
            assert page.get_by_role("heading", name="Hauptlager").is_visible()
            step(page, "10-connected")

            page.get_by_role("link", name="Verkauf", exact=True).click()
            page.wait_for_url(re.compile(rf"{base}/o/berliner-kram-gmbh/sales/.*"))
            step(page, "11-verkauf")

            # The footer switches to English: the same page, no German left on it.
            page.locator("[data-testid=language-switcher]").get_by_role(
                "button", name="English"
            ).click()
            page.wait_for_url(re.compile(rf"{base}/o/berliner-kram-gmbh/sales/.*"))
            assert page.locator("html").get_attribute("lang") == "en"
            page.screenshot(path=str(shots / "german-12-switched-to-english.png"), full_page=True)
            _assert_language(page, "12-english", english_allowed=True, own_data=[
                *own_data, "Deutsch"])  # fmt: skip

            assert [line for line in console if "Content Security Policy" in line] == []
        finally:
            browser.close()
