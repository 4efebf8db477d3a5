"""Service accounts under the reliability harness: secrets, refusals, config, through the CLIs.

The harness scans every file a run wrote for the sentinel client secret, the Basic value made
of the client id and that secret, and every access token the emulator granted (each starts
with `SENTINEL-jctoken`), as it does for the keys. These runs are the ones most likely to
leak them: DEBUG logging while tokens are renewed under faults, credentials given only through
the environment, a wrong secret, a revoked account, and a look at JumpCloud's data.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import TYPE_CHECKING, Any

import pytest

from tests.emulators.workforce import generate_workforce
from tests.reliability.harness import (
    DROP,
    JC_CLIENT_ID,
    SENTINEL_DEEL_TOKEN,
    SENTINEL_JC_SECRET,
    SENTINELS,
    Scenario,
    leaks,
    people_stream,
    run_pipeline,
    run_target,
    secret_forms,
    sync_with_keys_from_env,
    tally,
    worker,
    world,
)

if TYPE_CHECKING:
    from tests.emulators.base import Request, Response
    from tests.reliability.harness import Run, World

DEBUG = {"LOGLEVEL": "DEBUG"}
WRONG_SECRET = "SENTINEL-jcsecret-wrong-8e21"
WRONG_BASIC = base64.b64encode(f"{JC_CLIENT_ID}:{WRONG_SECRET}".encode()).decode()
INPUT = people_stream([worker("p1", "Ada", "Lovelace"), worker("p2", "Alan", "Turing")])


def _expire_once(w: World, after: int) -> None:
    """JumpCloud stops taking every token once, after `after` API answers of the run.

    (Once: a second such event between a request's 401 and its repeat would be a refusal.)
    """
    served = [0]
    lock = threading.Lock()

    def hook(request: Request, response: Response | None) -> None:
        del response
        if request.path.startswith("/api/"):
            with lock:
                served[0] += 1
                if served[0] == after:
                    w.jc.oauth.expire_all()

    w.jc.hook = hook


def _scanned(run: Run, w: World, *extra: str) -> None:
    files = [p for p in run.out_dir.rglob("*") if p.is_file()]
    assert files
    assert not leaks(run.out_dir, w.secrets((*SENTINELS, *extra)))


def _wrote_nothing(w: World) -> None:
    assert w.jc.write_count == 0
    assert not [e for e in w.jc.requests() if e.method in {"PUT", "DELETE"}]
    assert not [e for e in w.jc.requests("POST") if e.path.startswith("/api/systemusers")]


def test_a_debug_run_renewing_tokens_under_faults_shows_no_secret(tmp_path):
    scenario = Scenario(40, 3)
    with world(scenario.workforce(), service_account=True) as w:
        scenario.seed_jumpcloud(w)
        w.jc.faults.randomize(
            0.2, ("429_retry_after", "503", "drop", "commit_then_503"), seed=7, retry_after=0.05
        )
        _expire_once(w, 25)
        run = run_pipeline(w, tmp_path / "first", env=DEBUG)
        assert "DEBUG" in run.target_err, "the run did not log at DEBUG"
        assert run.faults > 0
        assert w.jc.oauth.grants >= 2, "no token was renewed"
        _scanned(run, w)
        w.calm()
        scenario.hr_changes(w)
        again = run_pipeline(w, tmp_path / "second", env=DEBUG)
        assert again.ok, again.explain()
        _scanned(again, w)
        tally("config cases")


def test_service_account_credentials_given_only_through_the_environment_show_nowhere(tmp_path):
    with world(generate_workforce(30, 8)) as w:
        env = {
            "TAP_DEEL_API_TOKEN": SENTINEL_DEEL_TOKEN,
            "TARGET_JUMPCLOUD_CLIENT_ID": JC_CLIENT_ID,
            "TARGET_JUMPCLOUD_CLIENT_SECRET": SENTINEL_JC_SECRET,
            "TARGET_JUMPCLOUD_TOKEN_URL": w.jc_token_url,
        }
        sync_with_keys_from_env(w, tmp_path, env)
        assert w.jc.user_count > 20
        assert w.jc.oauth.grants == 1
        assert not leaks(tmp_path, w.secrets())  # the whole tree: configs, output, report
        tally("config cases")


def test_a_wrong_client_secret_exits_3_without_echo_and_writes_nothing(tmp_path):
    with world(generate_workforce(20, 9), service_account=True) as w:
        secrets = (*SENTINELS, WRONG_SECRET, WRONG_BASIC)
        run = run_pipeline(
            w, tmp_path, target_settings={"client_secret": WRONG_SECRET}, secrets=secrets
        )
        assert run.target_rc == 3, run.explain()
        (error,) = run.errors()
        assert "`client_id` and `client_secret`" in error
        assert "invalid_client" in error
        assert [e.path for e in w.jc.requests()] == ["/oauth2/token"]  # refused once
        _wrote_nothing(w)
        _scanned(run, w, WRONG_SECRET, WRONG_BASIC)
        report = run.report
        assert report is not None
        assert report["status"] == "aborted"
        tally("config cases")


def test_a_service_account_revoked_between_runs_stops_the_next_before_any_write(tmp_path):
    scenario = Scenario(40, 3)
    with world(scenario.workforce(), service_account=True) as w:
        scenario.seed_jumpcloud(w)
        assert run_pipeline(w, tmp_path / "first").ok
        scenario.hr_changes(w)
        w.jc.oauth.revoke_client(JC_CLIENT_ID)
        w.jc.reset_log()
        run = run_pipeline(w, tmp_path / "revoked")
        assert run.target_rc == 3, run.explain()
        assert any("refused the service account's credentials" in e for e in run.errors())
        _wrote_nothing(w)
        tally("config cases")


def test_no_secret_or_token_lands_in_jumpcloud(tmp_path):
    scenario = Scenario(40, 3)
    with world(scenario.workforce(), service_account=True) as w:
        scenario.seed_jumpcloud(w)
        assert run_pipeline(w, tmp_path / "first").ok
        scenario.hr_changes(w)
        assert run_pipeline(w, tmp_path / "second").ok
        directory = json.dumps(w.jc.users()).encode()
        for secret in w.secrets():
            assert not any(form in directory for form in secret_forms(secret))


SA_CONFIG_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("key-and-pair", {"api_key": "SENTINEL-jc-51e0b2"}, "api_key, client_id, client_secret"),
    ("id-without-secret", {"client_secret": DROP}, "client_secret: required"),
    ("secret-without-id", {"client_id": DROP}, "client_id: required"),
    ("secret-not-a-string", {"client_secret": 424242424242}, "client_secret: expected"),
    ("no-token-url-off-jumpcloud", {"token_url": DROP}, "token_url: required"),
    ("token-url-plain-http", {"token_url": "http://192.0.2.1/oauth2/token"}, "token_url: HTTPS"),
    (
        "token-url-with-the-secret",
        {"token_url": f"https://u:{SENTINEL_JC_SECRET}@admin-oauth.id.jumpcloud.com/oauth2/token"},
        "token_url: must not carry credentials",
    ),
]


@pytest.mark.parametrize(
    ("settings", "named"),
    [pytest.param(settings, named, id=name) for name, settings, named in SA_CONFIG_CASES],
)
def test_a_bad_service_account_config_is_refused_before_any_connection(tmp_path, settings, named):
    with world(service_account=True) as w:
        run = run_target(w, tmp_path, INPUT, settings=settings)
        tally("config cases")
        assert run.target_rc == 2, run.explain()
        (error,) = run.errors()
        assert f"Bad config: {named}" in error
        assert "424242424242" not in run.target_err
        assert w.jc.requests() == []
