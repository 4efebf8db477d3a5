"""What a run did, for people: the end-of-run summary, the JSON report, progress lines.

The summary fits on one screen (counts, then the first few skipped, conflicting and failed
records with their reasons); the JSON report at `report_path` has every record. Neither
ever holds the API key: they are built only from `RecordResult`s, which never see it.
"""

from __future__ import annotations

import itertools
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

import msgspec

from target_jumpcloud.atomic import write_atomically
from target_jumpcloud.model import (
    REASON_KEPT_SUSPENDED,
    DirectoryCheck,
    Outcome,
    OutOfScopeAction,
    RecordResult,
)
from target_jumpcloud.output.hints import hint_for
from target_jumpcloud.sync.managers import missing_manager_id

if TYPE_CHECKING:
    import logging
    import os
    from collections.abc import Callable, Iterable, Iterator
    from pathlib import Path

    from target_jumpcloud.settings.sync_settings import SyncSettings

SUMMARY_LISTED: Final = 10  # records listed per outcome in the summary
OUT_OF_SCOPE_ACTIONS: Final = tuple(action.value for action in OutOfScopeAction)
_LISTED_OUTCOMES: Final = (Outcome.SKIPPED, Outcome.CONFLICT, Outcome.FAILED)

STATUS_COMPLETED: Final = "completed"
STATUS_FAILED_RECORDS: Final = "completed_with_failures"
STATUS_DRY_RUN: Final = "dry_run"
STATUS_GUARD: Final = "guard_tripped"
STATUS_ABORTED: Final = "aborted"  # stopped before planning: key refused, input broken…


def utc_now() -> datetime:
    """The current time in UTC (the report's clock)."""
    return datetime.now(UTC)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a `Z`, second precision plus milliseconds."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class RunReport:
    """Every record's outcome plus the run's frame (times, dry run, status, guard message)."""

    started_at: datetime
    dry_run: bool
    records: list[RecordResult] = field(default_factory=list)
    finished_at: datetime | None = None
    status: str = STATUS_COMPLETED
    message: str | None = None  # why the run stopped short (the guard), if it did
    # docs/leavers.md: the users no record backs (None: not checked, e.g. a reviewed plan)
    directory: DirectoryCheck | None = None

    @classmethod
    def from_results(
        cls,
        results: Iterable[RecordResult],
        *,
        started_at: datetime,
        dry_run: bool,
        status: str = STATUS_COMPLETED,
        message: str | None = None,
        finished_at: datetime | None = None,
        directory: DirectoryCheck | None = None,
    ) -> RunReport:
        """A report with the results in stream order (by position)."""
        ordered = sorted(results, key=lambda r: r.position)
        return cls(
            started_at=started_at,
            dry_run=dry_run,
            records=ordered,
            finished_at=finished_at,
            status=status,
            message=message,
            directory=directory,
        )

    @property
    def applied(self) -> bool:
        """False when nothing was written: the outcomes are then what the run would do."""
        return self.status not in {STATUS_DRY_RUN, STATUS_GUARD, STATUS_ABORTED}

    @property
    def counts(self) -> dict[str, int]:
        """Every outcome name with its count, zeros included, in the contract's order."""
        counts = dict.fromkeys((outcome.value for outcome in Outcome), 0)
        for result in self.records:
            counts[result.outcome.value] += 1
        return counts

    @property
    def failed(self) -> int:
        """How many records failed."""
        return sum(1 for r in self.records if r.outcome is Outcome.FAILED)

    def kept_suspended(self) -> list[RecordResult]:
        """Active workers whose JumpCloud user stays suspended (reactivation is off)."""
        return [r for r in self.records if r.reason and REASON_KEPT_SUSPENDED in r.reason]

    def missing_managers(self) -> dict[str, int]:
        """Manager profile id → how many records name it while it has no JumpCloud user."""
        found: dict[str, int] = {}
        for result in self.records:
            for warning in result.warnings:
                profile_id = missing_manager_id(warning)
                if profile_id is not None:
                    found[profile_id] = found.get(profile_id, 0) + 1
        return found

    # -- the one-screen summary ----------------------------------------------------------------

    def summary_lines(self, listed: int = SUMMARY_LISTED) -> list[str]:
        """The end-of-run summary, one log line per entry."""
        head = ", ".join(f"{name} {count}" for name, count in self.counts.items())
        frame = []
        if self.dry_run:
            frame.append("dry run: nothing written")
        if self.status == STATUS_GUARD:
            frame.append("guard tripped: nothing written")
        if self.status == STATUS_ABORTED:
            frame.append("aborted: nothing written")
        shown_frame = f" ({'; '.join(frame)})" if frame else ""
        lines = [f"Summary of {len(self.records)} records{shown_frame}: {head}"]
        for outcome in _LISTED_OUTCOMES:
            chosen = [r for r in self.records if r.outcome is outcome]
            if not chosen:
                continue
            shown = chosen[:listed]
            more = f" (first {len(shown)} of {len(chosen)})" if len(chosen) > len(shown) else ""
            lines.append(f"{outcome.value}{more}:")
            lines.extend(
                f"  {describe_record(r)}: {r.reason or '(no reason given)'}" for r in shown
            )
        kept = self.kept_suspended()
        if kept:
            lines.append(
                f"note: {len(kept)} active worker(s) have a suspended JumpCloud user that was "
                "left suspended because reactivate_suspended_users is off"
                f" (e.g. {', '.join(describe_record(r) for r in kept[:3])})"
            )
        lines.extend(self._missing_manager_lines(listed))
        warned = [r for r in self.records if r.warnings]
        if warned:
            lines.append(
                f"{len(warned)} record(s) carry warnings (see the report), e.g. "
                f"{describe_record(warned[0])}: {warned[0].warnings[0]}"
            )
        lines.extend(self._directory_lines(listed))
        if self.message:
            lines.append(self.message)
        return lines

    def _directory_lines(self, listed: int) -> list[str]:
        """The out-of-scope users (docs/leavers.md), or that the check was not made."""
        check = self.directory
        if check is None:
            return []
        if not check.complete_input:
            return ["out of scope: not checked (the input was not a complete listing)"]
        if not check.out_of_scope:
            return []
        lines = [f"out of scope ({len(check.out_of_scope)} JumpCloud user(s) no record carries):"]
        lines.extend(
            f"  {user.username} ({user.jumpcloud_id}, employeeIdentifier "
            f"{user.employee_identifier}): {user.action.value}, missed {user.missed_runs} "
            f"run(s){'; ' + user.failed if user.failed else ''}"
            for user in check.out_of_scope[:listed]
        )
        return lines

    def _missing_manager_lines(self, listed: int) -> list[str]:
        """One line naming the managers that have no JumpCloud user, if any."""
        missing = self.missing_managers()
        if not missing:
            return []
        names = list(missing)
        more = f" and {len(names) - listed} more" if len(names) > listed else ""
        line = (
            f"{sum(missing.values())} record(s) name a manager with no JumpCloud user, so "
            f"their manager was left as it is: manager profile id(s) "
            f"{', '.join(names[:listed])}{more}"
        )
        return [line]

    def log_summary(self, logger: logging.Logger) -> None:
        """Log the summary, one INFO line per entry (the caller logs the verdict)."""
        for line in self.summary_lines():
            logger.info("%s", line)

    # -- the JSON report -------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (with `status`, `applied` and `message`)."""
        return {**self._head(), "records": [record_entry(r) for r in self.records]}

    def _head(self) -> dict[str, Any]:
        """Everything but the records (which come last)."""
        finished = self.finished_at or utc_now()
        return {
            "started_at": iso(self.started_at),
            "finished_at": iso(finished),
            "dry_run": self.dry_run,
            "status": self.status,
            "applied": self.applied,
            "message": self.message,
            "counts": self.counts,
            **({"directory": self.directory.to_json()} if self.directory is not None else {}),
        }

    def write(self, path: str | os.PathLike[str]) -> Path:
        """Write the report atomically: a temporary file beside it, then a rename.

        The records are encoded a thousand at a time as they are written, so the report of
        100,000 records (68 MB with three group rules) is never held whole, nor its entries.
        """
        try:
            records = map(record_entry, self.records)
            return write_atomically(path, _report_chunks(self._head(), records))
        except _UNENCODABLE:
            return write_atomically(path, _json_dumps_bytes(self.to_json()))


def record_entry(result: RecordResult) -> dict[str, Any]:
    """A record as the report writes it: a skipped, conflicting or failed one with its `hint`."""
    entry = result.to_json()
    hint = hint_for(result.outcome, result.reason)
    if hint is not None:
        entry["hint"] = hint
    return entry


def directory_check_line(check: DirectoryCheck | None, settings: SyncSettings) -> str | None:
    """The log line of the out-of-scope check (docs/leavers.md); None when none was planned."""
    if check is None:
        return None
    worker_stream, mode = settings.worker_stream, settings.leavers.out_of_scope.value
    if not check.complete_input:
        return (
            f"The input is not a complete listing (no ACTIVATE_VERSION after the last "
            f"'{worker_stream}' record): the out-of-scope check was not made"
        )
    actions = Counter(user.action.value for user in check.out_of_scope)
    shown = ", ".join(f"{actions[name]} {name}" for name in OUT_OF_SCOPE_ACTIONS)
    return (
        f"Complete input: {len(check.out_of_scope)} JumpCloud user(s) out of scope ({shown}, "
        f"out_of_scope {mode}); {check.unlinked_count} unlinked user(s)"
    )


def _report_bytes(data: dict[str, Any]) -> bytes:
    """The report as UTF-8 JSON, indented by 2, with a final newline.

    msgspec writes it (100,000 records in a tenth of a second) with the very bytes
    `json.dumps(data, indent=2, ensure_ascii=False)` gives. A text it cannot encode (a lone
    surrogate, say in a value read from JumpCloud) is written by `json` instead, the surrogate
    as its backslash escape, rather than making the report unwritable.
    """
    head = dict(data)
    records = head.pop("records", None)
    try:
        if isinstance(records, list) and list(data)[-1] == "records":
            return b"".join(_report_chunks(head, records))
        return msgspec.json.format(msgspec.json.encode(data), indent=2) + b"\n"
    except _UNENCODABLE:
        return _json_dumps_bytes(data)


_UNENCODABLE: Final = (msgspec.EncodeError, UnicodeError, TypeError)
_RECORDS_AT_ONCE: Final = 1_000
_NO_RECORDS: Final = b"[]\n}"


def _json_dumps_bytes(data: dict[str, Any]) -> bytes:
    """`_report_bytes` by `json`, for a text msgspec cannot encode."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return text.encode("utf-8", errors="backslashreplace")


def _report_chunks(head: dict[str, Any], records: Iterable[dict[str, Any]]) -> Iterator[bytes]:
    r"""`_report_bytes` of `{**head, "records": records}`, a thousand records at a time.

    Each batch is formatted as a list (its items indented by 2) and indented by 2 more, to
    sit under `records` as `json.dumps` puts them: a JSON text holds no raw newline, so
    indenting is one replace of `\n` per batch.

    Raises:
        msgspec.EncodeError, UnicodeError, TypeError: a value msgspec cannot encode.
    """
    opening = msgspec.json.format(msgspec.json.encode({**head, "records": []}), indent=2)
    remaining = iter(records)
    batch = list(itertools.islice(remaining, _RECORDS_AT_ONCE))
    if not batch or not opening.endswith(_NO_RECORDS):
        yield opening + b"\n"
        return
    yield opening[: -len(_NO_RECORDS)] + b"["
    separator = b"\n"
    while batch:
        text = msgspec.json.format(msgspec.json.encode(batch), indent=2)
        items = text[2:-2]  # (without the list's own `[\n` and `\n]`)
        yield separator + b"  " + items.replace(b"\n", b"\n  ")
        separator = b",\n"
        batch = list(itertools.islice(remaining, _RECORDS_AT_ONCE))
    yield b"\n  ]\n}\n"


def describe_record(result: RecordResult) -> str:
    """How a record is named in a log line: stream position, profile id, email."""
    parts = [f"#{result.position + 1}"]
    if result.deel_id:
        parts.append(f"deel_id={result.deel_id}")
    if result.email:
        parts.append(f"email={result.email}")
    return " ".join(parts)


class Progress:
    """Logs `what: n/total` at most every `interval` seconds (and always at the end).

    Long runs (100k records, thousands of writes) stay visibly alive without one line per
    record. The clock is injectable so tests need no sleeping.
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger = logger
        self.what = what
        self.interval = interval
        self._clock = clock
        self._last = clock()

    def tick(self, count: int, total: int | None = None) -> bool:
        """Log if the interval has passed or the work is done; True when a line was logged."""
        now = self._clock()
        finished = total is not None and count >= total
        if not finished and now - self._last < self.interval:
            return False
        self._last = now
        if total is None:
            self.logger.info("%s: %d", self.what, count)
        else:
            self.logger.info("%s: %d/%d", self.what, count, total)
        return True
