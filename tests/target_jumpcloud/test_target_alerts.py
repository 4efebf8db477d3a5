"""Alerts and metrics of whole runs: the target's CLI against the JumpCloud emulator.

A real loopback HTTP server stands in for a Slack/JSON webhook (Apprise's `json://`): a
problem run sends exactly one message, a clean run after it one recovery, clean after clean
nothing; a guard trip, a refused key, a failed record and a bad config each one message; a
webhook that answers 500 or too slowly never changes the exit code. The metrics file is read
back with prometheus_client's parser and checked value by value, its request counts against
the emulator's own request log. The runs go through `TargetJumpCloud.run_cli`, the CLI's
own entry (in-process, so a test can shorten the send timeout); one runs as a subprocess to
scan every byte the CLI prints and writes for the notification URL.
"""

from __future__ import annotations

import io
import json
import logging
import time
from collections import Counter
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.engine import EXIT_AUTH, EXIT_CONFIG, EXIT_FAILED_RECORDS, EXIT_GUARD, EXIT_OK
from target_jumpcloud.model import Outcome
from target_jumpcloud.output import notify
from target_jumpcloud.output.hints import hint_for, hint_rule
from target_jumpcloud.target import TargetJumpCloud

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.emulators.notify_receiver import NotifyReceiver
from tests.target_jumpcloud.output.test_metrics import samples
from tests.target_jumpcloud.target_io_helpers import (
    KEY,
    config_for,
    person,
    run_cli,
    seed_user,
    singer_text,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

HOOK_TOKEN = "it-alerts-hook-token-7f3a9c"  # the secret part of the webhook URL
STATE: dict[str, Any] = {"bookmarks": {"people": {}}}
ADA = person("p1", "Ada", "Lovelace")
ALAN = person("p2", "Alan", "Turing")
GRACE = person("p3", "Grace", "Hopper", email="grace@acme.example")
CLIENT_ID = "svc-target-jumpcloud"
SECRET = "svc-secret-c0ffee-91f2"


@pytest.fixture
def receiver() -> Iterator[EmulatorServer[NotifyReceiver]]:
    with EmulatorServer(NotifyReceiver()) as server:
        yield server


@pytest.fixture
def app(jumpcloud_emulator: EmulatorServer[JumpCloudEmulator]) -> JumpCloudEmulator:
    return jumpcloud_emulator.app


def hook_url(receiver: EmulatorServer[NotifyReceiver]) -> str:
    return f"json://127.0.0.1:{receiver.port}/hooks/{HOOK_TOKEN}"


def alert_config(
    api_url: str, receiver: EmulatorServer[NotifyReceiver], tmp_path: Path, **settings: Any
) -> dict[str, Any]:
    return config_for(
        api_url,
        notify=[hook_url(receiver)],
        notify_state_path=str(tmp_path / "state" / "notify.json"),
        metrics_path=str(tmp_path / "metrics" / "target-jumpcloud.prom"),
        report_path=str(tmp_path / "report.json"),
        **settings,
    )


def run(config: dict[str, Any], people: list[dict[str, Any]]) -> int:
    """One run through the CLI's entry, the worker stream on its input."""
    text = singer_text(people, state=STATE)
    return TargetJumpCloud.run_cli(config=config, parse_env=False, file_input=io.StringIO(text))


def metric(tmp_path: Path, name: str, **labels: str) -> float:
    got = samples(tmp_path / "metrics" / "target-jumpcloud.prom")
    return got[(name, tuple(sorted(labels.items())))]


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_problem_run_sends_one_message_then_one_recovery_then_nothing(
    app, jumpcloud_api_url, receiver, tmp_path
):
    seed_user(app, "grace", "grace@acme.example", employeeIdentifier="p9")  # Grace's email, taken
    config = alert_config(jumpcloud_api_url, receiver, tmp_path)
    assert run(config, [ADA, GRACE]) == EXIT_OK  # a conflict: exit 0, but a person must look
    (message,) = receiver.app.messages()
    assert message["type"] == "failure"
    assert message["title"] == "target-jumpcloud: completed with conflicts (exit 0)"
    body = message["message"]
    assert "created 1" in body
    assert "conflict 1" in body
    assert "- conflict: #2 deel_id=p3 email=grace@acme.example: work email is held by" in body
    assert "what to do: find which worker owns the work email" in body
    state = json.loads((tmp_path / "state" / "notify.json").read_text(encoding="utf-8"))
    assert state["status"] == "problem"

    assert run(config, [ADA]) == EXIT_OK  # Grace left the stream: clean
    messages = receiver.app.messages()
    assert len(messages) == 2
    assert messages[1]["type"] == "success"
    assert messages[1]["title"] == "target-jumpcloud: recovered (completed)"
    assert "previous run ended as completed_with_conflicts" in messages[1]["message"]

    assert run(config, [ADA]) == EXIT_OK  # clean after clean: silence
    assert len(receiver.app.messages()) == 2
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["counts"]["unchanged"] == 1


def test_a_guard_trip_sends_exactly_one_message(app, jumpcloud_api_url, receiver, tmp_path):
    for pid, name in (("p1", "ada"), ("p2", "alan")):
        seed_user(app, name, f"{name}@acme.example", employeeIdentifier=pid)
    leavers = [{**ADA, "active": False}, {**ALAN, "active": False}]
    config = alert_config(jumpcloud_api_url, receiver, tmp_path, max_suspensions=1)
    assert run(config, leavers) == EXIT_GUARD
    (message,) = receiver.app.messages()
    assert message["title"] == "target-jumpcloud: guard tripped (exit 4)"
    assert "suspends 2 users, more than the limit of 1 set by max_suspensions" in message["message"]
    assert metric(tmp_path, "target_jumpcloud_guard_tripped") == 1
    assert metric(tmp_path, "target_jumpcloud_records", outcome="suspended") == 2
    assert metric(tmp_path, "target_jumpcloud_exit_code") == EXIT_GUARD
    assert metric(tmp_path, "target_jumpcloud_last_success_timestamp_seconds") == 0
    assert not [e for e in app.requests() if e.method in {"POST", "PUT"}]


def test_a_refused_key_sends_exactly_one_message(app, jumpcloud_api_url, receiver, tmp_path):
    app.set_api_key("a-new-key-nobody-was-given")
    config = alert_config(jumpcloud_api_url, receiver, tmp_path)
    assert run(config, [ADA]) == EXIT_AUTH
    (message,) = receiver.app.messages()
    assert message["title"] == "target-jumpcloud: bad key (exit 3)"
    assert "JumpCloud rejected the API key (HTTP 401" in message["message"]
    assert KEY not in message["message"]
    sent = len(app.requests())
    assert sent >= 1
    assert metric(tmp_path, "target_jumpcloud_requests", api="v1", method="GET") == sent
    for outcome in ("created", "failed"):
        assert metric(tmp_path, "target_jumpcloud_records", outcome=outcome) == 0


def test_a_bad_config_found_before_the_target_exists_sends_exactly_one_message(
    jumpcloud_api_url, receiver, tmp_path
):
    config = alert_config(jumpcloud_api_url, receiver, tmp_path, max_suspensions="lots")
    assert run(config, [ADA]) == EXIT_CONFIG
    (message,) = receiver.app.messages()
    assert message["title"] == "target-jumpcloud: bad config (exit 2)"
    assert "Bad config: max_suspensions: expected an integer or a percentage" in message["message"]
    assert metric(tmp_path, "target_jumpcloud_exit_code") == EXIT_CONFIG
    assert "target_jumpcloud_requests" not in {
        name for name, _ in samples(tmp_path / "metrics" / "target-jumpcloud.prom")
    }


def test_a_failed_record_sends_one_message_and_the_last_success_is_kept(
    app, jumpcloud_api_url, receiver, tmp_path, monkeypatch
):
    config = alert_config(jumpcloud_api_url, receiver, tmp_path)
    assert run(config, [ADA]) == EXIT_OK  # a clean first run: no message, a success
    assert receiver.app.messages() == []
    succeeded_at = metric(tmp_path, "target_jumpcloud_last_success_timestamp_seconds")
    assert succeeded_at == metric(tmp_path, "target_jumpcloud_last_run_timestamp_seconds")

    (ada,) = app.find_users(employeeIdentifier="p1")
    # JumpCloud rate-limits the PUT for longer than the request's retry budget, which the
    # test knob shrinks to a few milliseconds (at least 6 attempts are still made).
    monkeypatch.setenv("TARGET_JUMPCLOUD_BACKOFF_SCALE", "0.0001")
    path = f"/api/systemusers/{ada['_id']}"
    app.faults.script("429_retry_after", method="PUT", path=path, count=10_000, seconds=0)
    app.reset_log()
    assert run(config, [{**ADA, "job_title": "Countess"}, ALAN]) == EXIT_FAILED_RECORDS
    (message,) = receiver.app.messages()
    assert message["title"] == "target-jumpcloud: failed records (exit 1)"
    assert "- failed: #1 deel_id=p1" in message["message"]
    assert "what to do: " in message["message"]
    assert metric(tmp_path, "target_jumpcloud_last_success_timestamp_seconds") == succeeded_at
    assert metric(tmp_path, "target_jumpcloud_last_run_timestamp_seconds") > succeeded_at
    assert metric(tmp_path, "target_jumpcloud_records", outcome="failed") == 1
    assert metric(tmp_path, "target_jumpcloud_records", outcome="created") == 1
    logged = Counter(e.method for e in app.requests())
    for method, count in logged.items():
        assert metric(tmp_path, "target_jumpcloud_requests", api="v1", method=method) == count
    assert logged["PUT"] >= 6
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    (failed,) = [r for r in report["records"] if r["outcome"] == "failed"]
    assert failed["hint"] in message["message"]
    assert "HTTP 429" in failed["reason"]
    assert failed["hint"] == hint_for(Outcome.FAILED, failed["reason"])
    assert failed["hint"].startswith("nothing to fix in the data: JumpCloud was rate limiting")
    for record in report["records"]:
        if record["outcome"] in {"failed", "conflict", "skipped"}:
            rule = hint_rule(Outcome(record["outcome"]), record["reason"])
            assert rule is not None
            assert rule.pattern.pattern, f"{record['reason']!r} fell to the catch-all hint"


@pytest.fixture(params=["500", "slow"])
def failing_receiver(
    request: pytest.FixtureRequest,
    receiver: EmulatorServer[NotifyReceiver],
    monkeypatch: pytest.MonkeyPatch,
) -> EmulatorServer[NotifyReceiver]:
    """A webhook that answers 500, or answers after 2 s while the target waits 0.3 s."""
    if request.param == "500":
        receiver.app.faults.script("500", method="POST", count=10)
    else:
        receiver.app.latency = 2.0
        monkeypatch.setattr(notify, "SEND_TIMEOUT", 0.3)
    return receiver


def test_a_webhook_that_fails_or_is_too_slow_never_fails_the_sync(
    app, jumpcloud_api_url, failing_receiver, tmp_path, caplog
):
    receiver = failing_receiver
    seed_user(app, "grace", "grace@acme.example", employeeIdentifier="p9")
    config = alert_config(jumpcloud_api_url, receiver, tmp_path)
    with caplog.at_level(logging.DEBUG):
        assert run(config, [ADA, GRACE]) == EXIT_OK
    # It was sent (a slow answer is logged by the receiver when it ends, after the run).
    deadline = time.monotonic() + 10
    while not receiver.app.requests("POST") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert receiver.app.requests("POST")
    (warning,) = [w for w in warnings_of(caplog) if "Could not send the notification" in w]
    assert "notify URL #1 (json://…)" in warning
    assert "the run's outcome is unchanged" in warning
    assert HOOK_TOKEN not in caplog.text
    assert json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["counts"]["created"]


def test_requests_by_api_and_method_equal_the_emulators_log(receiver, tmp_path):
    app = JumpCloudEmulator(api_key="key-nobody-has", service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as server:
        config = {
            "api_url": f"{server.url}/api",
            "client_id": CLIENT_ID,
            "client_secret": SECRET,
            "token_url": f"{server.url}{TOKEN_PATH}",
            "metrics_path": str(tmp_path / "metrics" / "target-jumpcloud.prom"),
            "effective_dating": True,  # reads the V2 scheduled user states too
        }
        assert run(config, [ADA, ALAN]) == EXIT_OK
        logged = app.requests()
    api_of = {"/api/v2": "v2", TOKEN_PATH: "oauth"}
    expected: Counter[tuple[str, str]] = Counter()
    for entry in logged:
        api = next((name for prefix, name in api_of.items() if entry.path.startswith(prefix)), "v1")
        expected[(api, entry.method)] += 1
    assert {api for api, _ in expected} == {"v1", "v2", "oauth"}
    got = samples(tmp_path / "metrics" / "target-jumpcloud.prom")
    requests = {
        tuple(value for _, value in labels): count
        for (name, labels), count in got.items()
        if name == "target_jumpcloud_requests"
    }
    assert requests == dict(expected)


def test_a_metrics_file_that_cannot_be_written_leaves_the_exit_code_alone(
    jumpcloud_api_url, receiver, tmp_path, caplog
):
    blocked = tmp_path / "metrics"
    blocked.mkdir()
    (blocked / "target-jumpcloud.prom").mkdir()  # a folder where the file should go
    config = alert_config(jumpcloud_api_url, receiver, tmp_path)
    assert run(config, [ADA]) == EXIT_OK
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any(e.startswith("Could not write the metrics file") for e in errors), errors


def test_the_url_is_in_no_log_report_plan_page_or_metrics_file(
    app, jumpcloud_api_url, receiver, tmp_path
):
    seed_user(app, "grace", "grace@acme.example", employeeIdentifier="p9")
    settings = {
        "report_path": str(tmp_path / "out" / "report.json"),
        "review_html": True,
        "plan_path": str(tmp_path / "out" / "plan.json"),
        "metrics_path": str(tmp_path / "out" / "target-jumpcloud.prom"),
        "notify_state_path": str(tmp_path / "out" / "notify.json"),
        "dry_run": True,
    }
    (tmp_path / "config.json").write_text(json.dumps(config_for(jumpcloud_api_url, **settings)))
    url = hook_url(receiver)
    result = run_cli(
        None,
        singer_text([ADA, GRACE], state=STATE),
        tmp_path,
        # DEBUG: urllib3 then logs each request's path, which holds the webhook's token.
        env={"TARGET_JUMPCLOUD_NOTIFY": json.dumps([url]), "LOGLEVEL": "DEBUG"},
        args=["--config", str(tmp_path / "config.json"), "--config", "ENV"],
    )
    assert result.returncode == EXIT_OK, result.stderr
    (message,) = receiver.app.messages()  # a dry run with a conflict is announced
    assert "Dry run: nothing was written." in message["message"]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == [
        "notify.json",
        "plan.json",
        "report.html",
        "report.json",
        "target-jumpcloud.prom",
    ]
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    texts |= {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / "out").iterdir()}
    assert not [name for name, text in texts.items() if HOOK_TOKEN in text]
    assert "Traceback" not in result.stderr
    assert "Metrics written to" in result.stderr
    assert "DEBUG" in result.stderr


def test_a_bad_notify_url_is_one_bad_config_line_that_never_shows_it(jumpcloud_api_url, tmp_path):
    secret = "slak://T0000AAAA/B0000BBBB/abcdefghijklmnopqrstuvwx"
    result = run_cli(config_for(jumpcloud_api_url, notify=[secret]), "", tmp_path)
    assert result.returncode == EXIT_CONFIG
    (line,) = [line for line in result.stderr.splitlines() if "Bad config:" in line]
    assert "notify: URL #1 is a slak:// URL that Apprise cannot use" in line
    assert "abcdefghijklmnopqrstuvwx" not in result.stdout + result.stderr
