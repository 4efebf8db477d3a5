"""Client-side pacing: a sliding-window limiter shared by every stream of one tap.

Deel allows 5 requests per second per organisation over a rolling one-second window and sends
no rate-limit headers, so the tap paces itself instead of waiting for 429s.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

DEFAULT_WINDOW_SECONDS = 1.0
DEFAULT_MARGIN_SECONDS = 0.02


class SlidingWindowThrottle:
    """Never more than `max_requests` requests in any window of `window + margin` seconds.

    Each request is stamped when its answer has arrived (or it failed), not when it was sent.
    The server counts a request when it arrives, which is after we sent it and before we have
    the answer, so spacing request *k + max_requests* at least one window after request *k*'s
    completion keeps every server-side window within the limit whatever the network latency.
    The margin covers clock granularity on the server.

    One request runs at a time per throttle (the lock is held while it is in flight); a Singer
    tap syncs its streams one after the other, so nothing is lost.
    """

    def __init__(
        self,
        max_requests: int,
        *,
        window: float = DEFAULT_WINDOW_SECONDS,
        margin: float = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Create a limiter.

        Args:
            max_requests: Most requests allowed in one window (at least 1).
            window: The server's window in seconds.
            margin: Extra seconds added to the window, for safety.
            clock: Monotonic clock (injectable for tests).
            sleep: Sleep function (injectable for tests).

        Raises:
            ValueError: When `max_requests` is below 1 or the window is not positive.
        """
        if max_requests < 1:
            raise ValueError("max_requests must be at least 1")
        if window + margin <= 0:
            raise ValueError("the window must be positive")
        self.max_requests = max_requests
        self.span = window + margin
        self._clock = clock
        self._sleep = sleep
        self._stamps: deque[float] = deque(maxlen=max_requests)
        self._lock = threading.Lock()
        self.waited = 0.0  # total seconds spent waiting, for metrics and tests

    def _wait_for_slot(self) -> None:
        while len(self._stamps) >= self.max_requests:
            delay = self._stamps[0] + self.span - self._clock()
            if delay <= 0:
                self._stamps.popleft()
                return
            self.waited += delay
            self._sleep(delay)

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Wait until a request may be sent, then hold the slot while it runs.

        Yields:
            Nothing; send the request inside the `with` block.
        """
        with self._lock:
            self._wait_for_slot()
            try:
                yield
            finally:
                self._stamps.append(self._clock())
