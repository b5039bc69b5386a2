"""Our date and time formats (``FORMAT_MODULE_PATH``), one per language.

Every screen, list and email shows a moment the same way, with minutes and a 24-hour clock
and the time zone's abbreviation: "Dec 6, 2026, 14:05 EST" (Django's English default mixes
"Dec. 6, 2026, 2:05 p.m.", "12/06/2026 2:05 p.m." and "midnight"). Tenant pages render
in the organization's time zone (``unify.tenancy.middleware``).
"""
