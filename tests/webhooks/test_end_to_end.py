"""A change in Deel reaches JumpCloud through the receiver: real pipelines, real Meltano.

Deel's emulator delivers the events its changes make to the receiver's URL (a subscription
made through Deel's own `POST /webhooks`), the receiver runs `tap-deel | target-jumpcloud`
(or the Meltano job) for the people named, and JumpCloud's emulator ends as it should.
"""

from __future__ import annotations

import json
import os
import signal
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.workforce import work_email_of
from tests.webhooks.harness import (
    DEEL_TOKEN,
    JC_KEY,
    ROOT,
    SIGNING_KEY,
    Receiver,
    judge_no_loss_no_repeat,
    run_shell,
    start_receiver,
    wait_until,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.webhooks.conftest import World


def subscribe(world: World, receiver: Receiver, events: list[str]) -> dict[str, Any]:
    """Register the receiver with Deel's emulator the way docs/webhooks.md says."""
    answer = requests.post(
        world.deel_api_url + "/webhooks",
        headers={"Authorization": f"Bearer {DEEL_TOKEN}"},
        json={
            "name": "JumpCloud sync",
            "description": "deel-webhooks receiver",
            "status": "enabled",
            "url": receiver.url,
            "signing_key": receiver.key,
            "api_version": "v2",
            "events": events,
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    item: dict[str, Any] = answer.json()["data"]
    return item


def active_people(world: World, count: int) -> list[dict[str, Any]]:
    """Active workers the first sync created a JumpCloud user for, whose work email no other
    profile shares (a shared email is a conflict in a full sync: see docs/webhooks.md)."""
    linked = {u["employeeIdentifier"] for u in world.jc.users()}
    emails = Counter((work_email_of(p) or "").lower() for p in world.deel.people)
    found = [
        p
        for p in world.deel.people
        if p["hiring_status"] == "active"
        and p["id"] in linked
        and emails[(work_email_of(p) or "").lower()] == 1
    ]
    assert len(found) >= count
    return found[:count]


def assert_read_only_the_leaver(world: World, leaver: dict[str, Any]) -> None:
    """Deel was asked for the leaver, then (they are inactive now, with a work email) for other
    profiles with that address: one search, the re-hire check. Nothing else was read."""
    log = world.deel.requests()
    assert [e.path for e in log] == [f"/rest/v2/people/{leaver['id']}", "/rest/v2/people"]
    assert log[1].query["search"] == [work_email_of(leaver)]


def user_of(world: World, person_id: str) -> dict[str, Any]:
    (user,) = world.jc.find_users(employeeIdentifier=person_id)
    return user


def test_a_termination_suspends_the_user_through_a_targeted_sync(world: World) -> None:
    run_shell(world.pipeline(), world.env)  # the nightly job's first full sync
    leaver, other = active_people(world, 2)
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state", sync_command=world.sync_command(ledger), env=world.env
    )
    try:
        subscribe(world, receiver, ["worker.v2.updated"])
        world.deel.reset_log()
        before = {u["_id"]: u for u in world.jc.users()}
        world.deel.terminate_person(leaver["id"])  # Deel delivers worker.v2.updated
        wait_until(
            lambda: user_of(world, leaver["id"])["state"] == "SUSPENDED", 60, "the suspension"
        )
        health = receiver.wait_idle()
        assert health["last_sync"]["kind"] == "targeted"
        assert health["last_sync"]["counts"] == {"suspended": 1}
        # Deel was asked for that one person only; nobody else in JumpCloud changed.
        assert_read_only_the_leaver(world, leaver)
        after = {u["_id"]: u for u in world.jc.users()}
        changed = [i for i in after if after[i] != before[i]]
        assert [after[i]["employeeIdentifier"] for i in changed] == [leaver["id"]]
        assert (
            user_of(world, other["id"])["state"]
            == before[user_of(world, other["id"])["_id"]]["state"]
        )
        figures = judge_no_loss_no_repeat(receiver.store(), ledger)
        assert figures["lost"] == figures["duplicated syncs"] == 0
    finally:
        receiver.stop()


def test_contract_terminated_makes_a_full_sync(world: World) -> None:
    run_shell(world.pipeline(), world.env)
    (leaver,) = active_people(world, 1)
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state", sync_command=world.sync_command(ledger), env=world.env
    )
    try:
        subscribe(world, receiver, ["contract.terminated"])
        world.deel.reset_log()
        world.deel.terminate_person(leaver["id"])
        assert world.deel.webhooks.wait_idle(30)  # delivered: stored before the 200
        receiver.wait_idle()
        assert user_of(world, leaver["id"])["state"] == "SUSPENDED"
        assert [s["kind"] for s in ledger.starts()] == ["full"]
        assert {e.path for e in world.deel.requests()} == {"/rest/v2/people"}
    finally:
        receiver.stop()


# -- through Meltano ----------------------------------------------------------------------------


def meltano_bin() -> Path:
    local = ROOT / ".venv-meltano" / "bin" / "meltano"
    if not local.exists():
        pytest.fail("meltano is not installed: run the tests through `make test`")
    return local


def meltano_env(world: World) -> dict[str, str]:
    """The e2e suite's environment: the dev environment pointed at these emulators."""
    return {
        "PATH": f"{meltano_bin().parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{world.tmp / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": world.deel_api_url,
        "TARGET_JUMPCLOUD_API_KEY": JC_KEY,
        "TARGET_JUMPCLOUD_API_URL": world.jc_api_url,
    }


@pytest.mark.meltano
def test_the_default_sync_command_is_the_meltano_job(world: World) -> None:
    env = meltano_env(world)
    run_shell(f"cd {ROOT} && meltano run deel-to-jumpcloud", env, timeout=300)
    (leaver,) = active_people(world, 1)
    receiver = start_receiver(world.tmp / "state", sync_command="", env=env, cwd=ROOT)
    try:  # (an empty DEEL_WEBHOOKS_SYNC_COMMAND means the default: meltano run deel-to-jumpcloud)
        subscribe(world, receiver, ["worker.v2.updated"])
        world.deel.reset_log()
        world.deel.terminate_person(leaver["id"])
        assert world.deel.webhooks.wait_idle(30)
        health = receiver.wait_idle(timeout=300)
        assert health["last_sync"]["status"] == "succeeded", receiver.log()[-3000:]
        assert health["last_sync"]["counts"] == {"suspended": 1}
        assert user_of(world, leaver["id"])["state"] == "SUSPENDED"
        assert_read_only_the_leaver(world, leaver)
        report = json.loads((world.tmp / "state" / "reports" / "sync-1.json").read_text())
        assert report["counts"]["suspended"] == 1
    finally:
        receiver.stop()


@pytest.mark.meltano
def test_meltano_invoke_runs_the_receiver(world: World) -> None:
    env = meltano_env(world)
    ledger = world.ledger()
    receiver = start_receiver(
        world.tmp / "state",
        sync_command=world.sync_command(ledger, "true"),
        env={**env, **world.env},
        argv=[str(meltano_bin()), "invoke", "deel-webhooks"],
        cwd=ROOT,
    )
    try:
        assert receiver.health()["status"] == "ok"
        results = receiver.sender().deliver(
            json.dumps(
                {
                    "data": {
                        "meta": {"event_type": "worker.v2.updated", "tracking_id": "t-1"},
                        "resource": {"id": world.deel.people[0]["id"]},
                    }
                }
            ).encode()
        )
        assert [r.status for r in results] == [200]
        receiver.wait_idle(timeout=120)
        assert [s["person_ids"] for s in ledger.starts()] == [[world.deel.people[0]["id"]]]
        assert SIGNING_KEY not in receiver.log()
    finally:
        # `meltano invoke` runs the receiver as its child: stop the receiver itself (its pid
        # is in receiver.json), then let meltano exit.
        pid = json.loads((world.tmp / "state" / "receiver.json").read_text())["pid"]
        os.kill(pid, signal.SIGTERM)
        assert receiver.process.wait(timeout=60) == 0
