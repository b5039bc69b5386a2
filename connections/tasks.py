"""Celery tasks of the Connections tab. Thin: ids in, org scope, one service call."""

from __future__ import annotations

from celery import shared_task

from unify.tenancy.scoping import with_org_scope

# A file is bounded in rows and size: reading one takes seconds to a minute. The soft limit
# turns a stuck read into a failed upload with a message instead of a worker held for good.
ORDER_FILE_SOFT_LIMIT_SECONDS = 300


@shared_task(
    name="connections.tasks.order_file_process_task",
    acks_late=True,
    ignore_result=True,
    soft_time_limit=ORDER_FILE_SOFT_LIMIT_SECONDS,
    time_limit=ORDER_FILE_SOFT_LIMIT_SECONDS + 30,
)
@with_org_scope
def order_file_process_task(*, organization_id: int, upload_id: int) -> None:
    from connections.order_files import order_file_process

    order_file_process(upload_id=upload_id)
