"""What a running sync waits for, on its progress display.

The page fetcher reports a wait (the source's rate limit, or a retry after errors) from
whichever thread met it, and reports ``None`` when the next answer came. The run's own
thread writes a report at once; a wait met by the prefetch thread (which never touches the
database) is written by the run's thread the next time it looks, which it does every
quarter of a second while it waits for that page. Writing a page clears the display; a wait
still going on (in the other thread) is written again at the next look.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta

from django.utils import timezone

from sales.models import SyncRun
from sales.services.fetching import Wait


class WaitReporter:
    def __init__(self, run_id: int) -> None:
        self.run_id = run_id
        self._owner = threading.get_ident()
        self._lock = threading.Lock()
        self._latest: tuple[Wait | None, datetime] = (None, timezone.now())
        self._shown: Wait | None = None

    def report(self, wait: Wait | None) -> None:
        """Called by the fetcher in any thread; ``None``: the wait is over."""
        with self._lock:
            self._latest = (wait, timezone.now())
        if threading.get_ident() == self._owner:
            self.publish()

    def publish(self) -> None:
        """In the run's thread: write the latest reported wait, if it is not shown."""
        with self._lock:
            wait, at = self._latest
        if wait == self._shown:
            return
        self._shown = wait
        if wait is None:
            fields = {"waiting_for": "", "waiting_until": None}
        else:
            fields = {
                "waiting_for": wait.kind,
                "waiting_until": at + timedelta(seconds=max(0.0, wait.seconds)),
                "waiting_attempt": wait.attempt,
                "waiting_attempts": wait.attempts,
            }
        SyncRun.objects.filter(pk=self.run_id).update(**fields)

    def page_written(self) -> None:
        """The caller saved the run with the display cleared."""
        self._shown = None
