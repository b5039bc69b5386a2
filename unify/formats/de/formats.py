# German: "6. Dez 2026, 14:05 CET"-style dates in the organization's time zone, numbers as
# 1.234,56. Input formats put ISO first: <input type="date"> needs YYYY-MM-DD, and what a
# person types as 06.12.2026 is still read.
DATE_FORMAT = "j. M Y"
SHORT_DATE_FORMAT = "j. M Y"
TIME_FORMAT = "H:i"
DATETIME_FORMAT = "j. M Y, H:i T"
SHORT_DATETIME_FORMAT = "j. M Y, H:i T"
MONTH_DAY_FORMAT = "j. F"
YEAR_MONTH_FORMAT = "F Y"
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y"]
DATETIME_INPUT_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
]
DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
NUMBER_GROUPING = 3
