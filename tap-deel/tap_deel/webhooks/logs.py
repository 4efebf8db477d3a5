"""The receiver's log lines: one per delivery and per sync, `key=value` words, on stderr.

Values that come from a delivery (an event type, a tracking id) are untrusted: `shown` keeps
them on one line and short, so a crafted payload cannot forge or flood log lines.
"""

from __future__ import annotations

import logging
import sys
import time

MAX_SHOWN = 80
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-/@+")


def shown(value: object) -> str:
    """A value as one log word: `-` for None, plain when safe, else quoted and escaped."""
    if value is None:
        return "-"
    text = str(value)
    cut = len(text) > MAX_SHOWN
    text = text[:MAX_SHOWN]
    if text and all(ch in _SAFE for ch in text) and not cut:
        return text
    escaped = text.encode("unicode_escape").decode("ascii").replace('"', '\\"')
    return f'"{escaped}{"..." if cut else ""}"'


def configure_logging(level: int = logging.INFO) -> None:
    """Log lines with a UTC time stamp to stderr (the receiver's and the server's own)."""
    handler = logging.StreamHandler(sys.stderr)
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)s %(name)s %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
