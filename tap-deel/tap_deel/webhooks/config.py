"""The receiver's settings, read from the environment (docs/webhooks.md), as a pure function.

Every variable is checked at start; the first bad one stops the receiver with one line that
names it (and never quotes the signing key).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

PREFIX = "DEEL_WEBHOOKS_"
SIGNING_KEY = PREFIX + "SIGNING_KEY"
HOST = PREFIX + "HOST"
PORT = PREFIX + "PORT"
STATE_DIR = PREFIX + "STATE_DIR"
DEBOUNCE_SECONDS = PREFIX + "DEBOUNCE_SECONDS"
FULL_SYNC_ABOVE = PREFIX + "FULL_SYNC_ABOVE"
SYNC_COMMAND = PREFIX + "SYNC_COMMAND"
LOCK_FILE = PREFIX + "LOCK_FILE"
# Beyond the contract's list: how long a failed sync waits before it is tried again.
RETRY_SECONDS = PREFIX + "RETRY_SECONDS"
RETRY_MAX_SECONDS = PREFIX + "RETRY_MAX_SECONDS"
SYNC_TIMEOUT_SECONDS = PREFIX + "SYNC_TIMEOUT_SECONDS"

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8700
DEFAULT_STATE_DIR = ".deel-webhooks"
DEFAULT_DEBOUNCE_SECONDS = 10.0
DEFAULT_FULL_SYNC_ABOVE = 50
DEFAULT_SYNC_COMMAND = "meltano run deel-to-jumpcloud"
DEFAULT_RETRY_SECONDS = 30.0
DEFAULT_RETRY_MAX_SECONDS = 900.0
#: A sync still running after this long is stopped and counts as failed (a hung command
#: would otherwise hold the lock, and so the nightly job, for ever).
DEFAULT_SYNC_TIMEOUT_SECONDS = 3600.0
LOCK_FILE_NAME = "sync.lock"
#: The longest debounce accepted: an hour. Longer waits belong to the nightly job.
MAX_DEBOUNCE_SECONDS = 3600.0
MAX_PORT = 65535


class ConfigError(ValueError):
    """A setting is missing or bad; the message is the one line the receiver prints."""


@dataclass(frozen=True)
class LockConfig:
    """What `deel-webhooks locked` needs: only where the shared lock lives."""

    state_dir: Path
    lock_file: Path


@dataclass(frozen=True)
class ReceiverConfig:
    """Every setting of the receiver (`signing_key` is secret: it is never printed)."""

    signing_key: str = field(repr=False)  # a stray `repr` in a log never shows it
    host: str
    port: int
    state_dir: Path
    debounce_seconds: float
    full_sync_above: int
    sync_command: str
    lock_file: Path
    retry_seconds: float
    retry_max_seconds: float
    sync_timeout_seconds: float = DEFAULT_SYNC_TIMEOUT_SECONDS

    @property
    def database(self) -> Path:
        """The queue's SQLite file, in the state folder."""
        return self.state_dir / "queue.sqlite3"


def _text(environ: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or None when unset or blank."""
    value = environ.get(name)
    if value is None or not value.strip():
        return None
    return value


def _number(
    environ: Mapping[str, str], name: str, default: float, low: float, high: float
) -> float:
    raw = _text(environ, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        raise ConfigError(f"{name} must be a number of seconds from {low:g} to {high:g}")
    return value


def _integer(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = _text(environ, name)
    if raw is None:
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"{name} must be a whole number from {low} to {high}")
    return value


def load_lock_config(environ: Mapping[str, str]) -> LockConfig:
    """The state folder and lock file (`DEEL_WEBHOOKS_STATE_DIR`, `DEEL_WEBHOOKS_LOCK_FILE`).

    Args:
        environ: The environment.

    Returns:
        Where the lock lives; nothing is created yet.
    """
    state_dir = Path(_text(environ, STATE_DIR) or DEFAULT_STATE_DIR)
    lock_file = Path(_text(environ, LOCK_FILE) or state_dir / LOCK_FILE_NAME)
    return LockConfig(state_dir, lock_file)


def load_config(environ: Mapping[str, str]) -> ReceiverConfig:
    """Every setting, checked, from the environment.

    Args:
        environ: The environment (e.g. `os.environ`).

    Returns:
        The settings.

    Raises:
        ConfigError: The first variable that is missing or bad, named in one line.
    """
    key = environ.get(SIGNING_KEY)
    if key is None or not key.strip():
        raise ConfigError(
            f"{SIGNING_KEY} is not set: give the signing key of the Deel webhook subscription"
        )
    host = (_text(environ, HOST) or DEFAULT_HOST).strip()
    if any(ch.isspace() for ch in host) or "/" in host:
        raise ConfigError(f"{HOST} must be a host name or an IP address, e.g. {DEFAULT_HOST}")
    port = _integer(environ, PORT, DEFAULT_PORT, 0, MAX_PORT)
    locks = load_lock_config(environ)
    debounce = _number(
        environ, DEBOUNCE_SECONDS, DEFAULT_DEBOUNCE_SECONDS, 0.0, MAX_DEBOUNCE_SECONDS
    )
    full_above = _integer(environ, FULL_SYNC_ABOVE, DEFAULT_FULL_SYNC_ABOVE, 0, 1_000_000)
    command = _text(environ, SYNC_COMMAND) or DEFAULT_SYNC_COMMAND
    retry = _number(environ, RETRY_SECONDS, DEFAULT_RETRY_SECONDS, 0.1, 86_400.0)
    retry_max = _number(environ, RETRY_MAX_SECONDS, DEFAULT_RETRY_MAX_SECONDS, 0.1, 86_400.0)
    if retry_max < retry:
        raise ConfigError(f"{RETRY_MAX_SECONDS} must not be below {RETRY_SECONDS}")
    timeout = _number(
        environ, SYNC_TIMEOUT_SECONDS, DEFAULT_SYNC_TIMEOUT_SECONDS, 1.0, 7 * 86_400.0
    )
    return ReceiverConfig(
        signing_key=key,
        host=host,
        port=port,
        state_dir=locks.state_dir,
        debounce_seconds=debounce,
        full_sync_above=full_above,
        sync_command=command,
        lock_file=locks.lock_file,
        retry_seconds=retry,
        retry_max_seconds=retry_max,
        sync_timeout_seconds=timeout,
    )
