# One format for a moment and one for a day, whichever the template asks for ("DATETIME_FORMAT"
# or "SHORT_DATETIME_FORMAT"): "Dec 6, 2026, 14:05 EST" and "Dec 6, 2026". "T" is the zone's
# abbreviation at that moment (EST/EDT, CET/CEST; "+03" where a zone has none).
DATE_FORMAT = "M j, Y"
SHORT_DATE_FORMAT = "M j, Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "M j, Y, H:i T"
SHORT_DATETIME_FORMAT = "M j, Y, H:i T"
MONTH_DAY_FORMAT = "M j"
YEAR_MONTH_FORMAT = "M Y"
