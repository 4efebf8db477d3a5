"""The test knob behind the suites' speed: it can only shorten computed backoff waits."""

from __future__ import annotations

import pytest
from tap_deel.retries import BackoffPolicy
from tap_deel.retries import backoff_scale as tap_scale
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.transport import backoff_scale as target_scale


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


def test_the_target_scales_computed_waits_but_not_retry_after(monkeypatch):
    monkeypatch.setenv("TARGET_JUMPCLOUD_BACKOFF_SCALE", "0.01")
    client = JumpCloudClient("http://127.0.0.1:9/api", "key")
    assert client.backoff_base == pytest.approx(0.01)
    assert client.backoff_cap == pytest.approx(0.3)
    assert client.retry_after_cap == 120.0
    monkeypatch.delenv("TARGET_JUMPCLOUD_BACKOFF_SCALE")
    assert JumpCloudClient("http://127.0.0.1:9/api", "key").backoff_base == 1.0
