"""`GET /metrics` of the real receiver, parsed with prometheus_client's own parser.

Each test compares the exposition value by value with what was sent and with the queue on
disk: deliveries by verdict, pending events, syncs by kind and outcome, and the histogram of
seconds from a delivery to the end of its sync (also across a restart).
"""

from __future__ import annotations

import math
import shlex
import time
from typing import TYPE_CHECKING, get_args

import pytest
from prometheus_client.parser import text_string_to_metric_families
from tap_deel.webhooks.metrics import (
    LATENCY_BUCKETS,
    SYNC_KINDS,
    SYNC_OUTCOMES,
    VERDICTS,
    ReceiverMetrics,
    Verdict,
)

from tests.emulators.deel_webhooks import event_payload, worker_updated
from tests.webhooks.harness import (
    LATENCY,
    PENDING,
    count_answers,
    start_receiver,
    wait_until,
)

if TYPE_CHECKING:
    from tap_deel.webhooks.store import Store

    from tests.webhooks.conftest import World
    from tests.webhooks.harness import Scrape

PEOPLE = [f"7c9e6679-7425-40de-944b-{n:012d}" for n in range(6)]
MIB = 1024 * 1024


def no_syncs() -> dict[tuple[str, str], float]:
    return {(kind, outcome): 0.0 for kind in SYNC_KINDS for outcome in SYNC_OUTCOMES}


def done_seconds(store: Store) -> list[float]:
    """From the queue itself: for each done event, done_at - received_at."""
    return [e["done_at"] - e["received_at"] for e in store.events() if e["status"] == "done"]


def assert_histogram(found: Scrape, expected: list[float]) -> None:
    """The histogram holds exactly these observations (count, sum and every bucket)."""
    assert found.value(f"{LATENCY}_count") == len(expected)
    assert found.value(f"{LATENCY}_sum") == pytest.approx(sum(expected), abs=1e-6)
    for bound in LATENCY_BUCKETS:
        in_bucket = sum(1 for s in expected if s <= bound)
        assert found.value(f"{LATENCY}_bucket", le=str(bound)) == in_bucket, bound
    assert found.value(f"{LATENCY}_bucket", le="+Inf") == len(expected)


def test_the_families_their_types_and_zeros_before_anything_happens(world: World) -> None:
    receiver = start_receiver(world.tmp / "state", sync_command="true")
    try:
        found = receiver.metrics()
    finally:
        receiver.stop()
    # A registry of its own: no process or platform metrics of the global one. (The library
    # adds a `_created` time stamp to each counter and histogram.)
    assert found.types == {
        "deel_webhooks_deliveries": "counter",
        "deel_webhooks_deliveries_created": "gauge",
        PENDING: "gauge",
        "deel_webhooks_syncs": "counter",
        "deel_webhooks_syncs_created": "gauge",
        LATENCY: "histogram",
        f"{LATENCY}_created": "gauge",
    }
    assert found.deliveries() == dict.fromkeys(VERDICTS, 0.0)
    assert found.syncs() == no_syncs()
    assert found.value(PENDING) == 0
    assert_histogram(found, [])


def test_deliveries_are_counted_by_verdict(world: World) -> None:
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, "true"),
        env={"LEDGER_GATE": str(world.tmp / "gate")},  # no sync ends during the test
    )
    try:
        sender = receiver.sender()
        good = [worker_updated(p, tracking_id=f"trk-metrics-{n}") for n, p in enumerate(PEOPLE)]
        results = sender.burst(good, concurrency=3)
        results += sender.deliver(good[0])  # Deel sends it again: 200, not queued
        results += sender.deliver(worker_updated(PEOPLE[0]), wrong_key=True)
        results += [sender.post(b"x" * (MIB + 1))]
        results += [sender.post(b"{not json")]
        assert [r.status for r in results] == [200] * 7 + [401, 413, 400]
        count_answers(results)
        found = receiver.metrics()
        assert found.deliveries() == {
            "accepted": len(PEOPLE),
            "duplicate": 1,
            "bad_signature": 1,
            "too_large": 1,
            "bad_body": 1,
            "queue_unavailable": 0,
        }
        # /healthz reads the same counts, in the words of its answers.
        assert receiver.health()["deliveries"] == {
            "accepted": len(PEOPLE),
            "duplicate": 1,
            "rejected": 3,
            "failed": 0,
        }
        # No payload data either: neither a person id nor a tracking id.
        for person in PEOPLE:
            assert person not in found.text
        assert "trk-metrics" not in found.text
    finally:
        (world.tmp / "gate").touch()
        receiver.stop()


def test_pending_then_done_and_the_seconds_to_the_end_of_the_sync(world: World) -> None:
    ledger, gate = world.ledger(), world.tmp / "gate"
    debounce = 0.5
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, "true"),
        env={"LEDGER_GATE": str(gate)},
        debounce=debounce,
    )
    try:
        sent = time.time()
        count_answers(receiver.sender().burst([worker_updated(p) for p in PEOPLE[:4]]))
        store = receiver.store()
        assert receiver.metrics().value(PENDING) == store.not_done() == 4
        wait_until(ledger.starts, 30, "the sync to start (held at the gate)")
        # While the sync runs, /metrics still answers, and its events are not done yet.
        during = receiver.metrics()
        assert during.value(PENDING) == store.not_done() == 4
        assert during.syncs() == no_syncs()
        assert_histogram(during, [])
        gate.touch()
        receiver.wait_idle()
        ended = time.time()
        after = receiver.metrics()
        assert after.value(PENDING) == store.not_done() == 0
        assert after.syncs() == {**no_syncs(), ("targeted", "succeeded"): 1.0}
        seconds = done_seconds(store)
        assert len(seconds) == 4
        assert_histogram(after, seconds)
        # Plausible: each waited at least the debounce, none longer than the test ran.
        assert after.value(f"{LATENCY}_sum") >= debounce
        assert all(0 < s <= ended - sent for s in seconds)
    finally:
        gate.touch()
        receiver.stop()


def test_syncs_are_counted_by_kind_and_outcome_and_a_failed_one_observes_nothing(
    world: World,
) -> None:
    ledger, flag = world.ledger(), world.tmp / "failed-once"
    # The first sync's command fails (exit 3); its retry succeeds.
    inner = f"test -e {shlex.quote(str(flag))} || {{ touch {shlex.quote(str(flag))}; exit 3; }}"
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, inner),
        retry=(0.3, 1.0),
    )
    try:
        sender = receiver.sender()
        count_answers(sender.deliver(worker_updated(PEOPLE[0])))
        receiver.wait_idle()
        assert [end["rc"] for end in ledger.ends()] == [3, 0]
        found = receiver.metrics()
        assert found.syncs() == {
            **no_syncs(),
            ("targeted", "failed"): 1.0,
            ("targeted", "succeeded"): 1.0,
        }
        store = receiver.store()
        assert_histogram(found, done_seconds(store))  # the event, once: by its successful sync
        assert found.value(f"{LATENCY}_count") == 1
        # An event type that names no person: one full sync.
        count_answers(sender.deliver(event_payload("contract.terminated", {"id": "3w4zdd9"})))
        receiver.wait_idle()
        found = receiver.metrics()
        assert found.syncs() == {
            **no_syncs(),
            ("targeted", "failed"): 1.0,
            ("targeted", "succeeded"): 1.0,
            ("full", "succeeded"): 1.0,
        }
        assert_histogram(found, done_seconds(store))
        assert found.value(f"{LATENCY}_count") == 2
        assert [s.kind for s in reversed(store.syncs())] == ["targeted", "targeted", "full"]
    finally:
        receiver.stop()


def test_after_a_restart_pending_and_the_seconds_come_from_the_queue(world: World) -> None:
    ledger, gate = world.ledger(), world.tmp / "gate"
    state = world.tmp / "state"
    command = world.sync_command(ledger, "true")
    first = start_receiver(state, sync_command=command, debounce=3600)  # never syncs
    try:
        sent = time.time()
        count_answers(first.sender().burst([worker_updated(p) for p in PEOPLE[:3]]))
        accepted = time.time()
        assert first.metrics().value(PENDING) == 3
    finally:
        assert first.stop() == 0
    assert ledger.starts() == []
    second = start_receiver(state, sync_command=command, env={"LEDGER_GATE": str(gate)})
    try:
        found = second.metrics()
        assert found.value(PENDING) == 3  # read from the queue, not counted since the start
        assert found.deliveries() == dict.fromkeys(VERDICTS, 0.0)
        wait_until(ledger.starts, 30, "the resumed sync to start")
        released = time.time()
        gate.touch()
        second.wait_idle()
        found = second.metrics()
        assert found.value(PENDING) == 0
        assert found.syncs() == {**no_syncs(), ("targeted", "succeeded"): 1.0}
        seconds = done_seconds(second.store())
        assert_histogram(found, seconds)
        assert len(seconds) == 3
        # Measured from the first receiver's acceptance, across the restart: each event was
        # received before `accepted` and done after the sync was released.
        assert all(released - accepted <= s <= time.time() - sent for s in seconds)
    finally:
        gate.touch()
        second.stop()


def test_the_metrics_object_groups_verdicts_for_healthz() -> None:
    pending = iter([5, 0])
    metrics = ReceiverMetrics(pending_events=lambda: next(pending))
    verdicts: list[Verdict] = ["accepted", "too_large", "bad_signature", "queue_unavailable"]
    for verdict in verdicts:
        metrics.delivery(verdict)
    assert metrics.deliveries_by_answer() == {
        "accepted": 1,
        "duplicate": 0,
        "rejected": 2,
        "failed": 1,
    }
    metrics.sync_ended("targeted", "succeeded", [0.5, 45.0, 700.0])
    text = metrics.exposition().decode()
    assert f"{PENDING} 5.0" in text
    assert f'{LATENCY}_bucket{{le="60.0"}} 2.0' in text
    assert f'{LATENCY}_bucket{{le="600.0"}} 2.0' in text
    assert f'{LATENCY}_bucket{{le="+Inf"}} 3.0' in text
    assert math.isclose(
        next(
            s.value
            for f in text_string_to_metric_families(metrics.exposition().decode())
            for s in f.samples
            if s.name == f"{LATENCY}_sum"
        ),
        745.5,
    )
    # Two sets of metrics in one process do not share counts (no global registry).
    other = ReceiverMetrics(pending_events=lambda: 0)
    assert other.deliveries_by_answer()["accepted"] == 0
    assert set(VERDICTS) == set(get_args(Verdict))  # one list of verdicts
