"""The time-zone picker: current zone names only (no ``US/Eastern``, ``EST5EDT`` or
``Etc/GMT+5``), the zones most merchants need first, then every zone by region with its
current offset from UTC.

A browser may report an old name (Chromium says ``Asia/Calcutta``); each option carries the
old names of its zone (``data-aliases``) so the sign-up page's script can still find it, and
:func:`canonical_timezone` turns a stored old name into the current one."""

from __future__ import annotations

import zoneinfo
from datetime import datetime
from functools import cache
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from unify.tenancy.tzdata_zones import ALIASES, CANONICAL_ZONES

DEFAULT_TIMEZONE = "America/New_York"
UTC = "UTC"

# Where most of Unify's merchants are, with the names people call these zones by.
COMMON_ZONES = (
    ("America/New_York", _("US Eastern (New York)")),
    ("America/Chicago", _("US Central (Chicago)")),
    ("America/Denver", _("US Mountain (Denver)")),
    ("America/Phoenix", _("Arizona (Phoenix)")),
    ("America/Los_Angeles", _("US Pacific (Los Angeles)")),
    ("America/Anchorage", _("Alaska (Anchorage)")),
    ("Pacific/Honolulu", _("Hawaii (Honolulu)")),
    ("America/Toronto", _("Canada Eastern (Toronto)")),
    ("America/Vancouver", _("Canada Pacific (Vancouver)")),
    ("Europe/London", _("United Kingdom (London)")),
    ("Europe/Berlin", _("Central Europe (Berlin)")),
    ("Australia/Sydney", _("Australia Eastern (Sydney)")),
    (UTC, _("Coordinated Universal Time (UTC)")),
)

REGIONS = {
    "Africa": _("Africa"),
    "America": _("America"),
    "Antarctica": _("Antarctica"),
    "Arctic": _("Arctic"),
    "Asia": _("Asia"),
    "Atlantic": _("Atlantic"),
    "Australia": _("Australia"),
    "Europe": _("Europe"),
    "Indian": _("Indian Ocean"),
    "Pacific": _("Pacific"),
}


@cache
def _available() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def canonical_timezones() -> tuple[str, ...]:
    """The zones offered: the current names this machine's time-zone data knows."""
    available = _available()
    return tuple(z for z in (*CANONICAL_ZONES, UTC) if z in available)


def canonical_timezone(name: str) -> str:
    """The current name of a zone (``US/Eastern``: ``America/New_York``)."""
    return ALIASES.get(name, name)


@cache
def _aliases_of() -> dict[str, str]:
    found: dict[str, list[str]] = {}
    for alias, zone in ALIASES.items():
        found.setdefault(zone, []).append(alias)
    found.setdefault(UTC, []).extend(["Etc/UTC", "Etc/UCT", "UCT", "Universal", "Zulu"])
    return {zone: " ".join(sorted(names)) for zone, names in found.items()}


def _offset(zone: str, now: datetime) -> str:
    delta = now.astimezone(zoneinfo.ZoneInfo(zone)).utcoffset()
    minutes = int(delta.total_seconds() // 60) if delta is not None else 0
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def _city(zone: str) -> str:
    return zone.split("/", 1)[-1].replace("_", " ").replace("/", " / ")


def timezone_choices(*, current: str = "", now: datetime | None = None) -> list[Any]:
    """Grouped choices for a select: "Common time zones", then one group per region, each
    option "City (UTC-05:00)" with today's offset. ``current`` (an organization's saved zone)
    is offered under "Other" when it is a name this list leaves out and that has no current
    name (``EST5EDT``), so saving the form never fails on it; an old name of a listed zone
    (``US/Eastern``) is shown as that zone (:func:`canonical_timezone`)."""
    now = now or timezone.now()
    offered = canonical_timezones()
    available = set(offered)
    common = [
        (zone, f"{label} ({_offset(zone, now)})")
        for zone, label in COMMON_ZONES
        if zone in available
    ]
    groups: dict[str, list[tuple[str, str]]] = {}
    for zone in offered:
        region = zone.split("/", 1)[0]
        if region not in REGIONS:
            continue
        groups.setdefault(region, []).append((zone, f"{_city(zone)} ({_offset(zone, now)})"))
    choices: list[Any] = [(_("Common time zones"), common)]
    for region, label in REGIONS.items():
        if region in groups:
            choices.append((label, sorted(groups[region], key=lambda c: c[1])))
    if current and current not in available and current not in ALIASES and current in _available():
        choices.append((_("Other"), [(current, current)]))
    return choices


class TimezoneSelect(forms.Select):
    """A select whose options name their zone's old names in ``data-aliases``; with
    ``autodetect`` the sign-up script picks the browser's zone (static/js/timezone.js)."""

    def __init__(self, *args: Any, autodetect: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if autodetect:
            self.attrs["data-timezone-autodetect"] = ""

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        aliases = _aliases_of().get(str(value))
        if aliases:
            option["attrs"]["data-aliases"] = aliases
        return option


def timezone_field(*, current: str = "", autodetect: bool = False, **kwargs: Any) -> forms.Field:
    return forms.ChoiceField(
        label=kwargs.pop("label", _("Time zone")),
        choices=timezone_choices(current=current),
        widget=TimezoneSelect(autodetect=autodetect),
        **kwargs,
    )
