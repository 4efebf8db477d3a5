"""The receiver under stress: floods, SIGKILL mid-sync, JumpCloud down, failing syncs.

Each test ends with the same judgement (`judge_no_loss_no_repeat`): every event done by one
successful sync, no sync run twice, none run without the queue knowing, and JumpCloud holding
what Deel says. The fast cases run in `make test`; the ones marked slow (real pipelines,
more events) in `make chaos`.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from tap_deel.webhooks.policy import retry_delay

from tests.emulators.deel_webhooks import encode, worker_updated
from tests.emulators.workforce import generate_workforce, promote, work_email_of
from tests.webhooks.harness import (
    LATENCY,
    PENDING,
    count_answers,
    judge_no_loss_no_repeat,
    run_shell,
    start_receiver,
    tally,
    wait_until,
)

if TYPE_CHECKING:
    from tests.webhooks.conftest import World

slow = pytest.mark.slow


def eligible(world: World, count: int) -> list[dict[str, Any]]:
    """Active workers with a JumpCloud user and a work email no one else shares."""
    linked = {u["employeeIdentifier"] for u in world.jc.users()}
    emails = Counter((work_email_of(p) or "").lower() for p in world.deel.people)
    found = [
        p
        for p in world.deel.people
        if p["hiring_status"] == "active"
        and p["id"] in linked
        and emails[(work_email_of(p) or "").lower()] == 1
    ]
    assert len(found) >= count, f"only {len(found)} eligible workers"
    return found[:count]


def change(world: World, person: dict[str, Any], title: str) -> None:
    """HR gives the person a new title in Deel (the event is sent by the test)."""
    promote(person, title)
    world.deel.update_person(person["id"])


def titles_match(world: World, people: list[dict[str, Any]]) -> list[str]:
    """People whose JumpCloud job title is not their Deel title (should be none)."""
    wrong = []
    for person in people:
        current = world.deel.get_person(person["id"])
        assert current is not None
        (user,) = world.jc.find_users(employeeIdentifier=person["id"])
        if user.get("jobTitle") != current["job_title"]:
            wrong.append(f"{person['id']}: {user.get('jobTitle')!r} != {current['job_title']!r}")
    tally("changes checked", len(people))
    return wrong


def assert_clean(figures: dict[str, int]) -> None:
    assert figures["lost"] == 0, figures
    assert figures["duplicated syncs"] == 0, figures
    assert figures["unrecorded"] == 0, figures
    assert figures["phantom"] == 0, figures


# -- a flood ---------------------------------------------------------------------------------


@slow
def test_a_flood_of_1000_deliveries_in_10_seconds_is_answered_and_coalesced(world: World) -> None:
    world.deel.set_workforce(generate_workforce(120, seed=21))
    run_shell(world.pipeline(), world.env)
    people = eligible(world, 40)
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state", sync_command=world.sync_command(ledger), env=world.env, debounce=1.0
    )
    rng = random.Random(7)
    sent: list[bytes] = []
    results = []
    started = time.monotonic()
    try:
        sender = receiver.sender()
        for wave in range(10):  # 100 deliveries a second: 80 new events, 20 repeats
            due = started + wave
            if time.monotonic() < due:
                time.sleep(due - time.monotonic())
            promoted = people[wave * 4 : wave * 4 + 4]
            for person in promoted:
                change(world, person, f"Wave {wave} {person['job_title']}")
            fresh = [encode(worker_updated(p["id"])) for p in promoted]
            fresh += [encode(worker_updated(rng.choice(people)["id"])) for _ in range(76)]
            repeats = [rng.choice(sent or fresh) for _ in range(20)]
            sent.extend(fresh)
            results.extend(sender.burst(fresh + repeats, concurrency=16))
        elapsed = time.monotonic() - started
        verdicts = count_answers(results)
        assert len(results) == 1000
        assert elapsed <= 12.0, f"the flood took {elapsed:.1f} s to send"
        assert verdicts == {"accepted": 800, "duplicate": 200}, verdicts
        slowest = max(r.seconds for r in results)
        assert slowest <= 5.0, f"slowest answer {slowest:.2f} s"
        receiver.wait_idle(timeout=300)
        assert titles_match(world, people) == []
        figures = judge_no_loss_no_repeat(receiver.store(), ledger)
        assert_clean(figures)
        assert figures["events"] == 800
        assert figures["syncs"] <= 20, f"{figures['syncs']} syncs for 800 events: not coalesced"
        print(
            f"\nflood: 1000 deliveries in {elapsed:.1f} s, slowest answer {slowest * 1000:.0f} ms,"
            f" 800 events in {figures['syncs']} syncs"
        )
    finally:
        receiver.stop()


# -- SIGKILL mid-sync, with events queued -----------------------------------------------------


def _sigkill_with_events_queued(world: World, *, total: int, real_pipeline: bool) -> None:
    first = max(1, total // 5)
    if real_pipeline:
        world.deel.set_workforce(generate_workforce(160, seed=23))
        run_shell(world.pipeline(), world.env)
        people = eligible(world, total)
    else:
        people = [{"id": p["id"]} for p in world.deel.people[:total]]
    ledger, gate = world.ledger(), world.tmp / "gate"
    inner = None if real_pipeline else "true"
    env = {**world.env, "LEDGER_GATE": str(gate)}
    state = world.tmp / "state"
    receiver = start_receiver(state, sync_command=world.sync_command(ledger, inner), env=env)

    def deliver(batch: list[dict[str, Any]]) -> None:
        for person in batch:
            if real_pipeline:
                change(world, person, f"Renamed {person['job_title']}")
        verdicts = count_answers(
            receiver.sender().burst([worker_updated(p["id"]) for p in batch], concurrency=8)
        )
        assert verdicts == {"accepted": len(batch)}

    deliver(people[:first])
    wait_until(ledger.starts, 60, "the first sync to start")  # held at the gate, lock taken
    deliver(people[first:])
    health = receiver.health()
    assert health["pending"] == total
    assert health["events"]["running"] == first
    receiver.kill()  # SIGKILL: the receiver dies; its sync process lives on, holding the lock

    again = start_receiver(state, sync_command=world.sync_command(ledger, inner), env=env)
    try:
        # The new receiver waits for the old sync (it holds the lock) instead of redoing it.
        waiting = again.wait_health(lambda h: h["sync"] == "waiting_for_lock", "the lock wait")
        assert waiting["pending"] == total
        gate.touch()
        again.wait_idle(timeout=300)
        figures = judge_no_loss_no_repeat(again.store(), ledger)
        assert_clean(figures)
        assert figures["events"] == total
        assert figures["syncs"] == 2  # the one cut off, finished by itself; one for the rest
        assert {e["attempts"] for e in again.store().events()} == {1}  # none claimed twice
        # The new receiver counts both: the cut-off sync ended after it started.
        found = again.metrics()
        assert sum(v for (_, outcome), v in found.syncs().items() if outcome == "succeeded") == 2
        assert sum(found.syncs().values()) == 2
        assert found.value(f"{LATENCY}_count") == total
        assert found.value(PENDING) == 0
        if real_pipeline:
            assert titles_match(world, people) == []
    finally:
        again.stop()


def test_sigkill_mid_sync_with_10_events_queued(world: World) -> None:
    _sigkill_with_events_queued(world, total=10, real_pipeline=False)


@slow
def test_sigkill_mid_sync_with_50_events_queued_real_pipeline(world: World) -> None:
    _sigkill_with_events_queued(world, total=50, real_pipeline=True)


# -- failing syncs ---------------------------------------------------------------------------


def assert_backed_off(world_store: Any, base: float, cap: float) -> list[float]:
    """Each retry started no sooner than the backoff after the failure before it."""
    syncs = sorted(world_store.syncs(), key=lambda s: s.id)
    gaps = []
    failures = 0
    for before, after in itertools.pairwise(syncs):
        failures = failures + 1 if before.status != "succeeded" else 0
        if failures:
            wait = retry_delay(failures, base, cap)
            gap = after.started_at - before.finished_at
            assert gap >= wait - 0.05, f"sync {after.id} began {gap:.2f} s after, not {wait} s"
            gaps.append(round(gap, 2))
    return gaps


def test_a_failing_sync_is_retried_with_backoff_and_events_are_kept(world: World) -> None:
    ledger, good = world.ledger(), world.tmp / "good"
    inner = f"test -e {good}"  # fails until the file exists
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, inner),
        retry=(0.2, 0.8),
    )
    try:
        person = world.deel.people[0]["id"]
        count_answers(receiver.sender().deliver(worker_updated(person)))
        health = receiver.wait_health(lambda h: h["failures_in_a_row"] >= 4, "four failures")
        assert health["pending"] == 1
        (event,) = receiver.store().events()
        assert event["status"] in ("failed", "running")
        assert event["attempts"] >= 4
        assert "exited 1" in (event["last_error"] or "")
        good.touch()
        receiver.wait_idle()
        (event,) = receiver.store().events()
        assert event["status"] == "done"
        assert len(assert_backed_off(receiver.store(), 0.2, 0.8)) >= 4  # 0.2, 0.4, 0.8, 0.8 s
        figures = judge_no_loss_no_repeat(receiver.store(), ledger)
        assert figures["lost"] == 0
        assert figures["duplicated syncs"] == 0
    finally:
        receiver.stop()


def test_a_hung_sync_is_stopped_at_its_timeout_and_retried(world: World) -> None:
    ledger, good = world.ledger(), world.tmp / "good"
    inner = f"test -e {good} || sleep 600"  # hangs until the file exists
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, inner),
        retry=(0.2, 0.4),
        env={"DEEL_WEBHOOKS_SYNC_TIMEOUT_SECONDS": "1"},
    )
    try:
        count_answers(receiver.sender().deliver(worker_updated(world.deel.people[0]["id"])))
        health = receiver.wait_health(lambda h: h["failures_in_a_row"] >= 1, "a timed-out sync")
        assert "stopped after running 1 s" in health["last_sync"]["error"]
        assert health["pending"] == 1
        good.touch()
        receiver.wait_idle()
        figures = judge_no_loss_no_repeat(receiver.store(), ledger)
        assert figures["lost"] == 0
        assert figures["duplicated syncs"] == 0
    finally:
        receiver.stop()


@slow
def test_jumpcloud_down_the_sync_is_retried_until_it_succeeds(world: World) -> None:
    run_shell(world.pipeline(), world.env)
    (leaver,) = eligible(world, 1)
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger),
        env=world.env,
        retry=(0.5, 2.0),
    )
    try:
        world.jc.faults.randomize(1.0, ("503",), paths=r"/api/.*")  # JumpCloud is down
        world.deel.terminate_person(leaver["id"])
        count_answers(receiver.sender().deliver(worker_updated(leaver["id"])))
        health = receiver.wait_health(
            lambda h: h["failures_in_a_row"] >= 3, "three failed syncs", timeout=180
        )
        assert health["pending"] == 1
        assert health["last_sync"]["status"] == "failed"
        (event,) = receiver.store().events()
        assert event["attempts"] >= 3
        (user,) = world.jc.find_users(employeeIdentifier=leaver["id"])
        assert user["state"] != "SUSPENDED"
        world.jc.faults.clear()  # JumpCloud is back
        receiver.wait_idle(timeout=180)
        (user,) = world.jc.find_users(employeeIdentifier=leaver["id"])
        assert user["state"] == "SUSPENDED"
        assert_backed_off(receiver.store(), 0.5, 2.0)
        figures = judge_no_loss_no_repeat(receiver.store(), ledger)
        assert figures["lost"] == 0
        assert figures["duplicated syncs"] == 0
        assert figures["syncs"] >= 4  # three failures at least, then the success
    finally:
        world.jc.faults.clear()
        receiver.stop()
