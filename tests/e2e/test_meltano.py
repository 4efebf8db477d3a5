"""Every documented way to run the pair, end to end, through the real CLIs and Meltano.

The emulators listen on ephemeral loopback ports; environment variables point the `dev`
environment's plugins at them (Meltano gives the environment precedence over meltano.yml), and
each test gets its own Meltano system database, report and output folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

from tests.conftest import DEEL_TOKEN, JUMPCLOUD_KEY
from tests.emulators.workforce import work_email_of
from tests.tap_deel.tap_helpers import ALL_STREAMS

if TYPE_CHECKING:
    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

pytestmark = pytest.mark.meltano

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WORKERS = 60


def meltano_executable() -> str:
    """The meltano CLI `make test` installed (its own virtualenv), else one on PATH."""
    local = ROOT / ".venv-meltano" / "bin" / "meltano"
    found = str(local) if local.exists() else shutil.which("meltano")
    if found is None:
        pytest.fail("meltano is not installed: run the tests through `make test`")
    return found


def meltano(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run a meltano command in the project and fail with its output when it fails."""
    result = subprocess.run(
        [meltano_executable(), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def report(env: dict[str, str]) -> dict[str, Any]:
    return json.loads(Path(env["TARGET_JUMPCLOUD_REPORT_PATH"]).read_text())


def expected_usernames_count(deel: EmulatorServer[DeelEmulator]) -> int:
    """Users the first sync must create: one per work email held by exactly one active worker."""
    people = deel.app.people
    emails = [(work_email_of(p) or "").lower() for p in people]
    by_email: dict[str, list[dict[str, Any]]] = {}
    for person, email in zip(people, emails, strict=True):
        if email:
            by_email.setdefault(email, []).append(person)
    return sum(
        1
        for group in by_email.values()
        if sum(p["hiring_status"] in DEFAULT_ACTIVE_HIRING_STATUSES for p in group) == 1
    )


def test_job_creates_the_directory_then_a_second_run_writes_nothing(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    meltano("run", "deel-to-jumpcloud", env=env)
    jc = jumpcloud_emulator.app
    assert jc.user_count == expected_usernames_count(deel) > 0
    assert report(env)["counts"]["created"] == jc.user_count
    assert {u["state"] for u in jc.users()} == {"STAGED"}
    # Only the selected worker stream was extracted: one request per page of people.
    assert {e.path for e in deel.app.requests()} == {"/rest/v2/people"}

    writes = jc.write_count
    meltano("run", "deel-to-jumpcloud", env=env)
    assert jc.write_count == writes
    assert report(env)["counts"]["unchanged"] == jc.user_count


def test_nightly_schedule_runs_the_job(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    listed = meltano("schedule", "list", "--format=json", env=env)
    schedules = json.loads(listed.stdout)
    nightly = next(
        s for s in schedules["schedules"]["job"] if s["name"] == "nightly-deel-to-jumpcloud"
    )
    assert nightly["job"]["name"] == "deel-to-jumpcloud"
    meltano("schedule", "run", "nightly-deel-to-jumpcloud", env=env)
    assert jumpcloud_emulator.app.user_count == expected_usernames_count(deel)


def test_dry_run_through_meltano_writes_nothing(
    env: dict[str, str],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    meltano("run", "deel-to-jumpcloud", env={**env, "TARGET_JUMPCLOUD_DRY_RUN": "true"})
    assert jumpcloud_emulator.app.write_count == 0
    dry = report(env)
    assert dry["dry_run"] is True
    assert dry["counts"]["created"] > 0  # what a real run would have done


def test_tap_feeds_an_ordinary_singer_target(
    env: dict[str, str],
    tmp_path: Path,
    deel: EmulatorServer[DeelEmulator],
) -> None:
    meltano("run", "tap-deel", "target-jsonl", env={**env, "TAP_DEEL__SELECT": '["*.*"]'})
    out = tmp_path / "jsonl"
    people = [json.loads(line) for line in (out / "people.jsonl").read_text().splitlines()]
    assert sorted(p["id"] for p in people) == sorted(p["id"] for p in deel.app.people)
    assert all({"work_email", "active", "team"} <= set(p) for p in people)
    for stream in ALL_STREAMS:
        assert (out / f"{stream}.jsonl").read_text().strip(), f"no {stream} records"


def test_target_syncs_another_hr_systems_csv_export_through_mapping(
    env: dict[str, str],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    meltano("run", "csv-to-jumpcloud", env=env)
    users = {u["employeeIdentifier"]: u for u in jumpcloud_emulator.app.users()}
    assert sorted(users) == ["HR-1001", "HR-1002", "HR-1003"]  # 1004 inactive, 1005 no email
    assert users["HR-1002"]["username"] == "emile.zola"
    assert users["HR-1002"]["location"] == "Paris"
    outcomes = {r["deel_id"]: r["outcome"] for r in report(env)["records"]}
    assert outcomes == {
        "HR-1001": "created",
        "HR-1002": "created",
        "HR-1003": "created",
        "HR-1004": "skipped",
        "HR-1005": "skipped",
    }


def pipe(tap_args: list[str], target_args: list[str], env: dict[str, str]) -> int:
    """`tap-deel ARGS | target-jumpcloud ARGS` as an administrator types it."""
    with subprocess.Popen(
        [str(BIN / "tap-deel"), *tap_args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    ) as tap:
        target = subprocess.run(
            [str(BIN / "target-jumpcloud"), *target_args],
            stdin=tap.stdout,
            capture_output=True,
            env=env,
            timeout=300,
            check=False,
        )
        assert tap.wait(timeout=60) == 0
    return target.returncode


def test_manual_pipe_with_config_files(
    tmp_path: Path,
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    tap_config = tmp_path / "tap.json"
    tap_config.write_text(json.dumps({"api_token": DEEL_TOKEN, "api_url": f"{deel.url}/rest/v2"}))
    target_config = tmp_path / "target.json"
    target_config.write_text(
        json.dumps(
            {
                "api_key": JUMPCLOUD_KEY,
                "api_url": f"{jumpcloud_emulator.url}/api",
                "user_state_on_create": "ACTIVATED",
                "report_path": str(tmp_path / "report.json"),
            }
        )
    )
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TAP_DEEL_", "TARGET_JUMPCLOUD_"))
    }
    code = pipe(["--config", str(tap_config)], ["--config", str(target_config)], clean)
    assert code == 0
    users = jumpcloud_emulator.app.users()
    assert len(users) == expected_usernames_count(deel)
    assert {u["state"] for u in users} == {"ACTIVATED"}


def test_manual_pipe_with_config_from_the_environment(
    env: dict[str, str],
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> None:
    code = pipe(["--config", "ENV"], ["--config", "ENV"], env)
    assert code == 0
    assert jumpcloud_emulator.app.user_count == expected_usernames_count(deel)
    assert report(env)["counts"]["created"] == jumpcloud_emulator.app.user_count
