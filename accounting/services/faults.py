"""Named points where a reliability test can make a worker die on purpose.

``ACCOUNTING_FAULT_POINTS`` (environment) lists the points that fire; it is empty in every
real deployment. A fired point sends SIGKILL to its own process: nothing after it runs, no
``finally``, no rollback handler, exactly like a machine that loses power.
"""

from __future__ import annotations

import os
import signal

from django.conf import settings

# The ledger answered, our database does not know yet.
AFTER_LEDGER_ANSWER = "after_ledger_answer"
# A drain's writer thread holds the ledger's answer, our database does not know yet.
WRITER_BEFORE_RECORD = "writer_before_record"
# The request is about to leave (the posting is marked as sent).
BEFORE_SEND = "before_send"
# A batch of documents is recorded (members, request id), nothing has left yet.
BATCH_RECORDED = "batch_recorded"
# The ledger's answer to a batch is read; the batch is not yet marked answered.
BATCH_ANSWERED = "batch_answered"


def fault_point(name: str) -> None:
    points = getattr(settings, "ACCOUNTING_FAULT_POINTS", None)
    if points and name in points:
        os.kill(os.getpid(), signal.SIGKILL)
