"""The receiver's sync worker: a thread that starts one sync process at a time, when due.

It sleeps until the next sync is due (`policy.sync_due_at`: the debounce after the oldest open
event, and after failures the retry wait), is woken early by each new event, then starts
`python -m tap_deel.webhooks.sync_run` and waits for it. One line is logged per sync, and
every sync that ended since the last look is counted in the metrics (also one that a sync
process left by an earlier receiver finished meanwhile). On `stop` the sync process is asked to
stop: one still waiting for the lock leaves at once (nothing claimed), one running its command
finishes first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from tap_deel.webhooks.logs import shown
from tap_deel.webhooks.policy import retry_delay, sync_due_at
from tap_deel.webhooks.store import StoreError
from tap_deel.webhooks.sync_run import EXIT_STOPPED, LOCK_WAIT_KEY

if TYPE_CHECKING:
    from tap_deel.webhooks.config import ReceiverConfig
    from tap_deel.webhooks.metrics import ReceiverMetrics
    from tap_deel.webhooks.store import Store, SyncRecord

logger = logging.getLogger("deel-webhooks")

#: Longest sleep between looks at the queue (a missed wake-up costs at most this).
IDLE_POLL_SECONDS = 30.0
#: How often a running sync process is checked for having ended, or for a stop.
CHILD_POLL_SECONDS = 0.2


def sync_line(sync: SyncRecord) -> str:
    """The one log line for a finished sync."""
    counts = ",".join(f"{k}:{v}" for k, v in sorted(sync.counts.items())) or "-"
    parts = [
        f"sync id={sync.id}",
        f"outcome={sync.status}",
        f"kind={sync.kind}",
        f"people={len(sync.person_ids) if sync.kind == 'targeted' else 'all'}",
        f"events={sync.events}",
        f"seconds={sync.duration:.2f}" if sync.duration is not None else "seconds=-",
        f"exit={sync.exit_code if sync.exit_code is not None else '-'}",
        f"counts={counts}",
    ]
    if sync.error:
        parts.append(f"error={shown(sync.error)}")
    return " ".join(parts)


class SyncWorker:
    """Starts the syncs, one at a time, in a thread of the receiver."""

    def __init__(self, config: ReceiverConfig, store: Store, metrics: ReceiverMetrics) -> None:
        """Prepare (not start) the worker.

        Args:
            config: The receiver's settings.
            store: The queue (the worker's own connection to it).
            metrics: Where ended syncs are counted.

        Raises:
            StoreError: The queue cannot be read.
        """
        self.config = config
        self.store = store
        self.metrics = metrics
        # Syncs that ended before this receiver started were counted by an earlier one.
        self._counted_through = store.ended_through()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync-worker", daemon=True)
        self._child: subprocess.Popen[bytes] | None = None
        self._child_lock = threading.Lock()
        self._not_before = 0.0  # after a sync process that failed to start (time.time())
        self.running = False

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the thread."""
        self._thread.start()

    def wake(self) -> None:
        """A new event is stored: look at the queue again now."""
        self._wake.set()

    def stop(self) -> None:
        """Start no more syncs; ask a running sync process to stop if it has not begun."""
        self._stopping.set()
        self._wake.set()
        with self._child_lock:
            if self._child is not None and self._child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    self._child.send_signal(signal.SIGTERM)

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end (after `stop`); False if it is still running."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    # -- state for /healthz ----------------------------------------------------------------

    def retry_not_before(self) -> float | None:
        """After failed syncs, the earliest time for the next one; None after a success."""
        failures, last_end = self.store.failures_in_a_row()
        if not failures or last_end is None:
            return None
        return last_end + retry_delay(
            failures, self.config.retry_seconds, self.config.retry_max_seconds
        )

    def due_at(self) -> float | None:
        """When the next sync starts (wall clock), or None when nothing waits for one."""
        due = sync_due_at(
            self.store.oldest_open_at(), self.config.debounce_seconds, self.retry_not_before()
        )
        if due is not None:
            due = max(due, self._not_before)
        return due

    def state(self) -> str:
        """What the worker does: `idle`, `waiting_for_lock` or `running`.

        `waiting_for_lock`: a sync is due but another holds the lock (e.g. the nightly job).
        """
        if not self.running:
            return "idle"
        if self.store.meta(LOCK_WAIT_KEY) is not None:
            return "waiting_for_lock"
        return "running"

    def health(self) -> dict[str, Any]:
        """The `/healthz` body (without the delivery counts, which the app adds)."""
        counts = self.store.counts()
        failures, _ = self.store.failures_in_a_row()
        last = self.store.last_finished_sync()
        due = self.due_at()
        return {
            "status": "ok",
            "pending": self.store.not_done(),
            "events": counts,
            "sync": self.state(),
            "next_sync_in_seconds": None if due is None else round(max(0.0, due - time.time()), 3),
            "failures_in_a_row": failures,
            "last_sync": None if last is None else last.summary(),
        }

    # -- the loop --------------------------------------------------------------------------

    def _leftovers(self) -> bool:
        """Whether a sync of an earlier receiver is still marked running (when we run none)."""
        return any(s.status == "running" for s in self.store.syncs(limit=5))

    def _loop(self) -> None:
        recovering = True  # the first look: a sync left by an earlier process needs one run
        while not self._stopping.is_set():
            try:
                due = time.time() if recovering and self._leftovers() else self.due_at()
            except StoreError as exc:
                logger.error("cannot read the queue: %s", exc)  # noqa: TRY400 -- one line
                self._wake.wait(5.0)
                self._wake.clear()
                continue
            recovering = False
            now = time.time()
            if due is None or due > now:
                self._wake.wait(
                    IDLE_POLL_SECONDS if due is None else min(IDLE_POLL_SECONDS, due - now)
                )
                self._wake.clear()
                continue
            self._run_one()

    def _run_one(self) -> None:
        """Start one sync process, wait for it, log its sync."""
        spawned = time.time()
        with self._child_lock:
            if self._stopping.is_set():
                return
            try:
                child = subprocess.Popen(
                    [sys.executable, "-m", "tap_deel.webhooks.sync_run"],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    env=dict(os.environ),
                    start_new_session=True,  # a terminal's Ctrl-C or a group kill spares it
                )
            except OSError as exc:
                logger.error("cannot start a sync process: %s", exc)  # noqa: TRY400
                self._not_before = time.time() + self.config.retry_seconds
                return
            self._child = child
            self.running = True
        try:
            while True:
                try:
                    code = child.wait(timeout=CHILD_POLL_SECONDS)
                    break
                except subprocess.TimeoutExpired:
                    continue
            # Recorded and counted before the worker reads as idle: once /healthz says so,
            # /metrics has counted the sync.
            self._record(child.pid, code, spawned)
        finally:
            with self._child_lock:
                self._child = None
                self.running = False

    def _record(self, pid: int, code: int, spawned: float) -> None:
        """Log the sync the process ran; mark it interrupted if the process died in it."""
        try:
            sync = self.store.sync_of_pid(pid, since=spawned - 1.0)
            if sync is not None and sync.status == "running":
                self.store.interrupt_unfinished(time.time(), only=sync.id)
                sync = self.store.sync(sync.id)
            self.store.set_meta(LOCK_WAIT_KEY, None)
            self._count_ended_syncs()
        except StoreError as exc:
            logger.error("cannot record a sync: %s", exc)  # noqa: TRY400 -- one line
            return
        if sync is not None:
            level = logging.INFO if sync.status == "succeeded" else logging.WARNING
            logger.log(level, sync_line(sync))
        if code not in (0, EXIT_STOPPED) and sync is None:
            logger.error("the sync process exited %s before starting a sync", code)
            self._not_before = time.time() + self.config.retry_seconds

    def _count_ended_syncs(self) -> None:
        """Count, oldest first, each sync that ended since the last count, and its events.

        Stops at a sync still running (it is counted once it has ended), so none is counted
        twice or skipped.
        """
        for sync in self.store.syncs_after(self._counted_through):
            if sync.status == "running":
                return
            seconds = (
                self.store.delivery_to_done_seconds(sync.id) if sync.status == "succeeded" else []
            )
            self.metrics.sync_ended(sync.kind, sync.status, seconds)
            self._counted_through = sync.id
