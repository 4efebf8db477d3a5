"""`deel-webhooks`: run the receiver, run a command under the sync lock, or show the queue.

    deel-webhooks [serve]                    the receiver (settings: DEEL_WEBHOOKS_* variables)
    deel-webhooks locked [--wait S] -- CMD   run CMD holding the lock the receiver's syncs take
    deel-webhooks status                     the queue as JSON (what /healthz shows, offline)

`locked` is how the nightly job and the event-driven syncs never overlap: cron runs
`deel-webhooks locked -- meltano run deel-to-jumpcloud`, which waits while an event-driven
sync runs (and makes the next one wait). Its exit code is the command's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

from tap_deel.webhooks.config import (
    LOCK_FILE,
    PORT,
    STATE_DIR,
    ConfigError,
    LockConfig,
    ReceiverConfig,
    load_config,
    load_lock_config,
)
from tap_deel.webhooks.logs import configure_logging
from tap_deel.webhooks.store import RETENTION_SECONDS, Store, StoreError

if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import FrameType

    from tap_deel.webhooks.worker import SyncWorker

logger = logging.getLogger("deel-webhooks")

EXIT_CONFIG = 2
EXIT_LOCK_TIMEOUT = 75
GRACEFUL_SECONDS = 10  # in-flight deliveries get this long to be answered on SIGTERM
STATE_FILE = "receiver.json"


def _say(message: str) -> None:
    """One line on stderr (the receiver's own log lines go through `logging`)."""
    sys.stderr.write(f"deel-webhooks: {message}\n")
    sys.stderr.flush()


def _fail(message: str) -> int:
    _say(message)
    return EXIT_CONFIG


def _prepare_folders(config: ReceiverConfig | LockConfig) -> None:
    """Create the state folder and the lock file's folder (ConfigError naming the variable)."""
    for path, variable in ((config.state_dir, STATE_DIR), (config.lock_file.parent, LOCK_FILE)):
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"{variable}: cannot create the folder {path} ({exc.strerror or exc})"
            ) from None


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: any free port)."""
    try:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        return socket.create_server(address[:2], family=family, backlog=1024)
    except OSError as exc:
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror or exc}); check {PORT} and the host"
        ) from None


class _Signals:
    """SIGTERM/SIGINT as a flag.

    Installed before uvicorn, which restores and re-raises it after its graceful shutdown,
    so that the receiver then waits for a running sync instead of dying at once.
    """

    received = False

    @classmethod
    def handle(cls, signum: int, frame: FrameType | None) -> None:
        del frame
        if cls.received:
            logger.info("signal %s: still waiting for the running sync to finish", signum)
        cls.received = True


def serve(config: ReceiverConfig) -> int:
    """Run the receiver until SIGTERM or SIGINT; 0 after a graceful stop."""
    import uvicorn  # noqa: PLC0415 - only the receiver needs the server

    from tap_deel.webhooks.app import create_app  # noqa: PLC0415
    from tap_deel.webhooks.metrics import ReceiverMetrics  # noqa: PLC0415
    from tap_deel.webhooks.worker import SyncWorker  # noqa: PLC0415

    _prepare_folders(config)
    try:
        deliveries, worker_store = Store(config.database), Store(config.database)
        worker_store.purge(time.time() - RETENTION_SECONDS)
        # /metrics reads the queue through the worker's connection, as /healthz does: the
        # deliveries' connection stays free for writes.
        metrics = ReceiverMetrics(pending_events=worker_store.not_done)
        worker = SyncWorker(config, worker_store, metrics)
    except StoreError as exc:
        raise ConfigError(f"{STATE_DIR}: {exc}") from None
    sock = _listen(config.host, config.port)
    host, port = sock.getsockname()[:2]
    app = create_app(
        config.signing_key,
        deliveries,
        on_event=worker.wake,
        health=worker.health,
        metrics=metrics,
    )
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,
            access_log=False,  # one line per delivery comes from the app instead
            server_header=False,
            lifespan="off",
            timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )
    )
    signal.signal(signal.SIGTERM, _Signals.handle)
    signal.signal(signal.SIGINT, _Signals.handle)
    _write_state_file(config, host, port)
    logger.info(
        "listening on http://%s:%s/webhooks/deel (state %s, debounce %gs, full sync above %d "
        "people, lock %s)",
        host,
        port,
        config.state_dir,
        config.debounce_seconds,
        config.full_sync_above,
        config.lock_file,
    )
    worker.start()
    try:
        if not _Signals.received:
            server.run(sockets=[sock])
    finally:
        sock.close()
        _stop_worker(worker)
        deliveries.close()
        worker_store.close()
        with contextlib.suppress(OSError):
            (config.state_dir / STATE_FILE).unlink()
    logger.info("stopped; %d events stay queued for the next start", _open_events(config))
    return 0


def _stop_worker(worker: SyncWorker) -> None:
    worker.stop()
    if not worker.join(timeout=1.0):
        logger.info("waiting for the running sync to finish")
        worker.join()


def _open_events(config: ReceiverConfig) -> int:
    try:
        store = Store(config.database)
    except StoreError:
        return 0
    try:
        return store.not_done()
    finally:
        store.close()


def _write_state_file(config: ReceiverConfig, host: str, port: int) -> None:
    """`<state dir>/receiver.json`: the pid and the port really bound (for tools and tests)."""
    path = config.state_dir / STATE_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(
        json.dumps({"pid": os.getpid(), "host": host, "port": port}), encoding="utf-8"
    )
    temporary.replace(path)


def run_locked(lock: LockConfig, command: Sequence[str], wait: float | None) -> int:
    """Run `command` while holding the sync lock; its exit code (75 when the wait ran out)."""
    from filelock import FileLock, Timeout  # noqa: PLC0415

    _prepare_folders(lock)
    held = FileLock(str(lock.lock_file))
    try:
        held.acquire(timeout=0)
    except Timeout:
        _say(f"waiting for the sync lock {lock.lock_file} (a sync is running)")
        try:
            held.acquire(timeout=-1 if wait is None else wait)
        except Timeout:
            _say(f"the lock stayed taken for {wait:g} s")
            return EXIT_LOCK_TIMEOUT
    try:
        try:
            process = subprocess.Popen(list(command))  # noqa: S603 -- the administrator's command
        except OSError as exc:
            _say(f"cannot run {command[0]}: {exc.strerror or exc}")
            return 127
        forward = _forward_signals(process)
        try:
            return process.wait()
        finally:
            for signum, previous in forward.items():
                signal.signal(signum, previous)
    finally:
        held.release()


def _forward_signals(process: subprocess.Popen[bytes]) -> dict[int, Any]:
    """Pass SIGTERM/SIGINT on to the command (the lock is released once it has exited)."""

    def forward(signum: int, frame: FrameType | None) -> None:
        del frame
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signum)

    return {signum: signal.signal(signum, forward) for signum in (signal.SIGTERM, signal.SIGINT)}


def status(lock: LockConfig) -> int:
    """Print the queue's counts and the newest syncs as JSON."""
    database = lock.state_dir / "queue.sqlite3"
    if not database.exists():
        return _fail(f"no queue in {lock.state_dir} (check {STATE_DIR})")
    store = Store(database)
    try:
        body = {
            "events": store.counts(),
            "failures_in_a_row": store.failures_in_a_row()[0],
            "syncs": [s.summary() for s in store.syncs(limit=10)],
        }
    finally:
        store.close()
    sys.stdout.write(json.dumps(body, indent=2) + "\n")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="deel-webhooks",
        description=(
            "Deel webhook receiver: syncs the people Deel's events name to JumpCloud within "
            "seconds. Settings come from DEEL_WEBHOOKS_* environment variables."
        ),
    )
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("serve", help="run the receiver (the default)")
    locked = commands.add_parser(
        "locked", help="run a command holding the sync lock (for the nightly job)"
    )
    locked.add_argument(
        "--wait", type=float, default=None, help="give up after this many seconds (exit 75)"
    )
    locked.add_argument("argv", nargs=argparse.REMAINDER, help="-- the command and its arguments")
    commands.add_parser("status", help="print the queue as JSON")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """The console script."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "locked":
            command = list(args.argv)
            if command[:1] == ["--"]:
                command = command[1:]
            if not command:
                return _fail("locked needs a command: deel-webhooks locked -- COMMAND [ARGS]")
            return run_locked(load_lock_config(os.environ), command, args.wait)
        if args.command == "status":
            return status(load_lock_config(os.environ))
        configure_logging()
        return serve(load_config(os.environ))
    except ConfigError as exc:
        return _fail(str(exc))
    except StoreError as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
