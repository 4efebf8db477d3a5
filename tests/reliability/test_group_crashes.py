"""Groups (docs/groups.md): a target killed mid-run converges on the next run.

The target runs as its own process on a first sync with group rules and
`create_missing_groups`; the emulator's hook kills it (SIGKILL) right after a chosen write
was stored and before its answer left: a group created but none of its memberships sent, a
user created with its ledger but not yet in its groups, or the first membership written.
The next run must end where one clean run does: every group once, every member in, every
ledger right; and the run after it writes nothing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators.base import EmulatorServer
from tests.reliability.harness import HookedJumpCloud
from tests.target_jumpcloud.target_io_helpers import KEY, config_for, person, singer_text

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from tests.emulators.base import Request, Response

RULES = [{"group": "All staff"}, {"group": "Dept - {department}"}]
LEDGER = "deelSyncGroups"
WORKERS = [
    person(f"p{i}", "Worker", f"N{i}", department={"id": "d", "name": f"D{i % 2}"})
    for i in range(6)
]


def _is(method: str, suffix: str) -> Callable[[Request], bool]:
    return lambda request: request.method == method and request.path.endswith(suffix)


KILL_POINTS = {
    "after-a-group-create": _is("POST", "/api/v2/usergroups"),
    "after-a-user-create": _is("POST", "/api/systemusers"),
    "after-a-membership": _is("POST", "/members"),
}


def _run(
    api_url: str,
    tmp_path: Path,
    name: str,
    hook_app: HookedJumpCloud | None = None,
    kill_on: Callable[[Request], bool] | None = None,
) -> int:
    config = config_for(api_url, group_rules=RULES, create_missing_groups=True)
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_JUMPCLOUD_")}
    env["TARGET_JUMPCLOUD_BACKOFF_SCALE"] = "0.01"
    process = subprocess.Popen(
        [sys.executable, "-m", "target_jumpcloud", "--config", str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    if hook_app is not None and kill_on is not None:
        fired = [False]

        def hook(request: Request, response: Response | None) -> None:
            del response
            if not fired[0] and kill_on(request):
                fired[0] = True
                os.kill(process.pid, signal.SIGKILL)

        hook_app.hook = hook
    process.communicate(singer_text(WORKERS, state={"done": True}), timeout=120)
    if hook_app is not None:
        hook_app.hook = None
    return process.returncode


def _state(app: HookedJumpCloud) -> dict[str, Any]:
    """What the groups look like, by name: members by profile id; and each user's ledger."""
    profile = {u["_id"]: str(u.get("employeeIdentifier")) for u in app.users()}
    groups = {g["name"]: sorted(profile[m] for m in g["members"]) for g in app.groups()}
    by_id = {g["id"]: g["name"] for g in app.groups()}
    ledgers = {}
    for user in app.users():
        value = next(
            (a["value"] for a in user.get("attributes") or [] if a.get("name") == LEDGER), ""
        )
        ledgers[user["employeeIdentifier"]] = sorted(by_id.get(i, i) for i in value.split(",") if i)
    return {"groups": groups, "ledgers": ledgers, "users": len(app.users())}


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory) -> dict[str, Any]:
    with EmulatorServer(HookedJumpCloud(api_key=KEY)) as server:
        assert _run(f"{server.url}/api", tmp_path_factory.mktemp("clean"), "clean") == 0
        return _state(server.app)


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_a_run_killed_between_group_writes_converges(point, tmp_path, clean_state):
    with EmulatorServer(HookedJumpCloud(api_key=KEY)) as server:
        api_url = f"{server.url}/api"
        killed = _run(api_url, tmp_path, "killed", server.app, KILL_POINTS[point])
        assert killed == -signal.SIGKILL
        assert _state(server.app) != clean_state  # (the kill came before the end)
        assert _run(api_url, tmp_path, "again") == 0
        assert _state(server.app) == clean_state
        assert server.app.writes["group_create"] == len(clean_state["groups"])
        before = dict(server.app.writes)
        assert _run(api_url, tmp_path, "steady") == 0
        assert server.app.writes == before
