"""The test knob behind the suites' speed: it can only shorten computed backoff waits."""

from __future__ import annotations

import pytest
from tap_deel.retries import BackoffPolicy
from tap_deel.retries import backoff_scale as tap_scale
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.retries import backoff_scale as target_scale


@pytest.mark.parametrize("scale", [tap_scale, target_scale])
@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 1.0),
        ("", 1.0),
        ("0.01", 0.01),
        ("1", 1.0),
        ("2", 1.0),  # longer waits: ignored
        ("0", 1.0),
        ("-0.5", 1.0),
        ("nan", 1.0),
        ("inf", 1.0),
        ("fast", 1.0),
    ],
)
def test_only_a_factor_in_0_1_is_taken(scale, raw, expected):
    name = "TAP_DEEL_BACKOFF_SCALE" if scale is tap_scale else "TARGET_JUMPCLOUD_BACKOFF_SCALE"
    environ = {} if raw is None else {name: raw}
    assert scale(environ) == expected


def test_the_tap_scales_computed_waits_but_not_retry_after():
    policy = BackoffPolicy(base=1.0, cap=30.0, retry_after_cap=60.0).scaled(0.01)
    assert policy.exponential(0) == pytest.approx(0.01)
    assert policy.exponential(20) == pytest.approx(0.3)  # the cap is scaled too
    assert policy.wait(3, retry_after=2.0) == 2.0  # the server's Retry-After is honoured as sent


def test_the_target_scales_computed_waits_and_the_budget_but_not_retry_after(monkeypatch):
    monkeypatch.setenv("TARGET_JUMPCLOUD_BACKOFF_SCALE", "0.01")
    policy = JumpCloudClient("http://127.0.0.1:9/api", "key").retry_policy
    assert policy.base == pytest.approx(0.01)
    assert policy.cap == pytest.approx(0.1)
    assert policy.budget == pytest.approx(1.2)  # two minutes become 1.2 s
    assert policy.min_attempts == 6  # the count is not scaled
    assert policy.retry_after_cap == 120.0
    monkeypatch.delenv("TARGET_JUMPCLOUD_BACKOFF_SCALE")
    assert JumpCloudClient("http://127.0.0.1:9/api", "key").retry_policy.base == 1.0
