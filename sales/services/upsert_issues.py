"""Records of a page that could not be read or mapped, stored as import issues (the same
record twice in one run is stored once)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

from connections.sources.base import SourceRecordError
from sales.models import ImportIssue, ImportIssueKind
from unify.core.stored_text import gettext as _


def _issue_rows(
    errors: Iterable[SourceRecordError | tuple[str, str, str, str]],
    *,
    organization_id: int,
    connection_id: int,
    run_id: int | None,
) -> list[ImportIssue]:
    rows = []
    for error in errors:
        if isinstance(error, SourceRecordError):
            kind, ref, reason, raw = error.kind, error.external_ref, error.reason, error.raw_text
        else:
            kind, ref, reason, raw = error
        if kind not in ImportIssueKind.values:
            kind = ImportIssueKind.ORDER if kind.startswith("order") else ImportIssueKind.SHIPMENT
        fingerprint = hashlib.sha1(
            f"{kind}\x1f{ref}\x1f{reason}\x1f{raw}".encode("utf-8", "replace"),
            usedforsecurity=False,
        ).hexdigest()
        rows.append(
            ImportIssue(
                organization_id=organization_id,
                connection_id=connection_id,
                run_id=run_id,
                kind=kind,
                external_ref=str(ref)[:200],
                reason=reason[:2000] or _("unreadable record"),
                raw_text=raw,
                fingerprint=fingerprint,
                # A record the source fails on: the window later runs read again.
                retry_from=getattr(error, "window_start", None),
                retry_until=getattr(error, "window_end", None),
            )
        )
    return rows


def import_issues_record(
    errors: Sequence[SourceRecordError | tuple[str, str, str, str]],
    *,
    organization_id: int,
    connection_id: int,
    run_id: int | None,
) -> int:
    """Store unreadable records; the same record twice in one run is stored once."""
    if not errors:
        return 0
    rows = _issue_rows(
        errors, organization_id=organization_id, connection_id=connection_id, run_id=run_id
    )
    before = ImportIssue.objects.filter(organization_id=organization_id, run_id=run_id)
    if run_id is None:
        ImportIssue.objects.bulk_create(rows)
        return len(rows)
    count_before = before.count()
    ImportIssue.objects.bulk_create(rows, ignore_conflicts=True)
    return before.count() - count_before
