"""The target with a JumpCloud service account, as Meltano runs it (a subprocess, over loopback).

A whole sync; tokens that JumpCloud stops taking after the directory load and between writes
(no write lost or repeated, exactly one new grant); a service account revoked between runs; a
flaky and a dead token endpoint; `org_id`; config errors. Every run's output and report are
scanned for the client secret, its Basic form and every token the emulator granted.
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.engine import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_FAILED_RECORDS,
    EXIT_OK,
    EXIT_UNAVAILABLE,
)
from target_jumpcloud.jumpcloud.retries import MIN_ATTEMPTS
from target_jumpcloud.settings.credentials import basic_authorization

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.reliability.harness import HookedJumpCloud
from tests.target_jumpcloud.target_io_helpers import make_target, person, run_cli, singer_text

if TYPE_CHECKING:
    import subprocess
    from collections.abc import Iterator
    from pathlib import Path

    from tests.emulators.base import Request, Response

CLIENT_ID = "svc-target-jumpcloud"
SECRET = "svc-secret-c0ffee-91f2"
BASIC = basic_authorization(CLIENT_ID, SECRET).removeprefix("Basic ")
ORG = "5f1e0c0ffee0c0ffee0000aa"
QUICK = {"TARGET_JUMPCLOUD_BACKOFF_SCALE": "0.001"}  # computed backoff in milliseconds
STATE: dict[str, Any] = {"bookmarks": {"people": {}}}


@pytest.fixture
def server() -> Iterator[EmulatorServer[HookedJumpCloud]]:
    # The emulator's own API key is not in any config below: only the Bearer token works.
    app = HookedJumpCloud(api_key="key-nobody-has", service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        yield running


def sa_config(server: EmulatorServer[Any], tmp_path: Path, **settings: Any) -> dict[str, Any]:
    return {
        "api_url": f"{server.url}/api",
        "client_id": CLIENT_ID,
        "client_secret": SECRET,
        "token_url": f"{server.url}{TOKEN_PATH}",
        "report_path": str(tmp_path / "report.json"),
        **settings,
    }


def report(tmp_path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    return loaded


def assert_no_secret(result: subprocess.CompletedProcess[str], app: Any, tmp_path: Path) -> None:
    """Neither the secret, its Basic form nor any granted token in the output or any file."""
    texts = {"stdout": result.stdout, "stderr": result.stderr}
    for path in tmp_path.rglob("*"):
        if path.is_file() and path.name != "config.json":  # (the config holds the secret)
            texts[path.name] = path.read_text(encoding="utf-8", errors="replace")
    secrets = [SECRET, BASIC, *app.oauth.issued_tokens()]
    leaked = [(name, s) for name, text in texts.items() for s in secrets if s in text]
    assert not leaked
    assert "Traceback" not in result.stderr


def errors(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if "ERROR" in line]


def workforce(count: int, *, title: str = "Engineer") -> list[dict[str, Any]]:
    return [
        person(
            f"p{i:04d}", "Ada", f"Worker{i:04d}", email=f"w{i:04d}@acme.example", job_title=title
        )
        for i in range(count)
    ]


def synced(server: EmulatorServer[HookedJumpCloud], people: list[dict[str, Any]]) -> None:
    """Bring JumpCloud in line with `people` first (an in-process run with the API key)."""
    target = make_target(f"{server.url}/api", api_key="key-nobody-has")
    target.listen(io.StringIO(singer_text(people, state=STATE)))
    assert server.app.user_count == len(people)
    server.app.reset_log()


@pytest.fixture
def app(server: EmulatorServer[HookedJumpCloud]) -> HookedJumpCloud:
    return server.app


# -- a whole sync ---------------------------------------------------------------------------------


def test_a_whole_sync_with_a_service_account(app, server, tmp_path) -> None:
    people = workforce(5)
    leaver = person("p9999", "Lea", "Ver", email="leaver@acme.example", active=False)
    app.add_user(username="lea.ver", email="leaver@acme.example", employeeIdentifier="p9999")
    result = run_cli(
        sa_config(server, tmp_path), singer_text([*people, leaver], state=STATE), tmp_path
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert json.loads(result.stdout) == STATE
    assert "JumpCloud accepted the service account" in result.stderr
    counts = report(tmp_path)["counts"]
    assert (counts["created"], counts["suspended"]) == (5, 1)
    assert app.oauth.grants == 1
    assert {e.status for e in app.requests() if e.path != TOKEN_PATH} == {200}
    assert_no_secret(result, app, tmp_path)


def test_the_service_account_comes_from_the_environment(app, server, tmp_path) -> None:
    config = sa_config(server, tmp_path)
    env = {
        "TARGET_JUMPCLOUD_CLIENT_ID": config.pop("client_id"),
        "TARGET_JUMPCLOUD_CLIENT_SECRET": config.pop("client_secret"),
        "TARGET_JUMPCLOUD_TOKEN_URL": config.pop("token_url"),
    }
    (tmp_path / "config.json").write_text(json.dumps(config), encoding="utf-8")
    result = run_cli(
        None,
        singer_text(workforce(2), state=STATE),
        tmp_path,
        env=env,
        args=["--config", str(tmp_path / "config.json"), "--config", "ENV"],
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert app.user_count == 2
    assert app.oauth.grants == 1
    assert_no_secret(result, app, tmp_path)


# -- tokens that stop working mid-run -----------------------------------------------------------


def _count_then(app: HookedJumpCloud, matches: Any, after: int) -> None:
    """Expire every token once `after` answers that `matches` have been served."""
    seen = [0]
    lock = threading.Lock()

    def hook(request: Request, response: Response | None) -> None:
        if response is not None and response.status == 200 and matches(request):
            with lock:
                seen[0] += 1
                if seen[0] == after:
                    app.oauth.expire_all()

    app.hook = hook


def _is_page(request: Request) -> bool:
    return request.path == "/api/systemusers" and request.method == "GET"


def _is_write(request: Request) -> bool:
    return request.method in {"POST", "PUT"} and request.path.startswith("/api/systemusers")


def _writes_by_user(app: HookedJumpCloud) -> dict[str, int]:
    """Successful writes per user path (a create counts under its POST)."""
    found: dict[str, int] = {}
    for entry in app.requests():
        if entry.status == 200 and entry.method == "PUT":
            found[entry.path] = found.get(entry.path, 0) + 1
    return found


@pytest.mark.parametrize(
    "expiry",
    [
        pytest.param((_is_page, 3), id="after the directory load"),
        pytest.param((_is_write, 7), id="between writes"),
    ],
)
def test_tokens_expiring_mid_run_cost_one_grant_and_lose_or_repeat_no_write(
    app, server, tmp_path, expiry
) -> None:
    matches, after = expiry
    people = workforce(250)
    synced(server, people)
    changed = [
        {**p, "job_title": "Principal Engineer"} if i % 10 == 0 else p for i, p in enumerate(people)
    ]
    hires = workforce(270)[250:]
    _count_then(app, matches, after)
    result = run_cli(
        sa_config(server, tmp_path), singer_text([*changed, *hires], state=STATE), tmp_path
    )
    assert result.returncode == EXIT_OK, result.stderr
    counts = report(tmp_path)["counts"]
    assert (counts["updated"], counts["created"], counts["failed"]) == (25, 20, 0)
    assert app.writes == {"update": 25, "create": 20}  # each stored exactly once
    assert set(_writes_by_user(app).values()) == {1}
    assert len(_writes_by_user(app)) == 25
    refused = [e for e in app.requests() if e.status == 401]
    assert refused, "the tokens were never refused: the test proves nothing"
    assert app.oauth.grants == 2  # the run's token, and exactly one renewal
    assert app.user_count == 270
    assert sorted(u["jobTitle"] for u in app.users()).count("Principal Engineer") == 25
    assert_no_secret(result, app, tmp_path)


def test_a_token_endpoint_lost_mid_run_fails_the_rest_and_the_next_run_applies_them(
    app, server, tmp_path
) -> None:
    people = workforce(120)
    synced(server, people)
    changed = [{**p, "job_title": "Staff Engineer"} for p in people[:12]] + people[12:]

    def expire_and_break(request: Request, response: Response | None) -> None:
        if _is_page(request) and request.query.get("skip") == ["100"]:
            app.oauth.expire_all()
            app.faults.script("503", method="POST", path=TOKEN_PATH, count=1000)

    app.hook = expire_and_break
    first = run_cli(
        sa_config(server, tmp_path), singer_text(changed, state=STATE), tmp_path, env=QUICK
    )
    assert first.returncode == EXIT_FAILED_RECORDS, first.stderr
    failed = [r for r in report(tmp_path)["records"] if r["outcome"] == "failed"]
    assert len(failed) == 12
    assert all("Could not get an access token" in r["reason"] for r in failed)
    assert app.writes == {}
    # One grant, then one request's retries (at least six attempts, for its time budget), once.
    gave_up = re.search(r"gave up after (\d+) attempts in ", failed[0]["reason"])
    assert gave_up is not None, failed[0]["reason"]
    assert int(gave_up[1]) >= MIN_ATTEMPTS
    assert len(app.requests("POST", TOKEN_PATH)) == 1 + int(gave_up[1])
    assert first.stdout == ""  # no STATE: the next run retries them
    assert_no_secret(first, app, tmp_path)
    app.hook = None
    app.faults.clear()
    again = run_cli(sa_config(server, tmp_path), singer_text(changed, state=STATE), tmp_path)
    assert again.returncode == EXIT_OK, again.stderr
    assert app.writes == {"update": 12}


# -- refused and unavailable token endpoints -------------------------------------------------------


def test_a_service_account_revoked_between_runs_exits_3_and_writes_nothing(
    app, server, tmp_path
) -> None:
    people = workforce(4)
    first = run_cli(sa_config(server, tmp_path), singer_text(people, state=STATE), tmp_path)
    assert first.returncode == EXIT_OK, first.stderr
    app.oauth.revoke_client(CLIENT_ID)
    app.reset_log()
    changed = [{**p, "job_title": "Director"} for p in people]
    second = run_cli(sa_config(server, tmp_path), singer_text(changed, state=STATE), tmp_path)
    assert second.returncode == EXIT_AUTH, second.stderr
    (error,) = errors(second)
    assert "refused the service account's credentials (HTTP 401: invalid_client)" in error
    assert "`client_id` and `client_secret`" in error
    assert app.write_count == 0
    assert [e.path for e in app.requests()] == [TOKEN_PATH]  # refused once, never retried
    data = report(tmp_path)
    assert (data["status"], data["applied"]) == ("aborted", False)
    assert second.stdout == ""
    assert_no_secret(second, app, tmp_path)


def test_a_flaky_token_endpoint_is_retried_and_the_sync_completes(app, server, tmp_path) -> None:
    for kind in ("503", "drop", "429_retry_after", "502", "500"):
        app.faults.script(kind, method="POST", path=TOKEN_PATH, seconds=0.05)
    result = run_cli(
        sa_config(server, tmp_path), singer_text(workforce(3), state=STATE), tmp_path, env=QUICK
    )
    assert result.returncode == EXIT_OK, result.stderr
    assert [e.status for e in app.requests("POST", TOKEN_PATH)] == [503, 0, 429, 502, 500, 200]
    assert app.oauth.grants == 1
    assert app.user_count == 3
    assert_no_secret(result, app, tmp_path)


def test_a_token_endpoint_that_stays_down_exits_6_and_writes_nothing(app, server, tmp_path) -> None:
    app.faults.script("503", method="POST", path=TOKEN_PATH, count=1000)
    result = run_cli(
        sa_config(server, tmp_path), singer_text(workforce(3), state=STATE), tmp_path, env=QUICK
    )
    assert result.returncode == EXIT_UNAVAILABLE, result.stderr
    (error,) = errors(result)
    assert "JumpCloud is unavailable; nothing was written" in error
    assert "Could not get an access token for the service account" in error
    assert re.search(r"gave up after ([6-9]|\d\d+) attempts in ", error), error
    assert {e.path for e in app.requests()} == {TOKEN_PATH}
    assert app.write_count == 0
    assert report(tmp_path)["status"] == "aborted"
    assert_no_secret(result, app, tmp_path)


def test_org_id_is_still_sent_with_a_service_account(tmp_path) -> None:
    app = HookedJumpCloud(org_id=ORG, service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        missing = run_cli(
            sa_config(running, tmp_path), singer_text(workforce(2), state=STATE), tmp_path
        )
        assert missing.returncode == EXIT_AUTH, missing.stderr
        (error,) = errors(missing)
        assert "x-org-id is required" in error
        assert "`org_id`" in error
        result = run_cli(
            sa_config(running, tmp_path, org_id=ORG),
            singer_text(workforce(2), state=STATE),
            tmp_path,
        )
        assert result.returncode == EXIT_OK, result.stderr
        assert {u["organization"] for u in app.users()} == {ORG}
        assert_no_secret(result, app, tmp_path)


# -- config errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"api_key": "key-also-given"},
            (
                "Bad config: api_key, client_id, client_secret: both an API key and a service "
                "account are set"
            ),
        ),
        ({"client_secret": None}, "Bad config: client_secret: required with client_id"),
        ({"client_id": ""}, "Bad config: client_id: required with client_secret"),
        (
            {"client_id": None, "client_secret": None},
            "Bad config: api_key, client_id, client_secret: no credentials",
        ),
        ({"client_secret": 8675309111}, "Bad config: client_secret: expected a non-empty string"),
        ({"token_url": None}, "Bad config: token_url: required with a service account"),
        (
            {"token_url": "http://admin-oauth.id.jumpcloud.com/oauth2/token"},
            "Bad config: token_url: HTTPS is required",
        ),
    ],
)
def test_a_bad_credentials_config_is_one_line_and_no_request(
    app, server, tmp_path, settings, expected
) -> None:
    config = {k: v for k, v in {**sa_config(server, tmp_path), **settings}.items() if v is not None}
    result = run_cli(config, singer_text(workforce(1)), tmp_path)
    assert result.returncode == EXIT_CONFIG, result.stderr
    (error,) = errors(result)
    assert expected in error
    for secret in (SECRET, "8675309111", "key-also-given", BASIC):
        assert secret not in result.stderr + result.stdout
    assert app.requests() == []


def test_plan_then_apply_with_a_service_account_keeps_the_plan_free_of_secrets(
    app, server, tmp_path
) -> None:
    plan = tmp_path / "plan.json"
    people = workforce(3)
    planned = run_cli(
        sa_config(server, tmp_path, dry_run=True, plan_path=str(plan), review_html=True),
        singer_text(people, state=STATE),
        tmp_path,
    )
    assert planned.returncode == EXIT_OK, planned.stderr
    assert plan.exists()
    assert (tmp_path / "report.html").exists()
    assert app.write_count == 0
    applied = run_cli(sa_config(server, tmp_path, apply_plan=str(plan)), "", tmp_path)
    assert applied.returncode == EXIT_OK, applied.stderr
    assert app.user_count == 3
    assert app.oauth.grants == 2  # one token per run
    assert_no_secret(planned, app, tmp_path)  # the plan, both reports, the review page
    assert_no_secret(applied, app, tmp_path)
