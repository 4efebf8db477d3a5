"""Auth and config: a refused key or a bad setting stops the run before anything is written.

Wrong credentials (a Deel token, a JumpCloud key or organisation id, a token without the scope
the people stream needs) end the run with a message naming the setting and nothing written.
A missing setting, a wrong type, an out-of-range value, a bad config file, or an `api_url` over
plain HTTP to a host that is not loopback is refused before any connection: the emulators see
no request at all. Every message names the setting (or the file) and never shows a key.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.emulators.workforce import generate_workforce
from tests.reliability.harness import (
    DROP,
    SENTINEL_DEEL_TOKEN,
    SENTINELS,
    World,
    loopback_alias,
    people_stream,
    run_pipeline,
    run_tap,
    run_target,
    tally,
    tap_config,
    target_config,
    worker,
    world,
)

WRONG_DEEL_TOKEN = "SENTINEL-deel-wrong-0d9e"
WRONG_JC_KEY = "SENTINEL-jc-wrong-77aa"
ALL_SECRETS = (*SENTINELS, WRONG_DEEL_TOKEN, WRONG_JC_KEY)
ORG_ID = "5f1e0c0ffee0c0ffee000002"
OTHER_ORG_ID = "5f1e0c0ffee0c0ffee000009"
INPUT = people_stream([worker("p1", "Ada", "Lovelace"), worker("p2", "Alan", "Turing")])


def _params(table: list[tuple[str, Any, str]], fast: set[str]) -> list[Any]:
    """pytest params of a case table; the cases not in `fast` run only in `make chaos`."""
    return [
        pytest.param(*values, id=name, marks=() if name in fast else pytest.mark.slow)
        for name, *values in table
    ]


def _wrote_nothing(w: World) -> None:
    assert w.jc.write_count == 0
    assert not [e for e in w.jc.requests() if e.method in {"POST", "PUT", "DELETE"}]


# -- credentials the APIs refuse -----------------------------------------------------------------


def test_a_wrong_deel_token_stops_the_tap_and_nothing_is_written(tmp_path):
    with world(generate_workforce(30, 5)) as w:
        run = run_pipeline(
            w, tmp_path, tap_settings={"api_token": WRONG_DEEL_TOKEN}, secrets=ALL_SECRETS
        )
        tally("config cases")
        assert run.tap_rc == 1, run.explain()
        (error,) = [line for line in run.errors("tap") if "401" in line]
        assert "api_token" in error
        statuses = [e.status for e in w.deel.requests()]
        assert statuses == [401], "a refused token must not be retried"
        _wrote_nothing(w)


def test_a_wrong_jumpcloud_key_is_refused_before_any_write(tmp_path):
    with world(generate_workforce(30, 5)) as w:
        run = run_pipeline(
            w, tmp_path, target_settings={"api_key": WRONG_JC_KEY}, secrets=ALL_SECRETS
        )
        tally("config cases")
        assert run.target_rc == 3, run.explain()
        (error,) = run.errors()
        assert "rejected the API key" in error
        assert "`api_key`" in error
        assert [e.status for e in w.jc.requests()] == [401], "one check, not retried"
        _wrote_nothing(w)
        report = run.report
        assert report is not None
        assert report["status"] == "aborted"


def test_a_wrong_organisation_id_is_refused_before_any_write(tmp_path):
    with world(generate_workforce(30, 5), jc_org_id=ORG_ID) as w:
        run = run_pipeline(w, tmp_path, target_settings={"org_id": OTHER_ORG_ID})
        tally("config cases")
        assert run.target_rc == 3, run.explain()
        (error,) = run.errors()
        assert "`org_id`" in error
        assert len(w.jc.requests()) == 1
        _wrote_nothing(w)
        right = run_pipeline(w, tmp_path / "right", target_settings={"org_id": ORG_ID})
        assert right.ok, right.explain()


def test_a_token_without_the_people_scope_is_named_and_nothing_is_written(tmp_path):
    scopes = {"contracts:read", "organizations:read", "groups:read"}
    with world(generate_workforce(30, 5), deel_scopes=scopes) as w:
        run = run_pipeline(w, tmp_path)
        tally("config cases")
        assert run.tap_rc == 1, run.explain()
        assert any("people:read" in line for line in run.errors("tap")), run.explain()
        assert run.target_rc == 5, run.explain()  # the people list never came
        _wrote_nothing(w)


# -- settings refused before any connection --------------------------------------------------------


def _alias_url(w: World, path: str) -> str:
    alias = loopback_alias()
    if alias is None:
        pytest.skip("no /etc/hosts name for 127.0.0.1 besides localhost")
    port = w.jc_url.rsplit(":", 1)[1] if path == "/api" else w.deel_url.rsplit(":", 1)[1]
    return f"http://{alias}:{port}{path}"


TAP_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("token-missing", {"api_token": DROP}, "api_token"),
    ("token-not-a-string", {"api_token": 12345}, "api_token"),
    ("pace-not-a-number", {"max_requests_per_second": "fast"}, "max_requests_per_second"),
    ("pace-zero", {"max_requests_per_second": 0}, "max_requests_per_second"),
    ("page-size-zero", {"page_size": 0}, "page_size"),
    ("page-size-too-big", {"page_size": 500}, "page_size"),
    ("statuses-misspelt", {"active_hiring_statuses": ["actve"]}, "active_hiring_statuses"),
    ("statuses-empty", {"active_hiring_statuses": []}, "active_hiring_statuses"),
    ("hiring-types-not-a-list", {"hiring_types": "eor"}, "hiring_types"),
    ("http-to-loopback-alias", {"api_url": "ALIAS"}, "api_url"),
    ("http-to-private-ip", {"api_url": "http://192.0.2.1/rest/v2"}, "api_url"),
    ("http-to-localhost-lookalike", {"api_url": "http://localhost.evil.example/v2"}, "api_url"),
    ("ftp-scheme", {"api_url": "ftp://api.letsdeel.com/rest/v2"}, "api_url"),
    (
        "credentials-in-url",
        {"api_url": f"https://u:{SENTINEL_DEEL_TOKEN}@api.letsdeel.com/rest/v2"},
        "api_url",
    ),
    ("token-in-query", {"api_url": f"https://x.example/v2?token={SENTINEL_DEEL_TOKEN}"}, "api_url"),
]


@pytest.mark.parametrize(
    ("settings", "named"),
    _params(
        TAP_CASES,
        {"token-missing", "pace-not-a-number", "http-to-loopback-alias", "credentials-in-url"},
    ),
)
def test_the_tap_refuses_a_bad_setting_before_any_request(settings, named, tmp_path):
    with world(generate_workforce(10, 5)) as w:
        if settings.get("api_url") == "ALIAS":
            settings = {**settings, "api_url": _alias_url(w, "/rest/v2")}
        run = run_tap(w, tmp_path, settings=settings, timeout=60)
        tally("config cases")
        assert run.tap_rc not in (0, None), run.explain()
        errors = run.errors("tap")
        assert any(named in line for line in errors), run.explain()
        assert w.deel.requests() == [], "a refused config must not reach Deel"
        assert not (run.out_dir / "tap.stdout").read_text(), "nothing may be emitted"


TARGET_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("key-missing", {"api_key": DROP}, "api_key"),
    ("key-empty", {"api_key": ""}, "api_key"),
    ("key-not-a-string", {"api_key": 12345}, "api_key"),
    ("http-to-loopback-alias", {"api_url": "ALIAS"}, "api_url"),
    ("http-to-private-ip", {"api_url": "http://192.0.2.1/api"}, "api_url"),
    ("http-to-localhost-lookalike", {"api_url": "http://localhost.evil.example/api"}, "api_url"),
    ("url-not-a-url", {"api_url": "console.jumpcloud.com/api"}, "api_url"),
    ("url-not-a-string", {"api_url": ["https://console.jumpcloud.com/api"]}, "api_url"),
    ("guard-not-a-limit", {"max_suspensions": "lots"}, "max_suspensions"),
    ("guard-negative", {"max_suspensions": -1}, "max_suspensions"),
    ("guard-over-100-percent", {"max_suspensions": "150%"}, "max_suspensions"),
    ("guard-boolean", {"max_suspensions": True}, "max_suspensions"),
    ("dry-run-maybe", {"dry_run": "maybe"}, "dry_run"),
    ("reactivate-sometimes", {"reactivate_suspended_users": "sometimes"}, "reactivate"),
    ("create-suspended", {"user_state_on_create": "SUSPENDED"}, "user_state_on_create"),
    ("mapping-a-number", {"mapping": 5}, "mapping"),
    ("mapping-username", {"mapping": {"username": "first_name"}}, "mapping"),
    ("mapping-email-null", {"mapping": {"email": None}}, "mapping"),
    ("mapping-case-slip", {"mapping": {"jobtitle": "job_title"}}, "did you mean 'jobTitle'"),
    ("load-method-overwrite", {"load_method": "overwrite"}, "load_method"),
    ("worker-stream-a-number", {"worker_stream": 5}, "worker_stream"),
    ("org-id-a-number", {"org_id": 7}, "org_id"),
]


@pytest.mark.parametrize(
    ("settings", "named"),
    _params(
        TARGET_CASES,
        {"key-missing", "http-to-loopback-alias", "guard-not-a-limit", "mapping-case-slip"},
    ),
)
def test_the_target_refuses_a_bad_setting_before_any_request(settings, named, tmp_path):
    with world() as w:
        if settings.get("api_url") == "ALIAS":
            settings = {**settings, "api_url": _alias_url(w, "/api")}
        run = run_target(w, tmp_path, INPUT, settings=settings, timeout=60)
        tally("config cases")
        assert run.target_rc == 2, run.explain()
        (error,) = run.errors()
        assert error.split("| ", 3)[-1].startswith("Bad config:"), error
        assert named in error, error
        assert w.jc.requests() == [], "a refused config must not reach JumpCloud"
        assert run.target_out == ""


CONFIG_FILES: list[tuple[str, Any, str]] = [
    ("missing", None, "no such file"),
    ("empty", "", "not valid JSON (line 1, column 1)"),
    ("not-json", '{"api_key": "SENTINEL-jc-51e0b2", "api_url": ', "not valid JSON (line 1"),
    ("an-array", '["api_key", "SENTINEL-jc-51e0b2"]', "not a JSON object of settings"),
    ("a-directory", "DIR", "cannot be read"),
]


@pytest.mark.parametrize("program", ["tap", "target"])
@pytest.mark.parametrize(("content", "message"), _params(CONFIG_FILES, {"not-json"}))
def test_a_bad_config_file_is_one_line_naming_it(program, content, message, tmp_path):
    path = tmp_path / "config.json"
    if content == "DIR":
        path.mkdir()
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    args = ["--config", str(path)]
    with world() as w:
        if program == "tap":
            run = run_tap(w, tmp_path / "run", args=args, timeout=60)
            stderr, rc = run.tap_err, run.tap_rc
        else:
            run = run_target(w, tmp_path / "run", INPUT, args=args, timeout=60)
            stderr, rc = run.target_err, run.target_rc
        tally("config cases")
        assert rc == 2, run.explain()
        error = stderr.strip().splitlines()[-1]
        assert error.startswith(f"Error: Invalid value for '--config': {path}: "), stderr
        assert message in error, stderr
        assert w.deel.requests() == []
        assert w.jc.requests() == []


def test_a_wrong_key_from_the_environment_is_refused_and_not_echoed(tmp_path):
    with world() as w:
        config = target_config(w, tmp_path / "out", api_key=DROP)
        run = run_target(
            w,
            tmp_path,
            INPUT,
            config=config,
            args=["--config", "CONFIG", "--config", "ENV"],
            env={"TARGET_JUMPCLOUD_API_KEY": WRONG_JC_KEY},
            secrets=ALL_SECRETS,
        )
        tally("config cases")
        assert run.target_rc == 3, run.explain()
        _wrote_nothing(w)


def test_the_tap_config_is_checked_before_the_emulator_is_even_known(tmp_path):
    """A config refused for its URL never needs the network: no emulator runs at all."""
    run = run_tap(None, tmp_path, config=tap_config(None, api_url="http://192.0.2.1/rest/v2"))
    tally("config cases")
    assert run.tap_rc == 1
    assert any("HTTPS is required" in line for line in run.errors("tap"))
