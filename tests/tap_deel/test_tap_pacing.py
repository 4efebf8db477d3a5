"""Client-side pacing, measured from the emulator's request log with Deel's rate limit on.

The emulator answers 429 to a sixth request inside any rolling second, exactly like Deel; these
tests check that the tap never gets one, and that the log never shows more than the limit in
any one-second window, across streams and retries.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest

from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import busiest_window, run_tap, tap_config

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer

PEOPLE = r"/rest/v2/people"


@pytest.fixture
def limited(deel_emulator: EmulatorServer) -> EmulatorServer:
    """Deel's limit: 5 requests in any rolling second, then 429 without headers."""
    deel_emulator.app.rate_limit_enabled = True
    deel_emulator.app.rate_limit_per_second = 5
    return deel_emulator


def test_twenty_pages_never_hit_the_limit(limited: EmulatorServer, deel_api_url: str) -> None:
    workforce = generate_workforce(200, seed=41)
    limited.app.set_workforce(workforce)
    result = run_tap(tap_config(deel_api_url, max_requests_per_second=5, page_size=10), ["people"])

    assert Counter(result.ids("people")) == Counter(p["id"] for p in workforce.people)
    log = limited.app.requests()
    assert len(log) == 20
    assert all(entry.status == 200 for entry in log), Counter(e.status for e in log)
    assert busiest_window(log) <= 5
    # Pacing really happened (20 requests need at least three more windows after the first
    # five), and it did not crawl: generous bounds.
    span = log[-1].at - log[0].at
    assert 3.0 <= span <= 8.0


def test_the_limit_is_shared_by_all_streams(limited: EmulatorServer, deel_api_url: str) -> None:
    limited.app.set_workforce(generate_workforce(60, seed=43))
    run_tap(tap_config(deel_api_url, max_requests_per_second=5, page_size=20))

    log = limited.app.requests()
    assert len({entry.path for entry in log}) == 9  # every endpoint took part
    assert all(entry.status == 200 for entry in log), Counter(e.status for e in log)
    assert busiest_window(log) <= 5


def test_retries_are_paced_too(limited: EmulatorServer, deel_api_url: str) -> None:
    limited.app.set_workforce(generate_workforce(100, seed=47))
    limited.app.faults.script("503", path=PEOPLE, count=6)
    result = run_tap(tap_config(deel_api_url, max_requests_per_second=5, page_size=25), ["people"])

    assert len(set(result.ids("people"))) == 100
    log = limited.app.requests()
    assert [e.status for e in log].count(503) == 6
    assert 429 not in {e.status for e in log}
    assert busiest_window(log) <= 5  # the failed attempts count as requests


def test_a_lower_setting_is_obeyed(limited: EmulatorServer, deel_api_url: str) -> None:
    limited.app.set_workforce(generate_workforce(40, seed=53))
    run_tap(tap_config(deel_api_url, max_requests_per_second=2, page_size=5), ["people"])

    log = limited.app.requests()
    assert len(log) == 8
    assert busiest_window(log) <= 2
    assert all(entry.status == 200 for entry in log)
