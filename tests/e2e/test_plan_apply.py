"""Plan, review, apply through both ways to run it: the plain CLI and Meltano.

A dry run writes the plan; someone edits one user in JumpCloud; the apply run reads no input
(the standard input is /dev/null, or `meltano invoke` with nothing piped), applies every other
action, reports the edited one as `conflict`, and writes nothing else. Applied again, it
writes nothing. A tampered or unapproved plan is refused before any request.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import JUMPCLOUD_KEY
from tests.e2e.test_meltano import meltano
from tests.target_jumpcloud.target_io_helpers import (
    config_for,
    person,
    seed_user,
    singer_text,
    writes,
)

WORKERS = [
    person("p1", "Ada", "Lovelace"),
    person("p2", "Alan", "Turing", job_title="Cryptanalyst"),
    person("p3", "Grace", "Hopper", active=False),
]


def _target(config: dict[str, Any], tmp_path: Path, stdin: str | None) -> Any:
    """`target-jumpcloud --config target.json`, fed `stdin`, or `< /dev/null` for None."""
    path = tmp_path / "target.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, "-m", "target_jumpcloud", "--config", str(path)]
    if stdin is None:
        with Path("/dev/null").open(encoding="utf-8") as devnull:
            return subprocess.run(
                command, stdin=devnull, capture_output=True, text=True, timeout=120, check=False
            )
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=120, check=False
    )


def _plan(app, api_url: str, tmp_path: Path) -> dict[str, Any]:
    seed_user(app, "grace.hopper", "grace.hopper@acme.example", employeeIdentifier="p3")
    seed_user(app, "alan.turing", "alan.turing@acme.example", employeeIdentifier="p2")
    plan_path = tmp_path / "plan.json"
    config = config_for(api_url, dry_run=True, plan_path=str(plan_path))
    result = _target(config, tmp_path, singer_text(WORKERS))
    assert result.returncode == 0, result.stderr
    assert writes(app) == []
    return json.loads(plan_path.read_text(encoding="utf-8"))


def _outcomes(report: Path) -> dict[str, tuple[str, str | None]]:
    records = json.loads(report.read_text(encoding="utf-8"))["records"]
    return {r["deel_id"]: (r["outcome"], r["reason"]) for r in records}


def test_plan_then_edit_then_apply_through_the_cli(jumpcloud_emulator, jumpcloud_api_url, tmp_path):
    app = jumpcloud_emulator.app
    plan = _plan(app, jumpcloud_api_url, tmp_path)
    kinds = sorted(a["kind"] for a in plan["actions"])
    assert kinds == ["create", "suspend", "update"]

    (alan,) = app.find_users(employeeIdentifier="p2")
    edited = requests.put(  # someone edits him in JumpCloud
        f"{jumpcloud_api_url}/systemusers/{alan['_id']}",
        json={"jobTitle": "Codebreaker"},
        headers={"x-api-key": JUMPCLOUD_KEY},
        timeout=10,
    )
    assert edited.status_code == 200
    before = len(writes(app))

    report = tmp_path / "apply-report.json"
    config = config_for(
        jumpcloud_api_url,
        apply_plan=str(tmp_path / "plan.json"),
        apply_plan_id=plan["plan_id"],
        report_path=str(report),
    )
    result = _target(config, tmp_path, None)
    assert result.returncode == 0, result.stderr
    outcomes = _outcomes(report)
    assert outcomes["p1"][0] == "created"
    assert outcomes["p3"][0] == "suspended"
    assert outcomes["p2"][0] == "conflict"
    assert str(outcomes["p2"][1]).startswith("changed since the plan was made: jobTitle")
    assert len(writes(app)) - before == 2  # the create and the suspension, nothing else
    (alan,) = app.find_users(employeeIdentifier="p2")
    assert alan["jobTitle"] == "Codebreaker"  # the edit stands

    before = len(writes(app))
    again = _target(config, tmp_path, "")  # an empty standard input is fine too
    assert again.returncode == 0, again.stderr
    assert len(writes(app)) == before  # applied twice: the second writes nothing
    assert {o for o, _ in _outcomes(report).values()} <= {"unchanged", "conflict"}


@pytest.mark.parametrize("tamper", ["action", "pin"])
def test_a_tampered_or_unapproved_plan_is_refused_before_any_request(
    jumpcloud_emulator, jumpcloud_api_url, tmp_path, tamper
):
    app = jumpcloud_emulator.app
    plan = _plan(app, jumpcloud_api_url, tmp_path)
    path = tmp_path / "plan.json"
    pin = plan["plan_id"]
    if tamper == "action":
        plan["actions"][0]["reason"] = "edited by hand"
        path.write_text(json.dumps(plan), encoding="utf-8")
    else:
        pin = "0" * 64
    requests_before = len(app.requests())
    config = config_for(jumpcloud_api_url, apply_plan=str(path), apply_plan_id=pin)
    result = _target(config, tmp_path, None)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "Bad config:" in line]
    assert len(errors) == 1
    assert "apply_plan" in errors[0]
    assert len(app.requests()) == requests_before  # not even the key check
    assert "Traceback" not in result.stderr
    assert JUMPCLOUD_KEY not in result.stdout + result.stderr


def test_plan_path_and_apply_plan_together_is_a_config_error(jumpcloud_api_url, tmp_path):
    config = config_for(jumpcloud_api_url, plan_path="a.json", apply_plan="b.json")
    result = _target(config, tmp_path, "")
    assert result.returncode == 2
    assert "apply_plan: applies a reviewed plan and makes none" in result.stderr


@pytest.mark.meltano
def test_plan_then_apply_through_meltano(jumpcloud_emulator, env, tmp_path):
    app = jumpcloud_emulator.app
    plan_path = tmp_path / "plan.json"
    planned = meltano(
        "run",
        "deel-to-jumpcloud",
        env={
            **env,
            "TARGET_JUMPCLOUD_DRY_RUN": "true",
            "TARGET_JUMPCLOUD_PLAN_PATH": str(plan_path),
        },
    )
    assert planned.returncode == 0
    plan = json.loads(plan_path.read_text(encoding="utf-8"))
    creates = [a for a in plan["actions"] if a["kind"] == "create"]
    assert creates
    assert writes(app) == []
    # The job maps `manager` (docs/directory-attributes.md): everyone but the CEO waits for their
    # manager's create.
    waiting = [a for a in creates if "manager" in a]
    assert len(waiting) == len(creates) - 1
    assert {a["manager"]["after_deel_id"] for a in waiting} <= {a["deel_id"] for a in creates}

    applied = meltano(
        "invoke",
        "target-jumpcloud",
        env={
            **env,
            "TARGET_JUMPCLOUD_APPLY_PLAN": str(plan_path),
            "TARGET_JUMPCLOUD_APPLY_PLAN_ID": plan["plan_id"],
        },
    )
    assert applied.returncode == 0
    report = json.loads(Path(env["TARGET_JUMPCLOUD_REPORT_PATH"]).read_text(encoding="utf-8"))
    assert report["counts"]["created"] == len(creates)
    assert len(app.users()) == len(creates)
    linked = {u["_id"]: u["employeeIdentifier"] for u in app.users()}
    managers = {u["employeeIdentifier"]: linked.get(u.get("manager", "")) for u in app.users()}
    assert managers == {
        a["deel_id"]: a["manager"]["after_deel_id"] if "manager" in a else None for a in creates
    }
    assert {e.method for e in writes(app)} == {"POST"}  # managers first: no follow-up PUT
    page = Path(env["TARGET_JUMPCLOUD_REPORT_PATH"]).with_suffix(".html")
    assert page.exists()  # review_html is on in the dev environment
    assert 'data-count="created"' in page.read_text(encoding="utf-8")
