"""The receiver's pure parts: signature, event parsing, policy, settings, log words."""

from __future__ import annotations

import hashlib
import hmac
import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tap_deel.webhooks import config as cfg
from tap_deel.webhooks.config import ConfigError, load_config, load_lock_config
from tap_deel.webhooks.events import EventError, parse_event, person_ids_of
from tap_deel.webhooks.logs import shown
from tap_deel.webhooks.policy import (
    OpenEvent,
    SyncPlan,
    deel_requests,
    plan_sync,
    retry_delay,
    sync_due_at,
    threshold_for,
)
from tap_deel.webhooks.signature import expected_signature, signature_matches

from tests.emulators.deel_webhooks import encode, event_payload, sign, worker_updated

KEY = "whsec-unit-key"
P1 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
P2 = "16fd2706-8baf-433b-82eb-8c7fada847da"

# -- signature -----------------------------------------------------------------------------------


def test_signature_is_hmac_sha256_over_post_and_the_raw_body() -> None:
    body = b'{"data":{"meta":{"event_type":"worker.v2.updated"}}}'
    expected = hmac.new(KEY.encode(), b"POST" + body, hashlib.sha256).hexdigest()
    assert expected_signature(KEY, body) == expected
    assert signature_matches(KEY, body, expected)
    assert signature_matches(KEY, body, f"  {expected.upper()} ")  # as Deel's example reads it


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=" + expected_signature(KEY, b"{}"),
        "zz",
        expected_signature("other", b"{}"),
    ],
)
def test_wrong_or_missing_signatures_are_refused(header: str | None) -> None:
    assert not signature_matches(KEY, b"{}", header)


def test_a_signature_over_the_body_alone_is_refused() -> None:
    body = b"{}"
    without_post = hmac.new(KEY.encode(), body, hashlib.sha256).hexdigest()
    assert not signature_matches(KEY, body, without_post)


def test_non_ascii_header_is_refused_without_an_error() -> None:
    assert not signature_matches(KEY, b"{}", "é" * 64)


@given(st.binary(max_size=300), st.text(min_size=1, max_size=40), st.integers(0, 299))
def test_signature_property(body: bytes, key: str, flip: int) -> None:
    good = sign(body, key)  # the emulator's own implementation, written apart
    assert signature_matches(key, body, good)
    if body:
        index = flip % len(body)
        changed = body[:index] + bytes([body[index] ^ 1]) + body[index + 1 :]
        assert not signature_matches(key, changed, good)


# -- events ------------------------------------------------------------------------------------


def test_a_worker_event_names_its_person_and_is_keyed_by_tracking_id() -> None:
    payload = worker_updated(P1, tracking_id="trk-1")
    event = parse_event(encode(payload))
    assert event.event_type == "worker.v2.updated"
    assert event.person_ids == (P1,)
    assert not event.full_sync
    assert event.dedupe_key == "tracking_id:trk-1"


def test_resource_may_be_a_list_of_objects() -> None:
    payload = event_payload("worker.v2.updated", [{"id": P1}, {"id": P2}, {"id": P1.upper()}])
    event = parse_event(encode(payload))
    assert event.person_ids == (P1, P2)
    assert not event.full_sync


@pytest.mark.parametrize(
    "resource", [None, {}, [], {"id": "3w4zdd9"}, [{"id": P1}, {"name": "x"}], "text", {"id": 5}]
)
def test_a_worker_event_without_usable_ids_asks_for_a_full_sync(resource: object) -> None:
    body = {"data": {"meta": {"event_type": "worker.v2.updated"}, "resource": resource}}
    event = parse_event(json.dumps(body).encode())
    assert event.full_sync
    assert "profile id" in event.reason


def test_other_event_types_ask_for_a_full_sync() -> None:
    payload = event_payload("contract.terminated", {"id": "3w4zdd9"})
    event = parse_event(encode(payload))
    assert event.full_sync
    assert event.person_ids == ()
    assert "contract.terminated" in event.reason


def test_dedupe_key_falls_back_to_event_id_then_a_body_hash() -> None:
    with_event_id = {"data": {"meta": {"event_type": "x.y", "event_id": 42}}}
    assert parse_event(json.dumps(with_event_id).encode()).dedupe_key == "event_id:42"
    raw = json.dumps({"data": {"meta": {"event_type": "x.y"}}}).encode()
    assert parse_event(raw).dedupe_key == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert parse_event(raw).tracking_id is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "not JSON"),
        (b"[]", "event_type"),
        (b'{"data": []}', "event_type"),
        (b'{"data": {"meta": {}}}', "event_type"),
        (b'{"data": {"meta": {"event_type": ""}}}', "event_type"),
        (b'{"data": {"meta": {"event_type": 7}}}', "event_type"),
        (b'{"meta": {"event_type": "worker.v2.updated"}}', "event_type"),  # Kestra's top level
        (b"[" * 100_000, "not JSON"),
    ],
)
def test_bodies_that_are_not_events(raw: bytes, reason: str) -> None:
    with pytest.raises(EventError, match=reason):
        parse_event(raw)


@given(st.binary(max_size=500))
def test_any_bytes_parse_or_give_one_event_error(raw: bytes) -> None:
    try:
        event = parse_event(raw)
    except EventError as exc:
        message = str(exc)
    else:
        message = ""
        assert event.event_type
    assert "\n" not in message


@given(st.lists(st.one_of(st.uuids().map(str), st.text(max_size=8)), max_size=6))
def test_person_ids_of_keeps_only_profile_ids(values: list[str]) -> None:
    ids, complete = person_ids_of([{"id": v} for v in values])
    assert all(len(i) == 36 for i in ids)
    assert complete == (bool(values) and len(ids) == len({v.lower() for v in values}))


# -- policy ------------------------------------------------------------------------------------


def worker(*ids: str) -> OpenEvent:
    return OpenEvent("worker.v2.updated", tuple(ids), full_sync=False)


def test_plan_targets_the_people_named_once_each() -> None:
    plan = plan_sync([worker(P1), worker(P2, P1), worker(P1.upper())], 50)
    assert plan == SyncPlan("targeted", (P1, P2), "2 people named by 3 events")


def test_plan_goes_full_for_another_event_type_or_too_many_people() -> None:
    full = plan_sync([worker(P1), OpenEvent("contract.terminated", (), True, "no person")], 50)
    assert full is not None
    assert full.kind == "full"
    assert full.reason == "no person"
    many = plan_sync([worker(P1, P2)], 1)
    assert many is not None
    assert many.kind == "full"
    assert "DEEL_WEBHOOKS_FULL_SYNC_ABOVE=1" in many.reason
    assert plan_sync([worker(P1)], 0) == SyncPlan(
        "full", (), "1 people is more than DEEL_WEBHOOKS_FULL_SYNC_ABOVE=0"
    )
    assert plan_sync([], 50) is None


@given(st.integers(1, 300), st.integers(0, 100_000), st.data())
def test_the_threshold_from_n_makes_every_burst_cost_the_minimum(
    k: int, n: int, data: st.DataObject
) -> None:
    people = [f"00000000-0000-4000-8000-{i:012d}" for i in range(k)]
    threshold = threshold_for(n)
    plan = plan_sync([worker(p) for p in people], threshold)
    assert plan is not None
    full_read = max(1, math.ceil(n / 200))
    # Without leavers: the fewer of one request per person and one full read.
    assert deel_requests(plan, n) == min(k, full_read)
    # Each leaver (inactive, with a work email) adds its re-hire search to a targeted sync
    # only; a full read costs the same whoever left. Never more than twice the minimum.
    leavers = data.draw(st.integers(0, k))
    cost = deel_requests(plan, n, leavers=leavers)
    assert cost == (k + leavers if k <= threshold else full_read)
    assert cost <= 2 * min(k, full_read)


@given(st.integers(1, 300), st.integers(0, 100_000))
def test_the_threshold_for_leavers_keeps_every_sync_within_the_full_read(k: int, n: int) -> None:
    people = [f"00000000-0000-4000-8000-{i:012d}" for i in range(k)]
    plan = plan_sync([worker(p) for p in people], threshold_for(n, for_leavers=True))
    assert plan is not None
    full_read = max(1, math.ceil(n / 200))
    assert deel_requests(plan, n, leavers=k if plan.kind == "targeted" else 0) <= full_read


def test_the_cost_counts_one_search_per_leaver_of_a_targeted_sync() -> None:
    targeted = SyncPlan("targeted", (P1, P2), "2 people")
    assert deel_requests(targeted, 1_000) == 2
    assert deel_requests(targeted, 1_000, leavers=1) == 3
    assert deel_requests(targeted, 1_000, leavers=2) == 4
    assert deel_requests(SyncPlan("full", (), "x"), 1_000, leavers=0) == 5
    for impossible in (-1, 3):
        with pytest.raises(ValueError, match="leavers"):
            deel_requests(targeted, 1_000, leavers=impossible)


def test_debounce_and_retry_decide_when_a_sync_is_due() -> None:
    assert sync_due_at(None, 10, None) is None
    assert sync_due_at(100.0, 10, None) == 110.0
    assert sync_due_at(100.0, 10, 150.0) == 150.0
    assert sync_due_at(100.0, 10, 105.0) == 110.0


@given(st.integers(0, 200), st.floats(0.1, 100), st.floats(0.1, 10_000))
def test_retry_delay_doubles_and_is_capped(failures: int, base: float, cap: float) -> None:
    delay = retry_delay(failures, base, max(base, cap))
    assert 0 <= delay <= max(base, cap)
    if failures == 0:
        assert delay == 0
    elif failures >= 2:
        assert delay >= min(max(base, cap), retry_delay(failures - 1, base, max(base, cap)))


def test_retry_delay_values() -> None:
    assert [retry_delay(n, 30, 900) for n in range(1, 8)] == [30, 60, 120, 240, 480, 900, 900]


# -- settings --------------------------------------------------------------------------------


def test_defaults_are_the_contracts() -> None:
    config = load_config({cfg.SIGNING_KEY: "SECRET-signing-key"})
    assert config.host == "127.0.0.1"
    assert config.port == 8700
    assert str(config.state_dir) == ".deel-webhooks"
    assert config.debounce_seconds == 10
    assert config.full_sync_above == 50
    assert config.sync_command == "meltano run deel-to-jumpcloud"
    assert str(config.lock_file) == ".deel-webhooks/sync.lock"
    assert config.sync_timeout_seconds == 3600
    assert "SECRET" not in repr(config)  # the key never shows in a repr
    locks = load_lock_config({cfg.STATE_DIR: "/srv/state"})
    assert str(locks.lock_file) == "/srv/state/sync.lock"
    assert str(load_lock_config({cfg.LOCK_FILE: "/run/x.lock"}).lock_file) == "/run/x.lock"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (cfg.SIGNING_KEY, ""),
        (cfg.SIGNING_KEY, "   "),
        (cfg.PORT, "http"),
        (cfg.PORT, "70000"),
        (cfg.PORT, "-1"),
        (cfg.HOST, "two words"),
        (cfg.DEBOUNCE_SECONDS, "soon"),
        (cfg.DEBOUNCE_SECONDS, "-1"),
        (cfg.DEBOUNCE_SECONDS, "nan"),
        (cfg.DEBOUNCE_SECONDS, "86400"),
        (cfg.FULL_SYNC_ABOVE, "1.5"),
        (cfg.FULL_SYNC_ABOVE, "-3"),
        (cfg.RETRY_SECONDS, "0"),
        (cfg.RETRY_MAX_SECONDS, "1"),  # below the default first wait
        (cfg.SYNC_TIMEOUT_SECONDS, "0"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(name: str, value: str) -> None:
    environ = {cfg.SIGNING_KEY: "SECRET-signing-key", name: value}
    with pytest.raises(ConfigError) as raised:
        load_config(environ)
    message = str(raised.value)
    assert name in message
    assert "\n" not in message
    assert "SECRET-signing-key" not in message


def test_a_missing_key_is_named() -> None:
    with pytest.raises(ConfigError, match=cfg.SIGNING_KEY):
        load_config({})


# -- log words ---------------------------------------------------------------------------------


def test_shown_keeps_untrusted_text_on_one_short_line() -> None:
    assert shown(None) == "-"
    assert shown("worker.v2.updated") == "worker.v2.updated"
    forged = shown("x\n2026-01-01 INFO delivery verdict=accepted")
    assert "\n" not in forged
    assert forged.startswith('"')
    assert len(shown("a" * 500)) < 100
