"""Dates and time zones: one format with minutes on every page ("Dec 6, 2026, 14:05 CST"),
always in the organization's time zone, which the page names; a time-zone picker of current
zone names grouped by region with the common ones first; the zone asked for at sign-up."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tests.factories import MembershipFactory
from tests.sales.factories import add_label, make_connection, make_order, make_store
from unify.core.audit import audit_record
from unify.tenancy.models import Organization, Role

pytestmark = pytest.mark.django_db

CHICAGO = ZoneInfo("America/Chicago")
TWELVE_HOUR = re.compile(r"\b(a\.m\.|p\.m\.|midnight|noon)\b")


def text_of(content: bytes) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", content.decode()).split())


def test_every_moment_has_one_format_with_minutes_in_the_organizations_zone(
    client, org_a, member_of_a
):
    org_a.timezone = "America/Chicago"
    org_a.save()
    client.force_login(member_of_a.user)
    store = make_store(make_connection(org_a, "Main"))
    order = make_order(
        org_a,
        number="T-1",
        source_store=store,
        order_date=datetime(2026, 12, 6, 0, 0, tzinfo=CHICAGO),  # was "midnight"
        payment_date=datetime(2026, 12, 6, 18, 0, tzinfo=CHICAGO),  # was "6 p.m."
        lines=[{"sku": "A", "unit_price": "45.00"}],
    )
    add_label(order, create_date=datetime(2026, 12, 6, 12, 0, tzinfo=CHICAGO))  # was "noon"
    audit_record(action="sales.order.ignored", organization=org_a, target=f"sales.order:{order.pk}")

    page = text_of(client.get(f"/o/{org_a.slug}/sales/{order.pk}/").content)
    assert "Ordered Dec 6, 2026, 00:00 CST" in page
    assert "Paid Dec 6, 2026, 18:00 CST" in page
    assert "Dec 6, 2026, 12:00 CST" in page  # the label's "Created", same format
    assert not TWELVE_HOUR.search(page), TWELVE_HOUR.search(page)
    assert "Times are in the organization's time zone, America/Chicago." in page

    listing = text_of(client.get(f"/o/{org_a.slug}/sales/").content)
    assert "Dec 6, 2026, 00:00 CST T-1" in listing
    assert not TWELVE_HOUR.search(listing)

    # A page that rendered moments in UTC with Django's default format before.
    admin = MembershipFactory(organization=org_a, role=Role.ADMIN, user__username="adm")
    client.force_login(admin.user)
    audit_record(action="organization.updated", organization=org_a, actor=admin.user)
    settings_page = client.get(f"/o/{org_a.slug}/settings/").content.decode()
    stamps = re.findall(r"<tr><td>([^<]+)</td><td>", settings_page)
    assert stamps and all(
        re.fullmatch(r"[A-Z][a-z]{2} \d{1,2}, \d{4}, \d{2}:\d{2} C[SD]T", s) for s in stamps
    ), stamps


def _select(page: str, name: str) -> str:
    match = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match is not None, name
    return match.group(1)


def test_the_time_zone_picker_offers_current_names_by_region_common_ones_first(
    client, owner_of_a, org_a
):
    client.force_login(owner_of_a.user)
    page = client.get(f"/o/{org_a.slug}/settings/").content.decode()
    select = _select(page, "timezone")
    groups = re.findall(r'<optgroup label="([^"]+)">', select)
    assert groups[0] == "Common time zones"
    assert groups[1:] == [
        "Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
        "Europe", "Indian Ocean", "Pacific",
    ]  # fmt: skip
    common = re.search(r'<optgroup label="Common time zones">(.*?)</optgroup>', select, re.S)
    first = re.findall(r'<option value="([^"]+)"', common.group(1))
    assert first[:5] == [
        "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
        "America/Los_Angeles",
    ]  # fmt: skip
    from unify.tenancy.timezones import canonical_timezones

    values = re.findall(r'<option value="([^"]+)"', select)
    assert set(values) == set(canonical_timezones())
    assert len(set(values)) == 419  # the 418 zones of zone.tab, and UTC
    for deprecated in ("US/Eastern", "EST5EDT", "Etc/GMT+5", "Asia/Calcutta", "GB", "Factory"):
        assert f'value="{deprecated}"' not in select, deprecated
    assert re.search(r'<option value="Asia/Kolkata" data-aliases="[^"]*Asia/Calcutta', select)
    assert re.search(r">Argentina / Buenos Aires \(UTC-03:00\)</option>", select)
    # The organization's zone is the selected one (once, in the common group).
    assert select.count("selected") == 1
    assert re.search(r'<option value="America/New_York" selected[ >]', select)


def test_an_old_zone_name_shows_as_its_current_name_and_the_form_saves(client, owner_of_a, org_a):
    Organization.objects.filter(pk=org_a.pk).update(timezone="US/Eastern")
    client.force_login(owner_of_a.user)
    url = f"/o/{org_a.slug}/settings/"
    select = _select(client.get(url).content.decode(), "timezone")
    assert re.search(r'<option value="America/New_York" selected[ >]', select)
    response = client.post(url, {"name": org_a.name, "timezone": "America/New_York"})
    assert response.status_code == 302
    org_a.refresh_from_db()
    assert org_a.timezone == "America/New_York"
    response = client.post(url, {"name": org_a.name, "timezone": "US/Pacific"})
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()


def test_signup_asks_for_the_time_zone_and_the_organization_gets_it(client):
    page = client.get(reverse("account_signup")).content.decode()
    select = re.search(r'<select name="timezone"[^>]*>', page).group(0)
    assert "data-timezone-autodetect" in select
    assert re.search(r'<script src="/static/js/timezone\.js[^"]*" defer></script>', page)
    assert "<script>" not in page  # no inline script (CSP)
    fields = re.findall(r'name="(organization_name|timezone|email|password1)"', page)
    assert fields == ["organization_name", "timezone", "email", "password1"]

    response = client.post(
        reverse("account_signup"),
        {
            "organization_name": "Tiergarten Supplies",
            "timezone": "Europe/Berlin",
            "email": "kim@example.com",
            "password1": "a-long-and-good-password-1",
            "password2": "a-long-and-good-password-1",
        },
    )
    assert response.status_code == 302
    assert Organization.objects.get(name="Tiergarten Supplies").timezone == "Europe/Berlin"


def test_a_saved_zone_without_a_current_name_stays_selectable(client, owner_of_a, org_a):
    Organization.objects.filter(pk=org_a.pk).update(timezone="EST5EDT")
    client.force_login(owner_of_a.user)
    url = f"/o/{org_a.slug}/settings/"
    select = _select(client.get(url).content.decode(), "timezone")
    assert re.search(r'<optgroup label="Other">\s*<option value="EST5EDT" selected>', select)
    response = client.post(url, {"name": "Acme Outdoor Co", "timezone": "EST5EDT"})
    assert response.status_code == 302
    org_a.refresh_from_db()
    assert (org_a.name, org_a.timezone) == ("Acme Outdoor Co", "EST5EDT")
