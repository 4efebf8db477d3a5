"""The real receiver over HTTP: refusals, de-duplication, health, logs, stop and restart.

The sync command here is `ledger.py` around `true` (the pipeline has its own tests in
test_end_to_end.py): these tests are about what the receiver accepts, stores and starts.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from tests.emulators.deel_webhooks import encode, event_payload, worker_updated
from tests.webhooks.harness import (
    RECEIVER,
    SIGNING_KEY,
    clean_env,
    count_answers,
    leaks,
    start_receiver,
    tally,
    wait_until,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.webhooks.conftest import World

P1 = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
P2 = "16fd2706-8baf-433b-82eb-8c7fada847da"
MIB = 1024 * 1024


def raw_post(port: int, head: bytes, body_parts: list[bytes]) -> bytes:
    """Send a request by hand (headers, then body parts, stopping at the first refusal)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        for part in body_parts:
            try:
                sock.sendall(part)
            except OSError:  # the server answered and closed: it read no more
                break
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_every_refusal_in_the_contracts_order_queues_nothing(world: World) -> None:
    ledger = world.ledger()
    receiver = start_receiver(world.tmp / "state", sync_command=world.sync_command(ledger, "true"))
    try:
        body = encode(worker_updated(P1))
        sender = receiver.sender()
        results = [
            *sender.deliver(body, unsigned=True),  # no signature
            *sender.deliver(body, wrong_key=True),  # another key
            sender.post(body, signature="sha256=" + "0" * 64),  # bad signature
            sender.post(body, signature=sender.headers(body[:-1])["x-deel-signature"]),
            sender.post(b"{not json"),  # signed, but not JSON
            sender.post(b'{"data": {"meta": {}}}'),  # no event type
            sender.post(b"x" * (MIB + 1)),  # one byte over the limit
        ]
        assert [r.status for r in results] == [401, 401, 401, 401, 400, 400, 413]
        assert count_answers(results) == {"rejected": 7}
        health = receiver.health()
        assert health["pending"] == 0
        assert health["events"] == {"pending": 0, "running": 0, "done": 0, "failed": 0}
        assert health["deliveries"]["rejected"] == 7
        assert health["next_sync_in_seconds"] is None
        assert receiver.store().events() == []
        lines = [line for line in receiver.log().splitlines() if "delivery verdict=" in line]
        assert len(lines) == 7
        assert 'reason="wrong x-deel-signature"' in lines[1]
    finally:
        assert receiver.stop() == 0
    assert ledger.starts() == []  # nothing was ever synced


def test_a_two_mib_body_is_refused_from_its_length_without_being_read(world: World) -> None:
    receiver = start_receiver(world.tmp / "state", sync_command="true")
    try:
        head = (
            f"POST /webhooks/deel HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
            f"\r\nContent-Length: {2 * MIB}\r\nx-deel-signature: {'0' * 64}\r\n\r\n"
        ).encode()
        answer = raw_post(receiver.port, head, [b"{" + b" " * 65535])  # 64 KiB of 2 MiB sent
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        # Without a length (chunked), it stops reading just past 1 MiB.
        chunked = (
            "POST /webhooks/deel HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
            f"x-deel-signature: {'0' * 64}\r\n\r\n"
        ).encode()
        chunk = b"10000\r\n" + b"x" * 0x10000 + b"\r\n"  # 64 KiB chunks
        answer = raw_post(receiver.port, chunked, [chunk] * 32)  # 2 MiB offered
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert receiver.store().events() == []
    finally:
        receiver.stop()


def test_duplicates_and_a_replayed_old_delivery_are_stored_once(world: World) -> None:
    ledger = world.ledger()
    receiver = start_receiver(world.tmp / "state", sync_command=world.sync_command(ledger, "true"))
    try:
        sender = receiver.sender()
        old = encode(worker_updated(P1, tracking_id="trk-old", timestamp="2024-01-01T00:00:00Z"))
        first = sender.deliver(old, duplicates=2)  # Deel "may deliver more than once"
        assert count_answers(first) == {"accepted": 1, "duplicate": 2}
        receiver.wait_idle()
        assert len(ledger.starts()) == 1
        # The same delivery replayed later (captured, or resent by Deel): stored already.
        replay = sender.post(old)
        assert count_answers([replay]) == {"duplicate": 1}
        health = receiver.health()
        assert health["pending"] == 0  # nothing new: no sync can be due
        assert health["next_sync_in_seconds"] is None
        # Without a tracking id, the body's hash is the identity.
        anonymous = json.dumps({"data": {"meta": {"event_type": "worker.v2.updated"},
                                          "resource": {"id": P2}}}).encode()  # fmt: skip
        assert count_answers(sender.deliver(anonymous, duplicates=1)) == {
            "accepted": 1,
            "duplicate": 1,
        }
        receiver.wait_idle()
        assert len(ledger.starts()) == 2
        assert [e["dedupe_key"][:7] for e in receiver.store().events()] == ["trackin", "sha256:"]
    finally:
        receiver.stop()


def test_events_coalesce_and_the_sync_gets_the_person_ids(world: World) -> None:
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state", sync_command=world.sync_command(ledger, "true"), debounce=0.5
    )
    try:
        sender = receiver.sender()
        results = sender.burst([worker_updated(p) for p in (P1, P2, P1)], concurrency=3)
        count_answers(results)
        receiver.wait_idle()
        (start,) = ledger.starts()
        assert start["kind"] == "targeted"
        assert sorted(start["person_ids"]) == sorted([P1, P2])
        # Another type names no person: one full sync, without TAP_DEEL_PERSON_IDS.
        count_answers(sender.deliver(event_payload("contract.terminated", {"id": "3w4zdd9"})))
        receiver.wait_idle()
        full = ledger.starts()[-1]
        assert full["kind"] == "full"
        assert full["person_ids"] is None
        health = receiver.health()
        assert health["last_sync"]["kind"] == "full"
        assert health["last_sync"]["status"] == "succeeded"
        assert health["last_sync"]["exit_code"] == 0
        sync_lines = [line for line in receiver.log().splitlines() if "sync id=" in line]
        assert len(sync_lines) == 2
        assert "kind=targeted people=2 events=3" in sync_lines[0]
    finally:
        receiver.stop()


def test_more_people_than_the_threshold_make_one_full_sync(world: World) -> None:
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, "true"),
        debounce=0.5,
        full_sync_above=2,
    )
    try:
        people = [f"7c9e6679-7425-40de-944b-{n:012d}" for n in range(3)]
        count_answers(receiver.sender().burst([worker_updated(p) for p in people]))
        receiver.wait_idle()
        (start,) = ledger.starts()
        assert start["kind"] == "full"
    finally:
        receiver.stop()


def test_sigterm_waits_for_the_running_sync_and_keeps_pending_events(world: World) -> None:
    ledger, gate = world.ledger(), world.tmp / "gate"
    state = world.tmp / "state"
    env = {"LEDGER_GATE": str(gate)}
    receiver = start_receiver(state, sync_command=world.sync_command(ledger, "true"), env=env)
    sender = receiver.sender()
    count_answers(sender.deliver(worker_updated(P1)))
    wait_until(ledger.starts, 30, "the first sync to start")  # held at the gate
    count_answers(sender.deliver(worker_updated(P2)))  # arrives during the sync
    receiver.process.send_signal(signal.SIGTERM)
    # The server stops listening, but the process waits for the sync it is running.
    wait_until(lambda: _refused(receiver.port), 30, "the server to stop listening")
    assert receiver.process.poll() is None
    gate.touch()
    assert receiver.process.wait(timeout=60) == 0
    (end,) = ledger.ends()
    assert end["rc"] == 0
    store = receiver.store()
    statuses = sorted(e["status"] for e in store.events())
    assert statuses == ["done", "pending"]  # the second stays on disk for the next start
    assert "stopped; 1 events stay queued" in receiver.log()
    again = start_receiver(state, sync_command=world.sync_command(ledger, "true"), env=env)
    try:
        again.wait_idle()
        assert len(ledger.starts()) == 2
        assert ledger.starts()[1]["person_ids"] == [P2]
    finally:
        again.stop()


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_a_sync_waits_while_the_nightly_job_holds_the_lock(world: World) -> None:
    ledger = world.ledger()
    state = world.tmp / "state"
    receiver = start_receiver(state, sync_command=world.sync_command(ledger, "true"))
    gate, began, ended = world.tmp / "nightly-gate", world.tmp / "began", world.tmp / "ended"
    nightly_script = (
        "import pathlib, time\n"
        f"pathlib.Path({str(began)!r}).touch()\n"
        f"while not pathlib.Path({str(gate)!r}).exists(): time.sleep(0.02)\n"
        f"pathlib.Path({str(ended)!r}).write_text(repr(time.time()))\n"
    )
    nightly = subprocess.Popen(
        [str(RECEIVER), "locked", "--", sys.executable, "-c", nightly_script],
        env=clean_env({"DEEL_WEBHOOKS_STATE_DIR": str(state)}),
    )
    try:
        wait_until(began.exists, 30, "the nightly job to hold the lock")
        count_answers(receiver.sender().deliver(worker_updated(P1)))
        health = receiver.wait_health(lambda h: h["sync"] == "waiting_for_lock", "the lock wait")
        assert health["pending"] == 1
        assert ledger.starts() == []  # the event's sync has not begun
        gate.touch()
        assert nightly.wait(timeout=60) == 0
        receiver.wait_idle()
        (start,) = ledger.starts()
        assert start["t"] >= float(ended.read_text())  # it ran after the nightly job ended
    finally:
        if nightly.poll() is None:
            nightly.kill()
        receiver.stop()


def test_locked_waits_for_a_running_sync_and_passes_the_exit_code(world: World) -> None:
    ledger, gate = world.ledger(), world.tmp / "gate"
    state = world.tmp / "state"
    receiver = start_receiver(
        state, sync_command=world.sync_command(ledger, "true"), env={"LEDGER_GATE": str(gate)}
    )
    try:
        count_answers(receiver.sender().deliver(worker_updated(P1)))
        wait_until(ledger.starts, 30, "the event sync to start")
        nightly = subprocess.Popen(
            [str(RECEIVER), "locked", "--wait", "60", "--", "sh", "-c", "exit 7"],
            env=clean_env({"DEEL_WEBHOOKS_STATE_DIR": str(state)}),
            stderr=subprocess.PIPE,
            text=True,
        )
        assert nightly.stderr is not None
        assert "waiting for the sync lock" in nightly.stderr.readline()
        assert nightly.poll() is None
        gate.touch()
        assert nightly.wait(timeout=60) == 7
        nightly.stderr.close()
        assert ledger.ends()[0]["t"] <= time.time()
        no_command = subprocess.run(
            [str(RECEIVER), "locked", "--wait", "0.2", "--"],
            env=clean_env({"DEEL_WEBHOOKS_STATE_DIR": str(state)}),
            capture_output=True,
            text=True,
            check=False,
        )
        assert no_command.returncode == 2
        assert "needs a command" in no_command.stderr
    finally:
        receiver.stop()


def test_bad_settings_stop_it_at_start_with_one_line(tmp_path: Path) -> None:
    cases = {
        "DEEL_WEBHOOKS_SIGNING_KEY": {},
        "DEEL_WEBHOOKS_PORT": {"DEEL_WEBHOOKS_SIGNING_KEY": SIGNING_KEY, "DEEL_WEBHOOKS_PORT": "x"},
        "DEEL_WEBHOOKS_DEBOUNCE_SECONDS": {
            "DEEL_WEBHOOKS_SIGNING_KEY": SIGNING_KEY,
            "DEEL_WEBHOOKS_DEBOUNCE_SECONDS": "-2",
        },
        "DEEL_WEBHOOKS_STATE_DIR": {
            "DEEL_WEBHOOKS_SIGNING_KEY": SIGNING_KEY,
            "DEEL_WEBHOOKS_STATE_DIR": str(tmp_path / "file" / "below"),
        },
    }
    (tmp_path / "file").write_text("a file, not a folder")
    for variable, env in cases.items():
        done = subprocess.run(
            [str(RECEIVER)], env=clean_env(env), capture_output=True, text=True, timeout=60,
            check=False, cwd=tmp_path,
        )  # fmt: skip
        assert done.returncode == 2, (variable, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert variable in lines[0]
        assert SIGNING_KEY not in done.stderr
        assert "Traceback" not in done.stderr
    tally("config cases", len(cases))


def test_the_port_in_use_is_one_line(world: World) -> None:
    first = start_receiver(world.tmp / "one", sync_command="true")
    try:
        env = clean_env(
            {
                "DEEL_WEBHOOKS_SIGNING_KEY": SIGNING_KEY,
                "DEEL_WEBHOOKS_PORT": str(first.port),
                "DEEL_WEBHOOKS_STATE_DIR": str(world.tmp / "two"),
            }
        )
        done = subprocess.run(
            [str(RECEIVER)], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 2
        assert "DEEL_WEBHOOKS_PORT" in done.stderr
        assert "Traceback" not in done.stderr
    finally:
        first.stop()


def test_the_signing_key_is_never_written_anywhere(world: World) -> None:
    ledger = world.ledger()
    inner = 'env > "$DEEL_WEBHOOKS_SYNC_ID.env"'  # what the sync command's environment holds
    receiver = start_receiver(world.tmp / "state", sync_command=world.sync_command(ledger, inner))
    try:
        sender = receiver.sender()
        count_answers(sender.deliver(worker_updated(P1)))
        count_answers(sender.deliver(worker_updated(P1), wrong_key=True))
        receiver.wait_idle()
    finally:
        receiver.stop()
    assert (receiver.state_dir.parent / "1.env").exists()
    found = leaks([receiver.log_path, receiver.state_dir, receiver.state_dir.parent / "1.env"],
                  (SIGNING_KEY,))  # fmt: skip
    tally("leaks found", len(found))
    assert found == []
    assert "DEEL_WEBHOOKS_SIGNING_KEY" not in (receiver.state_dir.parent / "1.env").read_text()


def test_status_prints_the_queue(world: World) -> None:
    state = world.tmp / "state"
    receiver = start_receiver(state, sync_command="true")
    try:
        count_answers(receiver.sender().deliver(worker_updated(P1)))
        receiver.wait_idle()
    finally:
        receiver.stop()
    done = subprocess.run(
        [str(RECEIVER), "status"],
        env=clean_env({"DEEL_WEBHOOKS_STATE_DIR": str(state)}),
        capture_output=True,
        text=True,
        check=True,
    )
    body = json.loads(done.stdout)
    assert body["events"]["done"] == 1
    assert body["syncs"][0]["status"] == "succeeded"
