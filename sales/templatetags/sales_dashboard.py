"""The dashboard's day (or month) table, rendered in one pass: a year of days is thousands of cells,
which the template engine renders one variable at a time (the slowest part of the page)."""

from __future__ import annotations

from django import template
from django.utils.formats import date_format, localize
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def chart_day_rows(charts) -> SafeString:
    """``<tr>`` of each day (or month): the day, shipping charged, label costs, margin
    (amounts, as the template would localize them), and the orders posted, failed and
    waiting."""
    label = "YEAR_MONTH_FORMAT" if charts.by_month else "SHORT_DATE_FORMAT"
    return format_html_join(
        "",
        '<tr><td>{}</td><td class="text-end mono">{}</td><td class="text-end mono">{}</td>'
        '<td class="text-end mono">{}</td><td class="text-end">{}</td>'
        '<td class="text-end">{}</td><td class="text-end">{}</td></tr>',
        (
            (date_format(day, label), *(localize(v) for v in values))
            for day, *values in charts.day_rows
        ),
    )
