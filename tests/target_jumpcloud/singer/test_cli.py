"""The target as Meltano runs it: a subprocess, exit codes, stderr without tracebacks or keys."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest
from target_jumpcloud.engine import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_FAILED_RECORDS,
    EXIT_GUARD,
    EXIT_INPUT,
    EXIT_INTERRUPTED,
    EXIT_OK,
)

from tests.target_jumpcloud.target_io_helpers import (
    KEY,
    config_for,
    person,
    record_message,
    run_cli,
    seed_user,
    singer_text,
)

ADA = person("p1", "Ada", "Lovelace")
ALAN = person("p2", "Alan", "Turing")


def _clean(result: subprocess.CompletedProcess[str], *secrets: str) -> None:
    """No traceback and no secret anywhere in the output."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    for secret in (KEY, *secrets):
        assert secret not in output


def _errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ERROR" in line]


@pytest.fixture
def app(jumpcloud_emulator):
    return jumpcloud_emulator.app


def test_a_run_exits_0_emits_state_and_writes_the_report(app, jumpcloud_api_url, tmp_path):
    report = tmp_path / "report.json"
    config = config_for(jumpcloud_api_url, report_path=str(report))
    result = run_cli(config, singer_text([ADA, ALAN], state={"bookmarks": {"people": 1}}), tmp_path)
    assert result.returncode == EXIT_OK, result.stderr
    assert result.stdout == '{"bookmarks": {"people": 1}}\n'
    assert app.user_count == 2
    assert "Summary of 2 records: created 2" in result.stderr
    _clean(result)
    assert KEY not in report.read_text(encoding="utf-8")
    assert json.loads(report.read_text(encoding="utf-8"))["counts"]["created"] == 2


def test_the_key_can_come_from_the_environment(app, jumpcloud_api_url, tmp_path):
    env = {
        "TARGET_JUMPCLOUD_API_KEY": KEY,
        "TARGET_JUMPCLOUD_API_URL": jumpcloud_api_url,
        "TARGET_JUMPCLOUD_MAX_SUSPENSIONS": "10%",
        "TARGET_JUMPCLOUD_DRY_RUN": "true",
    }
    result = run_cli(None, singer_text([ADA]), tmp_path, env=env, args=["--config", "ENV"])
    assert result.returncode == EXIT_OK, result.stderr
    assert app.user_count == 0  # dry run
    assert "Dry run: nothing was written" in result.stderr
    assert result.stdout == ""
    _clean(result)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"max_suspensions": "lots"},
            (
                "Bad config: max_suspensions: expected an integer or a "
                "percentage like '20%', got 'lots'"
            ),
        ),
        (
            {"user_state_on_create": "SUSPENDED"},
            "Bad config: user_state_on_create: 'SUSPENDED' is not one of ['STAGED', 'ACTIVATED']",
        ),
        ({"api_url": "http://jumpcloud.example/api"}, "Bad config: api_url: HTTPS is required"),
        ({"mapping": {"email": None}}, "Bad config: mapping: email must have a source path"),
        ({"api_key": 424242424242}, "Bad config: api_key: expected a non-empty string"),
        ({"load_method": "overwrite"}, "Bad config: load_method: target-jumpcloud always creates"),
    ],
)
def test_bad_config_is_one_line_naming_the_setting(jumpcloud_api_url, tmp_path, settings, expected):
    config = {**config_for(jumpcloud_api_url), **settings}
    result = run_cli(config, singer_text([ADA]), tmp_path)
    assert result.returncode == EXIT_CONFIG
    (error,) = _errors(result)
    assert expected in error
    _clean(result, "424242424242")


def test_a_missing_key_is_a_config_error(jumpcloud_api_url, tmp_path):
    result = run_cli({"api_url": jumpcloud_api_url}, singer_text([ADA]), tmp_path)
    assert result.returncode == EXIT_CONFIG
    (error,) = _errors(result)
    assert "Bad config: api_key, client_id, client_secret: no credentials" in error
    _clean(result)


def test_a_rejected_key_exits_3_before_reading_the_input(app, jumpcloud_api_url, tmp_path):
    report = tmp_path / "report.json"
    config = config_for(jumpcloud_api_url, api_key="not-the-key-9f8e7d", report_path=str(report))
    result = run_cli(config, "this is not even JSON\n", tmp_path)
    assert result.returncode == EXIT_AUTH
    (error,) = _errors(result)
    assert "JumpCloud rejected the API key (HTTP 401" in error
    assert "`api_key`" in error
    _clean(result, "not-the-key-9f8e7d")
    assert len(app.requests()) == 1
    text = report.read_text(encoding="utf-8")
    assert "not-the-key-9f8e7d" not in text
    data = json.loads(text)
    assert (data["status"], data["applied"], data["records"]) == ("aborted", False, [])
    assert "JumpCloud rejected the API key" in data["message"]


def test_a_tripped_guard_exits_4_and_writes_nothing(app, jumpcloud_api_url, tmp_path):
    for i in range(2):
        seed_user(app, f"u{i}", f"u{i}@acme.example", employeeIdentifier=f"g{i}")
    leavers = [
        person(f"g{i}", "U", str(i), email=f"u{i}@acme.example", active=False) for i in range(2)
    ]
    result = run_cli(
        config_for(jumpcloud_api_url, max_suspensions=1),
        singer_text(leavers, state={"b": 1}),
        tmp_path,
    )
    assert result.returncode == EXIT_GUARD
    errors = _errors(result)
    assert any(
        "suspends 2 users, more than the limit of 1 set by max_suspensions" in line
        for line in errors
    )
    assert [u["state"] for u in app.users()] == ["ACTIVATED", "ACTIVATED"]
    assert not [e for e in app.requests() if e.method in {"POST", "PUT"}]
    assert result.stdout == ""
    _clean(result)


def test_a_failed_record_exits_1_after_the_others_were_applied(app, jumpcloud_api_url, tmp_path):
    user = seed_user(app, "ada", "ada.lovelace@acme.example", employeeIdentifier="p1")
    # JumpCloud refuses this PUT for good; the backoff knob shrinks its 2-minute retry budget.
    app.faults.script(
        "429_retry_after", method="PUT", path=f"/api/systemusers/{user['_id']}", count=10_000
    )
    result = run_cli(
        config_for(jumpcloud_api_url),
        singer_text([ADA, ALAN], state={"b": 1}),
        tmp_path,
        env={"TARGET_JUMPCLOUD_BACKOFF_SCALE": "0.001"},
    )
    assert result.returncode == EXIT_FAILED_RECORDS
    assert app.find_users(employeeIdentifier="p2")
    assert "failed (first" not in result.stderr
    assert "HTTP 429" in result.stderr
    assert any("1 record(s) failed" in line for line in _errors(result))
    assert result.stdout == ""
    _clean(result)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (singer_text([ADA]) + "{broken\n", "input line 3: not valid JSON"),
        (
            json.dumps(record_message(ADA)) + "\n",
            "input line 1: a RECORD for stream 'people' came before that stream's SCHEMA",
        ),
    ],
)
def test_a_broken_input_stream_exits_5_naming_the_line(
    app, jumpcloud_api_url, tmp_path, text, expected
):
    result = run_cli(config_for(jumpcloud_api_url), text, tmp_path)
    assert result.returncode == EXIT_INPUT
    (error,) = _errors(result)
    assert expected in error
    assert "Lovelace" not in result.stderr
    assert app.user_count == 0
    _clean(result)


def test_about_lists_every_setting(tmp_path):
    result = run_cli(None, "", tmp_path, args=["--about", "--format=markdown"])
    assert result.returncode == 0
    for setting in (
        "api_key",
        "api_url",
        "org_id",
        "worker_stream",
        "mapping",
        "user_state_on_create",
        "reactivate_suspended_users",
        "max_suspensions",
        "dry_run",
        "report_path",
        "validate_records",
    ):
        assert f"| {setting} |" in result.stdout
    for dropped in ("load_method", "batch_size_rows", "add_record_metadata"):
        assert dropped not in result.stdout
    assert "https://console.eu.jumpcloud.com/api" in result.stdout
    assert "https://console.in.jumpcloud.com/api" in result.stdout


def test_a_termination_signal_writes_nothing_and_exits_non_zero(app, jumpcloud_api_url, tmp_path):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config_for(jumpcloud_api_url)), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TARGET_JUMPCLOUD_")}
    with subprocess.Popen(
        [sys.executable, "-m", "target_jumpcloud", "--config", str(config_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    ) as process:
        assert process.stdin is not None
        assert process.stderr is not None
        process.stdin.write(singer_text([ADA], state={"b": 1}))
        process.stdin.flush()  # the input stays open: the target waits for more
        seen = []
        for line in process.stderr:
            seen.append(line)
            if "worker records read" in line or "accepted the API key" in line:
                break
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    assert process.returncode == EXIT_INTERRUPTED
    assert out == ""
    assert "Received signal 15" in err
    assert "Traceback" not in "".join(seen) + err
    assert app.user_count == 0
