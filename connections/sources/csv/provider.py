"""Order files (CSV or XLSX) as an order source. A file arrives through an existing
shipping-expense connection (its labels are matched to the file's orders), so this source has
no connection, credentials or webhooks of its own; its reading lives in ``parser.py``."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from connections.sources.csv.parser import ORDER_STATUSES
from connections.sources.provider import SourceProvider


class OrderFileProvider(SourceProvider):
    key = "order_file"  # as stored in Order.source
    name = _("Order file")
    connectable = False
    order_statuses = ORDER_STATUSES
    raw_is_whole_record = False  # the rows, not one record
