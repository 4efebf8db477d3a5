"""The retry budget on its own: a time, with a floor of attempts, Retry-After counted in it."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.jumpcloud.retries import MIN_ATTEMPTS, RetryBudget, RetryPolicy


class FakeTime:
    """A clock that only moves when told to (an attempt's duration) or when slept."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _budget(policy: RetryPolicy, time: FakeTime) -> RetryBudget:
    return RetryBudget(policy, rng=random.Random(7), sleep=time.sleep, clock=time.clock)


def _failures_until_given_up(budget: RetryBudget, time: FakeTime, attempt_seconds: float) -> int:
    while True:
        time.now += attempt_seconds  # the attempt itself
        delay = budget.next_delay()
        if delay is None:
            return budget.failures
        budget.pause(delay)


def test_two_minutes_of_one_second_backoff_capped_at_10_s_is_about_eighteen_attempts():
    time = FakeTime()
    budget = _budget(RetryPolicy(), time)
    failures = _failures_until_given_up(budget, time, attempt_seconds=0.05)
    assert 14 <= failures <= 24
    assert budget.spent <= 120.0
    assert budget.gave_up().startswith(f"gave up after {failures} attempts in ")


def test_slow_attempts_still_get_the_minimum():
    time = FakeTime()
    budget = _budget(RetryPolicy(), time)
    # Each attempt times out after 30 s: the budget is gone after four, the floor gives six.
    assert _failures_until_given_up(budget, time, attempt_seconds=30.0) == MIN_ATTEMPTS


def test_retry_after_is_honoured_and_counted_in_the_budget():
    time = FakeTime()
    budget = _budget(RetryPolicy(retry_after_cap=150.0, min_attempts=1), time)
    assert budget.next_delay(retry_after=500.0) is None  # 150 s (capped) would not fit
    time = FakeTime()
    budget = _budget(RetryPolicy(retry_after_cap=100.0, min_attempts=1), time)
    assert budget.next_delay(retry_after=70.0) == 70.0
    budget.pause(70.0)
    assert budget.next_delay(retry_after=70.0) is None  # 140 s would be over two minutes


def test_an_instant_sleep_still_uses_the_budget_up():
    policy = RetryPolicy(budget=10.0, min_attempts=1)
    budget = RetryBudget(policy, rng=random.Random(1), sleep=lambda _: None)
    delays = []
    while (delay := budget.next_delay()) is not None:
        delays.append(delay)
        budget.pause(delay)
    assert sum(delays) <= 10.0
    assert budget.spent == pytest.approx(sum(delays), abs=0.5)


@given(
    scale=st.floats(min_value=0.001, max_value=1.0),
    failures=st.integers(min_value=1, max_value=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_the_backoff_doubles_is_capped_and_jittered(scale, failures, seed):
    policy = RetryPolicy().scaled(scale)
    step = min(10.0, 2.0 ** (failures - 1)) * scale
    delay = policy.delay(failures, None, random.Random(seed))
    assert step / 2 <= delay <= step
    assert policy.delay(failures, 3.0, random.Random(seed)) == 3.0  # Retry-After as sent
    assert policy.budget == pytest.approx(120.0 * scale)
