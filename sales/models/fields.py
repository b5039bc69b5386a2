"""Fields of the import's tables: the tenant key without an index, money, and a source
record kept as its JSON text."""

from __future__ import annotations

import json
from decimal import Decimal

from django.db import models

from connections.sources.base import RawRecord
from unify.tenancy.models import Organization


def _organization_unindexed(*, copy_of_parents: bool = False) -> models.ForeignKey:
    """The tenant key of the import's bulk tables, without an index of its own: every index
    of these tables already begins with it, and each extra index is paid on every row a
    first import writes.

    ``copy_of_parents``: the row's organization is a copy of its parent's (a line's order, a
    label's connection), whose own foreign key already guarantees it exists. Such a copy
    gets no database constraint: PostgreSQL would check it (and lock the organization's
    row) for every line and label written, a tenth of a first import's time, to prove again
    what the parent proves. Deleting an organization still deletes them (Django's cascade)."""
    return models.ForeignKey(
        Organization,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=not copy_of_parents,
    )


ZERO = Decimal("0.00")


class SourceRecordField(models.JSONField):
    """A provider's record as JSON, kept as the JSON text itself (``text``, not ``jsonb``).

    Nothing queries inside a source record: support staff read it, and the import compares
    its hash. Stored as text, it is written without PostgreSQL parsing it into ``jsonb``
    first (a third of a first import's database time went there), and it reads back as the
    record's own text. In Python it is still the parsed record (a dict).

    Bulk inserts send it as one parameter per row: Django's UNNEST bulk insert on PostgreSQL
    would pass it inside a text array, whose per-character escaping of JSON (quotes
    everywhere) costs more than the rest of an import page."""

    def db_type(self, connection) -> str:
        return "text"

    def get_db_prep_value(self, value, connection, prepared=False):
        if isinstance(value, RawRecord):
            return value.text  # the record as received
        if not prepared:
            value = self.get_prep_value(value)
        return json.dumps(value, cls=self.encoder)

    def get_placeholder(self, value, compiler, connection) -> str:
        return "%s"

    def deconstruct(self):
        name, _path, args, kwargs = super().deconstruct()
        # Migrations name the field where callers import it from.
        return name, "sales.models.SourceRecordField", args, kwargs


def _money(verbose_name, **kwargs) -> models.DecimalField:
    return models.DecimalField(
        verbose_name, max_digits=14, decimal_places=2, default=ZERO, **kwargs
    )
