"""How many HTTP requests a run sent to JumpCloud, by API and method (for the metrics file).

Every attempt counts, retries included: it is what JumpCloud's rate limits and its audit
see. The applier's threads and the directory-listing threads count at the same time, so one
lock guards the counts; a count costs well under a microsecond beside a request's
milliseconds.
"""

from __future__ import annotations

import threading
from typing import Final

API_V1: Final = "v1"
API_V2: Final = "v2"
API_OAUTH: Final = "oauth"


def api_of_path(path: str) -> str:
    """`v2` for a path under `/v2/`, else `v1` (the system-user API)."""
    return API_V2 if path.startswith("/v2/") else API_V1


class RequestCounts:
    """(api, method) → requests sent; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], int] = {}

    def count(self, api: str, method: str) -> None:
        """One more request of `method` to `api`."""
        key = (api, method.upper())
        with self._lock:
            self._counts[key] = self._counts.get(key, 0) + 1

    def snapshot(self) -> dict[tuple[str, str], int]:
        """The counts so far, as a copy."""
        with self._lock:
            return dict(self._counts)
