"""How long to wait before retrying a request: Retry-After when given, else capped backoff."""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Generator, Mapping

#: Test knob: a factor in (0, 1] applied to every computed backoff wait (never to a server's
#: Retry-After). The reliability suites run the real CLI with e.g. 0.01 so that hundreds of
#: retries take seconds, not hours. Unset in production.
BACKOFF_SCALE_ENV = "TAP_DEEL_BACKOFF_SCALE"

logger = logging.getLogger("tap-deel")


def backoff_scale(environ: Mapping[str, str] | None = None) -> float:
    """The factor `TAP_DEEL_BACKOFF_SCALE` puts on computed waits (1.0 when unset or invalid).

    Args:
        environ: The environment to read (defaults to `os.environ`).

    Returns:
        A factor in (0, 1]: the knob can only shorten waits, never lengthen them.
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


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a `Retry-After` header value.

    Args:
        value: The header: delay-seconds (`"3"`, `"1.5"`) or an HTTP date.
        now: The current time, for HTTP dates (defaults to the clock, UTC).

    Returns:
        The delay in seconds (never negative), or None when the header is absent or invalid.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(seconds, 0.0) if seconds == seconds else None  # NaN is not a delay  # noqa: PLR0124
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC)
    return max((when - current).total_seconds(), 0.0)


@dataclass(frozen=True)
class BackoffPolicy:
    """Capped exponential backoff that lets the server's Retry-After win.

    Attributes:
        base: The first wait in seconds.
        factor: Multiplier between consecutive waits.
        cap: Longest computed wait in seconds.
        retry_after_cap: Longest wait a Retry-After header may impose, in seconds.
        max_tries: Attempts in all, the first one included.
    """

    base: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    retry_after_cap: float = 60.0
    max_tries: int = 8

    def scaled(self, factor: float) -> BackoffPolicy:
        """This policy with `base` and `cap` multiplied by `factor` (Retry-After untouched).

        Args:
            factor: The multiplier, e.g. `backoff_scale()`.

        Returns:
            The scaled policy (this one when the factor is 1).
        """
        if factor == 1.0:
            return self
        return dataclasses.replace(self, base=self.base * factor, cap=self.cap * factor)

    def exponential(self, retry: int) -> float:
        """The computed wait before retry number `retry` (0 for the first retry).

        Args:
            retry: How many retries came before this one.

        Returns:
            `base * factor**retry`, capped.
        """
        return float(min(self.cap, self.base * self.factor ** min(retry, 64)))

    def wait(self, retry: int, retry_after: float | None) -> float:
        """The wait before retry number `retry`, given the server's Retry-After (if any).

        Args:
            retry: How many retries came before this one.
            retry_after: Seconds from a Retry-After header, or None.

        Returns:
            The Retry-After delay (capped at `retry_after_cap`) when given, else the
            exponential wait.
        """
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap)
        return self.exponential(retry)

    def wait_generator(
        self, retry_after_of: Callable[[BaseException], float | None]
    ) -> Generator[float, BaseException | None, None]:
        """A wait generator for the `backoff` library, which sends each exception in.

        Args:
            retry_after_of: Reads the Retry-After delay, if any, from a raised exception.

        Yields:
            Seconds to wait before each retry.
        """
        exception = yield 0.0  # priming step: the library sends None and ignores this value
        retry = 0
        while True:
            delay = retry_after_of(exception) if exception is not None else None
            exception = yield self.wait(retry, delay)
            retry += 1
