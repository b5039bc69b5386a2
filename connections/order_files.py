"""Order files (shipping-expense mode): received by the web request, read by a worker.

The web request only checks who may upload what (before the body is read: see the view),
keeps the file's bytes and queues ``order_file_process_task``; it never parses the file, so
no file can hold a web worker. The worker reads the file under the bounds of
``connections.sources.csv.limits``, imports its good orders under the shipping-expense
connection it was uploaded for (all in one transaction: a crash midway imports nothing) and
keeps every rejected row with its reason. Reading a file twice (a task delivered twice)
imports it once: the upload row is locked and only a file still being read is read.
"""

from __future__ import annotations

import io
import logging
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from connections.models import (
    ConnectionMode,
    ConnectionStatus,
    OrderFileContent,
    OrderFileProblem,
    OrderFileStatus,
    OrderFileUpload,
    SourceStore,
    StoreConnection,
)
from connections.services import ConnectionRefused
from connections.sources.csv.parser import (
    OrderFileError,
    OrderFileReader,
    RowProblem,
    detect_format,
)
from unify.core.audit import audit_record
from unify.core.exceptions import TenantScopeError
from unify.core.stored_text import gettext as _
from unify.tenancy.models import Organization

logger = logging.getLogger(__name__)

FILE_BATCH_SIZE = 500
PROGRESS_EVERY_ROWS = 1000
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


def order_file_max_bytes() -> int:
    return int(getattr(settings, "UNIFY_ORDER_FILE_MAX_BYTES", DEFAULT_MAX_BYTES))


def order_file_check_allowed(*, organization: Organization) -> None:
    if not organization.plan_rules.shipping_expense_mode:
        raise ConnectionRefused(
            "plan_mode",
            _(
                "Order files feed shipping-expense mode, part of the Pro and Advanced plans. "
                "Upgrade to upload your shop's orders."
            ),
        )


def order_file_connections(*, organization: Organization) -> list[StoreConnection]:
    """The connections an order file can be uploaded for: shipping-expense ones not
    disconnected."""
    return list(
        StoreConnection.objects.for_org(organization)
        .filter(mode=ConnectionMode.SHIPPING_EXPENSE)
        .exclude(status=ConnectionStatus.DISABLED)
        .order_by("name", "pk")
    )


def _progress_key(upload: OrderFileUpload) -> str:
    return f"order-file:{upload.organization_id}:{upload.pk}:rows"


def order_file_rows_read(*, upload: OrderFileUpload) -> int | None:
    """Rows a worker has read so far of a file still being read (None before it starts)."""
    return cache.get(_progress_key(upload))


def order_file_receive(
    *,
    organization: Organization,
    actor: Any,
    fileobj: IO[bytes],
    file_name: str,
    connection: StoreConnection,
    default_store: SourceStore | None = None,
    request: Any = None,
) -> OrderFileUpload:
    """Keep an uploaded file for ``connection`` (a shipping-expense connection) and queue its
    reading. Refuses (``ConnectionRefused``, nothing kept) what is plainly not an order file:
    empty, the wrong type, too large."""
    from connections.tasks import order_file_process_task

    order_file_check_allowed(organization=organization)
    if connection.organization_id != organization.pk:
        raise TenantScopeError("connection of another organization")
    if default_store is not None and default_store.connection_id != connection.pk:
        raise TenantScopeError("store of another connection")
    if connection.mode != ConnectionMode.SHIPPING_EXPENSE:
        raise ConnectionRefused(
            "mode",
            _("Order files are for shipping-expense connections. Choose one of those."),
            field="connection",
        )
    head = fileobj.read(8)
    fileobj.seek(0)
    if not head:
        raise ConnectionRefused("file", _("The file is empty."), field="file")
    try:
        file_format = detect_format(file_name, head)
    except OrderFileError as exc:
        raise ConnectionRefused("file", exc.user_message, field="file") from None
    data = fileobj.read(order_file_max_bytes() + 1)
    if len(data) > order_file_max_bytes():
        raise ConnectionRefused("file", _too_large_message(), field="file")
    with transaction.atomic():
        upload = OrderFileUpload.objects.create(
            organization=organization,
            connection=connection,
            default_store=default_store,
            uploaded_by=actor if getattr(actor, "is_authenticated", False) else None,
            file_name=file_name[:255],
            file_format=file_format,
            status=OrderFileStatus.PROCESSING,
        )
        OrderFileContent.objects.create(organization=organization, upload=upload, data=data)
        audit_record(
            action="order_file.uploaded",
            organization=organization,
            actor=actor,
            target=upload,
            metadata={"file": upload.file_name, "bytes": len(data), "connection": connection.pk},
            request=request,
        )
        ids = {"organization_id": organization.pk, "upload_id": upload.pk}
        transaction.on_commit(
            lambda: order_file_process_task.apply_async(
                kwargs=ids, queue=getattr(settings, "SALES_TASK_QUEUE", "") or None
            )
        )
    return upload


def _too_large_message() -> str:
    return _("The file is larger than %(mb)s MB. Split it and upload the parts.") % {
        "mb": order_file_max_bytes() // (1024 * 1024)
    }


def order_file_process(*, upload_id: int) -> OrderFileUpload:
    """Read a kept file and import its orders (inside the organization's scope). A file
    already read (or failed) is left alone. Never raises for what is in the file: a file
    that cannot be read ends as a failed upload with a message for the merchant."""
    try:
        with transaction.atomic():
            upload = (
                OrderFileUpload.objects.select_for_update(of=("self",))
                .select_related("connection", "default_store", "uploaded_by", "organization")
                .get(pk=upload_id)
            )
            if upload.status != OrderFileStatus.PROCESSING:
                return upload
            content = OrderFileContent.objects.filter(upload=upload).first()
            if content is None or upload.connection is None:
                raise OrderFileError(_("The file is gone; upload it again."))
            _import(upload, io.BytesIO(bytes(content.data)))
            content.delete()
        cache.delete(_progress_key(upload))
        return upload
    except OrderFileError as exc:
        return _fail(upload_id, exc.user_message)
    except Exception:  # the merchant gets a message; support gets the traceback
        logger.exception("order file %s could not be read", upload_id)
        return _fail(
            upload_id,
            _(
                "This file could not be read. Check that it is the shop's order export as "
                "CSV or XLSX; if it is, contact support with the file's name."
            ),
        )


def _fail(upload_id: int, message: str) -> OrderFileUpload:
    with transaction.atomic():
        upload = OrderFileUpload.objects.select_for_update().get(pk=upload_id)
        cache.delete(_progress_key(upload))
        if upload.status == OrderFileStatus.PROCESSING:
            upload.status = OrderFileStatus.FAILED
            upload.error = message
            upload.finished_at = timezone.now()
            upload.save(update_fields=["status", "error", "finished_at", "updated_at"])
        OrderFileContent.objects.filter(upload_id=upload_id).delete()
    return upload


def _import(upload: OrderFileUpload, fileobj: IO[bytes]) -> None:
    """The reading itself, inside the caller's transaction."""
    from sales.services import order_upsert_from_file

    organization = upload.organization
    connection = upload.connection
    reader = OrderFileReader(
        fileobj,
        file_name=upload.file_name,
        timezone=organization.tzinfo,
        default_currency=connection.currency,
    )
    problems: list[OrderFileProblem] = []
    batch: list = []
    unknown_stores: set[str] = set()
    progress_key = _progress_key(upload)
    next_progress = PROGRESS_EVERY_ROWS

    def flush_problems() -> None:
        OrderFileProblem.objects.bulk_create(problems, batch_size=1000)
        problems.clear()

    def problem(row: int | None, order: str, reason: str) -> None:
        problems.append(
            OrderFileProblem(
                organization=organization,
                upload=upload,
                row=row,
                order_number=order[:100],
                reason=reason,
            )
        )
        if len(problems) >= FILE_BATCH_SIZE:
            flush_problems()

    def flush() -> None:
        if not batch:
            return
        result = order_upsert_from_file(
            connection=connection, orders=list(batch), default_store=upload.default_store
        )
        upload.orders_created += result.created
        upload.orders_updated += result.updated
        upload.costs_matched += result.costs_matched
        unknown_stores.update(result.unknown_stores)
        for ref, reason in result.problems:
            problem(None, ref, reason)
        batch.clear()

    for item in reader:
        if reader.rows_total >= next_progress:
            cache.set(progress_key, reader.rows_total, 3600)
            next_progress = reader.rows_total + PROGRESS_EVERY_ROWS
        if isinstance(item, RowProblem):
            problem(item.row, item.order_number, item.reason)
            continue
        batch.append(item)
        if len(batch) >= FILE_BATCH_SIZE:
            flush()
    flush()
    flush_problems()
    if reader.rows_total == 0:
        raise OrderFileError(_("The file has a header row but no orders."))
    upload.rows_total = reader.rows_total
    upload.rows_rejected = reader.rows_rejected
    upload.orders_found = reader.orders_found
    upload.unknown_stores = sorted(unknown_stores)[:50]
    upload.status = OrderFileStatus.FINISHED
    upload.finished_at = timezone.now()
    upload.save()
    audit_record(
        action="order_file.imported",
        organization=organization,
        actor=upload.uploaded_by,
        target=upload,
        metadata={
            "file": upload.file_name,
            "connection": connection.pk,
            "rows": upload.rows_total,
            "rejected": upload.rows_rejected,
            "created": upload.orders_created,
            "updated": upload.orders_updated,
            "costs_matched": upload.costs_matched,
        },
    )
