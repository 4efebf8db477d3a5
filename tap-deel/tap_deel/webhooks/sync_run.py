"""One sync, in a process of its own: take the shared lock, claim the events, run, record.

The receiver's worker starts `python -m tap_deel.webhooks.sync_run` for each sync. Running it
apart from the receiver means the lock is held by the process that actually runs the sync
command, and the outcome is recorded by it: when the receiver is killed mid-sync, the sync
still finishes, its events are still marked, and the next receiver (which waits for the
same lock) neither runs them again nor overlaps the sync. The nightly job takes the same
lock (`deel-webhooks locked -- ...`), so the two never overlap.

The sync command runs through the shell with the receiver's environment minus the signing
key; a targeted sync adds `TAP_DEEL_PERSON_IDS` (a JSON list), a full sync removes it. The
target's report goes to `<state dir>/reports/sync-<id>.json` (unless
`TARGET_JUMPCLOUD_REPORT_PATH` is set already), and its outcome counts are recorded.

Exit codes: 0 when a sync was recorded (whatever its outcome) or nothing was open;
`EXIT_STOPPED` when told to stop while still waiting for the lock (nothing claimed).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from tap_deel.people_by_id import ENV_VAR as PERSON_IDS_ENV_VAR
from tap_deel.webhooks.config import SIGNING_KEY, ConfigError, ReceiverConfig, load_config
from tap_deel.webhooks.store import Store, StoreError

if TYPE_CHECKING:
    from collections.abc import Mapping
    from types import FrameType

    from tap_deel.webhooks.store import Claim

EXIT_STOPPED = 75
EXIT_FAILED = 70
LOCK_WAIT_KEY = "lock_wait_since"
REPORT_ENV_VAR = "TARGET_JUMPCLOUD_REPORT_PATH"
SYNC_ID_ENV_VAR = "DEEL_WEBHOOKS_SYNC_ID"
SYNC_KIND_ENV_VAR = "DEEL_WEBHOOKS_SYNC_KIND"
#: Sync logs and reports kept in the state folder (the oldest go first).
KEEP_FILES = 50
LOCK_POLL_SECONDS = 0.2
TAIL_LINES = 5


def sync_environment(environ: Mapping[str, str], claim: Claim, report_path: Path) -> dict[str, str]:
    """The sync command's environment for one claimed sync.

    Args:
        environ: The receiver's environment.
        claim: The sync.
        report_path: Where the target writes its report (used when none is set already).

    Returns:
        The environment: no signing key; `TAP_DEEL_PERSON_IDS` only for a targeted sync.
    """
    env = {k: v for k, v in environ.items() if k not in (SIGNING_KEY, PERSON_IDS_ENV_VAR)}
    if claim.plan.kind == "targeted":
        env[PERSON_IDS_ENV_VAR] = json.dumps(list(claim.plan.person_ids))
    env.setdefault(REPORT_ENV_VAR, str(report_path))
    env[SYNC_ID_ENV_VAR] = str(claim.sync_id)
    env[SYNC_KIND_ENV_VAR] = claim.plan.kind
    return env


def report_counts(path: Path, written_after: float) -> dict[str, int]:
    """The `counts` of a target report written after `written_after`, else `{}`."""
    try:
        if path.stat().st_mtime < written_after:
            return {}
        counts = json.loads(path.read_text(encoding="utf-8")).get("counts")
    except (OSError, ValueError, AttributeError):
        return {}
    if not isinstance(counts, dict):
        return {}
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int) and v}


def log_tail(path: Path, lines: int = TAIL_LINES) -> str:
    """The last lines of a sync's log, for the error recorded with a failed sync."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text.splitlines()[-lines:] if line.strip())


def _prune(folder: Path, pattern: str, keep: int = KEEP_FILES) -> None:
    files = sorted(folder.glob(pattern), key=lambda p: p.stat().st_mtime)
    for old in files[:-keep] if len(files) > keep else []:
        with contextlib.suppress(OSError):
            old.unlink()


class _Stop:
    """Set by SIGTERM/SIGINT: honoured only while waiting for the lock."""

    requested = False

    @classmethod
    def handle(cls, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        cls.requested = True


def _wait_for_lock(lock: FileLock, store: Store) -> bool:
    """Take the lock, noting the wait in the queue; False when told to stop first."""
    noted = False
    try:
        while True:
            try:
                lock.acquire(timeout=LOCK_POLL_SECONDS)
            except Timeout:
                if _Stop.requested:
                    return False
                if not noted:
                    store.set_meta(LOCK_WAIT_KEY, str(time.time()))
                    noted = True
                continue
            return True
    finally:
        if noted:
            store.set_meta(LOCK_WAIT_KEY, None)


def _wait(process: subprocess.Popen[bytes], timeout: float) -> tuple[int, str | None]:
    """The command's exit code; past `timeout`, its process group is stopped (failed).

    A SIGTERM to this process meanwhile is only noted: the running sync is waited for.
    """
    try:
        return process.wait(timeout=timeout), None
    except subprocess.TimeoutExpired:
        pass
    for signum, grace in ((signal.SIGTERM, 30.0), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signum)
        try:
            process.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    return EXIT_FAILED, f"the sync command was stopped after running {timeout:g} s"


def run_claimed(config: ReceiverConfig, store: Store, claim: Claim) -> None:
    """Run the sync command for a claimed sync and record how it ended."""
    logs, reports = config.state_dir / "logs", config.state_dir / "reports"
    logs.mkdir(parents=True, exist_ok=True)
    reports.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"sync-{claim.sync_id}.log"
    env = sync_environment(os.environ, claim, reports / f"sync-{claim.sync_id}.json")
    report_path = Path(env[REPORT_ENV_VAR])
    started = time.time()
    error: str | None = None
    with log_path.open("wb") as log:
        try:
            process = subprocess.Popen(  # noqa: S602 -- the contract's sync command is a shell command
                config.sync_command,
                shell=True,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: a timeout stops all of it
            )
        except OSError as exc:
            code, error = EXIT_FAILED, f"cannot start the sync command: {exc.strerror or exc}"
        else:
            code, error = _wait(process, config.sync_timeout_seconds)
    if code != 0 and error is None:
        tail = log_tail(log_path)
        error = f"the sync command exited {code}" + (f": {tail}" if tail else "")
    store.finish(
        claim.sync_id,
        exit_code=code,
        now=time.time(),
        counts=report_counts(report_path, started),
        error=error,
    )
    _prune(logs, "sync-*.log")
    _prune(reports, "sync-*.json")


def run_once(config: ReceiverConfig) -> int:
    """Wait for the lock, recover what a dead sync left, claim the open events, run them."""
    store = Store(config.database)
    lock = FileLock(str(config.lock_file))
    try:
        if not _wait_for_lock(lock, store):
            return EXIT_STOPPED
        try:
            # Holding the lock, no sync can be running: any still marked so has died.
            store.interrupt_unfinished(time.time())
            claim = store.claim(config.full_sync_above, time.time(), os.getpid())
            if claim is not None:
                run_claimed(config, store, claim)
        finally:
            lock.release()
    finally:
        store.close()
    return 0


def main() -> int:
    """The sync process's entry point (started by the receiver's worker)."""
    signal.signal(signal.SIGTERM, _Stop.handle)
    signal.signal(signal.SIGINT, _Stop.handle)
    try:
        config = load_config(os.environ)
        return run_once(config)
    except (ConfigError, StoreError) as exc:
        sys.stderr.write(f"deel-webhooks sync: {exc}\n")
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
