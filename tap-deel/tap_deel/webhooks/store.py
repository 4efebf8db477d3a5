"""The durable queue: accepted events and the syncs that served them, in one SQLite file.

An event is stored (and the write reaches the disk) before the receiver answers 200. It is
`pending` until a sync claims it (`running`), then `done` when that sync exits 0, or
`failed` (with `attempts` and `last_error`) until a later sync succeeds. Claiming happens in
one transaction, by the one process holding the sync lock, so no event is ever served by two
syncs at once. Write-ahead logging lets the receiver answer deliveries while a sync updates
the file; `synchronous=FULL` makes every commit durable against a crash or a power cut.

Times are wall-clock seconds (`time.time()`): they must mean the same after a restart.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tap_deel.webhooks.policy import OpenEvent, SyncPlan, plan_sync

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from tap_deel.webhooks.events import Event

SCHEMA_VERSION = "1"
BUSY_TIMEOUT_MS = 15_000
#: Done events (and finished syncs) are kept this long: a replay of an older delivery counts
#: as new, which only costs a re-read of the person.
RETENTION_SECONDS = 30 * 24 * 3600.0
#: The longest error text kept for an event or a sync.
MAX_ERROR = 2000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    dedupe_key TEXT NOT NULL UNIQUE,
    event_type TEXT NOT NULL,
    tracking_id TEXT,
    person_ids TEXT NOT NULL,
    full_sync INTEGER NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    received_at REAL NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sync_id INTEGER,
    done_at REAL
);
CREATE INDEX IF NOT EXISTS events_by_status ON events (status, received_at);
CREATE TABLE IF NOT EXISTS syncs (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    person_ids TEXT NOT NULL,
    reason TEXT NOT NULL,
    events INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'interrupted')),
    started_at REAL NOT NULL,
    finished_at REAL,
    exit_code INTEGER,
    counts TEXT,
    error TEXT,
    pid INTEGER
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class StoreError(RuntimeError):
    """The queue file cannot be opened, read or written."""


@dataclass(frozen=True)
class Claim:
    """A sync that has just claimed its events."""

    sync_id: int
    plan: SyncPlan
    event_ids: tuple[int, ...]


@dataclass(frozen=True)
class SyncRecord:
    """One sync as the queue remembers it."""

    id: int
    kind: str
    person_ids: tuple[str, ...]
    reason: str
    events: int
    status: str
    started_at: float
    finished_at: float | None
    exit_code: int | None
    counts: dict[str, int]
    error: str | None
    pid: int | None

    @property
    def duration(self) -> float | None:
        """Seconds the sync ran, when it has finished."""
        if self.finished_at is None:
            return None
        return max(0.0, self.finished_at - self.started_at)

    def summary(self) -> dict[str, Any]:
        """The sync for `/healthz` (ids of people left out: a count is enough)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "people": len(self.person_ids),
            "events": self.events,
            "status": self.status,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "duration_seconds": None if self.duration is None else round(self.duration, 3),
            "exit_code": self.exit_code,
            "counts": self.counts,
            "error": self.error,
        }


def _sync_record(row: sqlite3.Row) -> SyncRecord:
    return SyncRecord(
        id=int(row["id"]),
        kind=str(row["kind"]),
        person_ids=tuple(json.loads(row["person_ids"])),
        reason=str(row["reason"]),
        events=int(row["events"]),
        status=str(row["status"]),
        started_at=float(row["started_at"]),
        finished_at=None if row["finished_at"] is None else float(row["finished_at"]),
        exit_code=None if row["exit_code"] is None else int(row["exit_code"]),
        counts=json.loads(row["counts"]) if row["counts"] else {},
        error=row["error"],
        pid=None if row["pid"] is None else int(row["pid"]),
    )


class Store:
    """The queue file, through one connection (guarded by a lock: threads may share it).

    The receiver opens two (deliveries; the worker and /healthz), the sync process its own.
    """

    def __init__(self, path: Path) -> None:
        """Open (and create, the first time) the queue at `path`.

        Raises:
            StoreError: The file cannot be opened or is not this queue.
        """
        self.path = path
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(
                str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                check_same_thread=False,
            )  # fmt: skip
            self._db.row_factory = sqlite3.Row
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.executescript(_SCHEMA)
            self._db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the queue {path}: {exc}") from None

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (`BEGIN IMMEDIATE`), committed or undone."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError(f"cannot write the queue {self.path}: {exc}") from None
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                self._db.execute("ROLLBACK")
                raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._lock:
            try:
                return list(self._db.execute(sql, args))
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read the queue {self.path}: {exc}") from None

    # -- deliveries ----------------------------------------------------------------------

    def add_event(self, event: Event, received_at: float) -> bool:
        """Store an accepted event durably; False when the same event is already stored.

        Args:
            event: The parsed event.
            received_at: When it arrived.

        Returns:
            True for a new event, False for a repeat (same dedupe key).
        """
        try:
            with self._transaction() as db:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO events (dedupe_key, event_type, tracking_id, "
                    "person_ids, full_sync, reason, received_at, status) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, 'pending')",
                    (
                        event.dedupe_key,
                        event.event_type,
                        event.tracking_id,
                        json.dumps(list(event.person_ids)),
                        int(event.full_sync),
                        event.reason,
                        received_at,
                    ),
                )
                return cursor.rowcount == 1
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    # -- syncs -------------------------------------------------------------------------------

    def claim(self, full_sync_above: int, now: float, pid: int) -> Claim | None:
        """Claim every open event for one new sync (the caller holds the sync lock).

        Args:
            full_sync_above: `DEEL_WEBHOOKS_FULL_SYNC_ABOVE`.
            now: The sync's start time.
            pid: The process that runs the sync.

        Returns:
            The sync and its events, or None when no event is open.
        """
        try:
            with self._transaction() as db:
                rows = list(
                    db.execute(
                        "SELECT id, event_type, person_ids, full_sync, reason FROM events "
                        "WHERE status IN ('pending', 'failed') ORDER BY received_at, id"
                    )
                )
                plan = plan_sync(
                    (
                        OpenEvent(
                            str(r["event_type"]),
                            tuple(json.loads(r["person_ids"])),
                            bool(r["full_sync"]),
                            str(r["reason"]),
                        )
                        for r in rows
                    ),
                    full_sync_above,
                )
                if plan is None:
                    return None
                sync_id = db.execute(
                    "INSERT INTO syncs (kind, person_ids, reason, events, status, started_at, "
                    "pid) VALUES (?, ?, ?, ?, 'running', ?, ?)",
                    (
                        plan.kind,
                        json.dumps(list(plan.person_ids)),
                        plan.reason,
                        len(rows),
                        now,
                        pid,
                    ),
                ).lastrowid
                assert sync_id is not None  # noqa: S101 -- sqlite always gives an INSERT's id
                ids = tuple(int(r["id"]) for r in rows)
                db.executemany(
                    "UPDATE events SET status = 'running', sync_id = ?, attempts = attempts + 1 "
                    "WHERE id = ?",
                    [(sync_id, event_id) for event_id in ids],
                )
                return Claim(int(sync_id), plan, ids)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    def finish(
        self,
        sync_id: int,
        *,
        exit_code: int,
        now: float,
        counts: dict[str, int] | None = None,
        error: str | None = None,
    ) -> None:
        """Record a sync's end: its events are `done` on exit 0, else `failed` with the error.

        Args:
            sync_id: The sync.
            exit_code: The sync command's exit code.
            now: When it ended.
            counts: The target's outcome counts, when its report was read.
            error: What went wrong (for a failure).
        """
        succeeded = exit_code == 0
        message = None if succeeded else (error or f"the sync command exited {exit_code}")
        message = None if message is None else message[:MAX_ERROR]
        try:
            with self._transaction() as db:
                db.execute(
                    "UPDATE syncs SET status = ?, finished_at = ?, exit_code = ?, counts = ?, "
                    "error = ? WHERE id = ? AND status = 'running'",
                    (
                        "succeeded" if succeeded else "failed",
                        now,
                        exit_code,
                        json.dumps(counts or {}),
                        message,
                        sync_id,
                    ),
                )
                if succeeded:
                    db.execute(
                        "UPDATE events SET status = 'done', done_at = ?, last_error = NULL "
                        "WHERE sync_id = ? AND status = 'running'",
                        (now, sync_id),
                    )
                else:
                    db.execute(
                        "UPDATE events SET status = 'failed', last_error = ? "
                        "WHERE sync_id = ? AND status = 'running'",
                        (message, sync_id),
                    )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    def interrupt_unfinished(self, now: float, only: int | None = None) -> list[int]:
        """Mark syncs still `running` as interrupted; their events become `failed`.

        Call it only while holding the sync lock (then no sync can still be running), or
        for a sync whose process is known to have died (`only`).

        Args:
            now: The time to record.
            only: Just this sync; None for every unfinished one.

        Returns:
            The syncs marked.
        """
        message = "the sync was interrupted (the process running it stopped)"
        try:
            with self._transaction() as db:
                rows = db.execute("SELECT id FROM syncs WHERE status = 'running'")
                ids = [int(r["id"]) for r in rows if only is None or int(r["id"]) == only]
                for sync_id in ids:
                    db.execute(
                        "UPDATE syncs SET status = 'interrupted', finished_at = ?, error = ? "
                        "WHERE id = ?",
                        (now, message, sync_id),
                    )
                    db.execute(
                        "UPDATE events SET status = 'failed', last_error = ? "
                        "WHERE sync_id = ? AND status = 'running'",
                        (message, sync_id),
                    )
                return ids
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    def purge(self, before: float) -> int:
        """Forget done events and finished syncs older than `before`; how many events."""
        try:
            with self._transaction() as db:
                removed = db.execute(
                    "DELETE FROM events WHERE status = 'done' AND done_at < ?", (before,)
                ).rowcount
                db.execute(
                    "DELETE FROM syncs WHERE finished_at < ? AND id NOT IN "
                    "(SELECT sync_id FROM events WHERE sync_id IS NOT NULL)",
                    (before,),
                )
                return int(removed)
        except sqlite3.Error as exc:
            raise StoreError(f"cannot write the queue {self.path}: {exc}") from None

    def set_meta(self, key: str, value: str | None) -> None:
        """Set (or with None, remove) a small note, e.g. that a sync waits for the lock."""
        with self._transaction() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    # -- reading -------------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        """A note set with `set_meta`, or None."""
        rows = self._read("SELECT value FROM meta WHERE key = ?", (key,))
        return str(rows[0]["value"]) if rows else None

    def counts(self) -> dict[str, int]:
        """Events by status (every status, zeros included)."""
        found = {"pending": 0, "running": 0, "done": 0, "failed": 0}
        for row in self._read("SELECT status, COUNT(*) AS n FROM events GROUP BY status"):
            found[str(row["status"])] = int(row["n"])
        return found

    def not_done(self) -> int:
        """Events not yet done (pending, running, or failed and waiting for a retry)."""
        rows = self._read("SELECT COUNT(*) AS n FROM events WHERE status != 'done'")
        return int(rows[0]["n"])

    def oldest_open_at(self) -> float | None:
        """When the oldest event that no sync has claimed (pending or failed) arrived."""
        rows = self._read(
            "SELECT MIN(received_at) AS t FROM events WHERE status IN ('pending', 'failed')"
        )
        value = rows[0]["t"] if rows else None
        return None if value is None else float(value)

    def syncs(self, limit: int | None = None) -> list[SyncRecord]:
        """Syncs, newest first."""
        sql = "SELECT * FROM syncs ORDER BY id DESC"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return [_sync_record(row) for row in self._read(sql)]

    def sync(self, sync_id: int) -> SyncRecord | None:
        """One sync, or None."""
        rows = self._read("SELECT * FROM syncs WHERE id = ?", (sync_id,))
        return _sync_record(rows[0]) if rows else None

    def sync_of_pid(self, pid: int, since: float) -> SyncRecord | None:
        """The newest sync the process `pid` started at or after `since`."""
        rows = self._read(
            "SELECT * FROM syncs WHERE pid = ? AND started_at >= ? ORDER BY id DESC LIMIT 1",
            (pid, since),
        )
        return _sync_record(rows[0]) if rows else None

    def syncs_after(self, sync_id: int) -> list[SyncRecord]:
        """Syncs newer than `sync_id`, oldest first."""
        rows = self._read("SELECT * FROM syncs WHERE id > ? ORDER BY id", (sync_id,))
        return [_sync_record(row) for row in rows]

    def ended_through(self) -> int:
        """The id through which every sync has ended (0 when there is none).

        One below the oldest sync still running, else the newest sync.
        """
        rows = self._read(
            "SELECT COALESCE((SELECT MIN(id) - 1 FROM syncs WHERE status = 'running'), "
            "(SELECT MAX(id) FROM syncs), 0) AS n"
        )
        return int(rows[0]["n"])

    def delivery_to_done_seconds(self, sync_id: int) -> list[float]:
        """For each event the sync marked done, seconds from its delivery to the sync's end.

        Both times are stored (`received_at` when the delivery was accepted, `done_at` when
        its sync ended), so the figure survives a restart in between.
        """
        rows = self._read(
            "SELECT done_at - received_at AS seconds FROM events "
            "WHERE sync_id = ? AND status = 'done' ORDER BY id",
            (sync_id,),
        )
        return [float(row["seconds"]) for row in rows]

    def last_finished_sync(self) -> SyncRecord | None:
        """The newest sync that has ended."""
        rows = self._read("SELECT * FROM syncs WHERE status != 'running' ORDER BY id DESC LIMIT 1")
        return _sync_record(rows[0]) if rows else None

    def failures_in_a_row(self) -> tuple[int, float | None]:
        """Syncs that failed (or were interrupted) since the last success.

        Returns:
            Their count, and when the newest of them ended (None when none did).
        """
        count, last = 0, None
        for row in self._read(
            "SELECT status, finished_at FROM syncs WHERE status != 'running' ORDER BY id DESC "
            "LIMIT 100"
        ):
            if row["status"] == "succeeded":
                break
            count += 1
            if last is None and row["finished_at"] is not None:
                last = float(row["finished_at"])
        return count, last

    def events(self) -> list[dict[str, Any]]:
        """Every stored event as a dict (for tests and `deel-webhooks status`)."""
        return [
            {**dict(row), "person_ids": json.loads(row["person_ids"])}
            for row in self._read("SELECT * FROM events ORDER BY id")
        ]
