"""The durable queue on a real SQLite file: statuses, de-duplication, claims, restarts."""

from __future__ import annotations

import sqlite3
import threading
from typing import TYPE_CHECKING

import pytest
from tap_deel.webhooks.events import Event, parse_event
from tap_deel.webhooks.store import Store, StoreError

from tests.emulators.deel_webhooks import encode, event_payload, worker_updated

if TYPE_CHECKING:
    from pathlib import Path

P1 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
P2 = "16fd2706-8baf-433b-82eb-8c7fada847da"


def event(person: str = P1, tracking: str | None = None) -> Event:
    return parse_event(encode(worker_updated(person, tracking_id=tracking)))


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "queue.sqlite3")


def test_the_file_is_in_wal_mode_with_full_sync(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()


def test_an_event_is_stored_once_by_its_tracking_id(store: Store) -> None:
    assert store.add_event(event(tracking="a"), 1.0)
    assert not store.add_event(event(tracking="a"), 2.0)  # a repeat delivery
    assert store.add_event(event(tracking="b"), 3.0)
    assert store.counts() == {"pending": 2, "running": 0, "done": 0, "failed": 0}
    assert store.oldest_open_at() == 1.0


def test_claim_then_success_marks_every_claimed_event_done(store: Store) -> None:
    store.add_event(event(P1, "a"), 1.0)
    store.add_event(event(P2, "b"), 2.0)
    claim = store.claim(full_sync_above=50, now=10.0, pid=123)
    assert claim is not None
    assert claim.plan.kind == "targeted"
    assert claim.plan.person_ids == (P1, P2)
    assert store.counts()["running"] == 2
    assert store.claim(50, 11.0, 124) is None  # nothing else is open
    store.add_event(event(P1, "c"), 12.0)  # arrives during the sync: stays pending
    store.finish(claim.sync_id, exit_code=0, now=20.0, counts={"suspended": 1})
    assert store.counts() == {"pending": 1, "running": 0, "done": 2, "failed": 0}
    sync = store.sync(claim.sync_id)
    assert sync is not None
    assert sync.status == "succeeded"
    assert sync.counts == {"suspended": 1}
    assert sync.duration == 10.0
    assert store.failures_in_a_row() == (0, None)


def test_a_failure_keeps_the_events_with_attempts_and_error(store: Store) -> None:
    store.add_event(event(P1, "a"), 1.0)
    first = store.claim(50, 10.0, 1)
    assert first is not None
    store.finish(first.sync_id, exit_code=3, now=11.0, error="JumpCloud answered 503")
    (row,) = store.events()
    assert row["status"] == "failed"
    assert row["attempts"] == 1
    assert row["last_error"] == "JumpCloud answered 503"
    assert store.failures_in_a_row() == (1, 11.0)
    assert store.oldest_open_at() == 1.0  # a failed event is open again
    second = store.claim(50, 20.0, 2)
    assert second is not None
    store.finish(second.sync_id, exit_code=3, now=21.0)
    assert store.failures_in_a_row() == (2, 21.0)
    third = store.claim(50, 30.0, 3)
    assert third is not None
    store.finish(third.sync_id, exit_code=0, now=31.0)
    (row,) = store.events()
    assert row["status"] == "done"
    assert row["attempts"] == 3
    assert row["last_error"] is None
    assert store.failures_in_a_row() == (0, None)


def test_a_full_sync_event_makes_the_claim_full(store: Store) -> None:
    store.add_event(event(P1, "a"), 1.0)
    store.add_event(parse_event(encode(event_payload("contract.terminated", {"id": "c1"}))), 2.0)
    claim = store.claim(50, 3.0, 1)
    assert claim is not None
    assert claim.plan.kind == "full"
    assert claim.plan.person_ids == ()


def test_a_restart_keeps_everything_and_interrupts_a_dead_sync(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    first = Store(path)
    first.add_event(event(P1, "a"), 1.0)
    claim = first.claim(50, 2.0, 99)
    assert claim is not None
    first.add_event(event(P2, "b"), 3.0)
    first.close()  # the process dies here

    again = Store(path)
    assert again.counts() == {"pending": 1, "running": 1, "done": 0, "failed": 0}
    assert again.interrupt_unfinished(4.0) == [claim.sync_id]
    assert again.counts() == {"pending": 1, "running": 0, "done": 0, "failed": 1}
    sync = again.sync(claim.sync_id)
    assert sync is not None
    assert sync.status == "interrupted"
    retry = again.claim(50, 5.0, 100)
    assert retry is not None
    assert set(retry.plan.person_ids) == {P1, P2}


def test_concurrent_writers_lose_nothing(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    Store(path).close()

    def add(offset: int) -> None:
        own = Store(path)
        for n in range(50):
            own.add_event(event(P1, f"t{offset}-{n}"), float(n))
        own.close()

    threads = [threading.Thread(target=add, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Store(path).counts()["pending"] == 200


def test_purge_forgets_only_old_done_events(store: Store) -> None:
    store.add_event(event(P1, "old"), 1.0)
    claim = store.claim(50, 2.0, 1)
    assert claim is not None
    store.finish(claim.sync_id, exit_code=0, now=3.0)
    store.add_event(event(P1, "open"), 4.0)
    assert store.purge(before=100.0) == 1
    assert [row["tracking_id"] for row in store.events()] == ["open"]
    # Once forgotten, the old delivery would count as new (a harmless re-read).
    assert store.add_event(event(P1, "old"), 5.0)


def test_an_unusable_file_is_one_error(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="queue"):
        Store(path)


def test_what_the_metrics_read_delivery_to_done_seconds_and_ended_syncs(tmp_path: Path) -> None:
    path = tmp_path / "queue.sqlite3"
    store = Store(path)
    assert (store.not_done(), store.ended_through(), store.syncs_after(0)) == (0, 0, [])
    store.add_event(event(P1, "a"), 100.0)
    store.add_event(event(P2, "b"), 104.5)
    failed = store.claim(50, 110.0, 1)
    assert failed is not None
    assert store.not_done() == 2  # running counts as not done
    assert store.ended_through() == 0  # sync 1 still runs
    store.finish(failed.sync_id, exit_code=1, now=112.0)
    assert store.delivery_to_done_seconds(failed.sync_id) == []  # a failure marks none done
    retried = store.claim(50, 120.0, 2)
    assert retried is not None
    store.add_event(event(P1, "c"), 121.0)  # arrives during the retry: not its event
    store.close()
    # A restart between claim and end: the times come from the file.
    again = Store(path)
    again.finish(retried.sync_id, exit_code=0, now=130.0)
    assert again.delivery_to_done_seconds(retried.sync_id) == [30.0, 25.5]
    assert again.not_done() == 1
    assert again.ended_through() == retried.sync_id
    assert [(s.id, s.status) for s in again.syncs_after(0)] == [(1, "failed"), (2, "succeeded")]
    assert again.syncs_after(1)[0].id == 2
    running = again.claim(50, 140.0, 3)
    assert running is not None
    assert again.ended_through() == 2
