"""How long one JumpCloud request keeps trying: capped backoff, Retry-After, a time budget.

A transient failure (429, 5xx, a dropped connection, a timeout) is retried until the request
has spent `RETRY_BUDGET_SECONDS` on it, and at least `MIN_ATTEMPTS` times. A time, not a
count, so that a JumpCloud outage of a minute or two never fails a nightly run however many
attempts fit in it. One budget covers every attempt of one request: a create whose outcome
was unknown, looked up by email and sent again spends the budget of its first POST, exactly
as a read retried in place does.
"""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import os
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    import random
    from collections.abc import Callable, Mapping

logger = logging.getLogger("target-jumpcloud.client")

#: How long one request keeps retrying transient failures, from its first attempt.
RETRY_BUDGET_SECONDS: Final = 120.0
#: Attempts a request always gets, however slow they are (a timeout takes 30 s).
MIN_ATTEMPTS: Final = 6
#: The longest computed wait: short enough that about 18 attempts fit in the budget (a
#: JumpCloud that loses 40% of the requests then fails one in 10 million, not one in 4,000).
BACKOFF_CAP_SECONDS: Final = 10.0

#: Test knob: a factor in (0, 1] applied to the computed backoff and to the time budget
#: (never to a server's Retry-After). The reliability suites run the real CLI with e.g. 0.01
#: so that hundreds of retries take seconds, not hours. Unset in production.
BACKOFF_SCALE_ENV: Final = "TARGET_JUMPCLOUD_BACKOFF_SCALE"


def backoff_scale(environ: Mapping[str, str] | None = None) -> float:
    """The factor `TARGET_JUMPCLOUD_BACKOFF_SCALE` puts on backoff (1.0 when unset or invalid).

    The knob can only shorten waits: a value outside (0, 1] is ignored with a warning.
    """
    raw = (os.environ if environ is None else environ).get(BACKOFF_SCALE_ENV, "").strip()
    if not raw:
        return 1.0
    try:
        scale = float(raw)
    except ValueError:
        scale = 0.0
    if not 0.0 < scale <= 1.0:
        logger.warning("Ignoring %s=%r: expected a number in (0, 1]", BACKOFF_SCALE_ENV, raw)
        return 1.0
    return scale


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP date).

    Returns None when the header is absent or unreadable, so the caller falls back to its
    own backoff; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # noqa: PLR0124 - NaN check
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter, the server's Retry-After, and the time budget.

    `base`/`cap`: the first step and the largest one (seconds); `retry_after_cap`: the most a
    server's Retry-After may make us wait; `budget`: the time one request may spend;
    `min_attempts`: the attempts it gets even when they take longer than that.
    """

    base: float = 1.0
    cap: float = BACKOFF_CAP_SECONDS
    retry_after_cap: float = 120.0
    budget: float = RETRY_BUDGET_SECONDS
    min_attempts: int = MIN_ATTEMPTS

    def scaled(self, scale: float) -> RetryPolicy:
        """The policy with computed waits and the budget shortened by `scale` (the test knob)."""
        return dataclasses.replace(
            self, base=self.base * scale, cap=self.cap * scale, budget=self.budget * scale
        )

    def delay(self, failures: int, retry_after: float | None, rng: random.Random) -> float:
        """The wait after the `failures`-th failure: Retry-After (capped), else the backoff.

        The backoff doubles from `base` up to `cap`, with jitter (half to full of the step) so
        that the applier's threads do not all come back at once.
        """
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        step: float = min(self.cap, self.base * (2 ** max(0, failures - 1)))
        return step * (0.5 + rng.random() / 2)


class RetryBudget:
    """The retries of one request: `next_delay` after each failure says whether to go on.

    The time spent is counted from the budget's creation, with each wait counted at its
    planned length (so an instant test `sleep` still uses the budget up). Not shared between
    threads: each request has its own.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        rng: random.Random,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy
        self.failures = 0
        self._rng = rng
        self._sleep = sleep
        self._clock = clock
        self._start = clock()
        self._slept = 0.0  # real time spent in `pause`
        self._planned = 0.0  # the waits `pause` was asked for

    @property
    def spent(self) -> float:
        """Seconds this request has used: its attempts, look-ups and planned waits."""
        return self._clock() - self._start - self._slept + self._planned

    def next_delay(self, retry_after: float | None = None) -> float | None:
        """Count a failed attempt; the wait before the next one, or None to give up."""
        self.failures += 1
        delay = self.policy.delay(self.failures, retry_after, self._rng)
        if self.failures >= self.policy.min_attempts and self.spent + delay > self.policy.budget:
            return None
        return delay

    def pause(self, delay: float) -> None:
        """Sleep `delay` seconds before the next attempt."""
        before = self._clock()
        self._sleep(delay)
        self._slept += self._clock() - before
        self._planned += delay

    def gave_up(self) -> str:
        """How the retries ended, for the error message: "gave up after 7 attempts in 118 s"."""
        return f"gave up after {self.failures} attempts in {self.spent:.3g} s"
