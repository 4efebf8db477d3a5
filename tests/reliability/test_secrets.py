"""Secrets: the keys never show up in anything a run writes.

Every run of every suite uses the sentinel keys `SENTINEL-deel-7f3a9c` and `SENTINEL-jc-51e0b2`,
and the harness scans all a run wrote (stdout, stderr, the report, any file in its working
directory) for them, their prefix, their base64 and their JSON-escaped forms: a leak fails the
run that made it. These tests add the runs most likely to leak: DEBUG logging with faults and
failures, keys given only through the environment, wrong keys, keys put inside `api_url`, and
a check that no key lands in JumpCloud's data.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from tests.emulators.workforce import generate_workforce
from tests.reliability.harness import (
    SENTINEL_DEEL_TOKEN,
    SENTINEL_JC_KEY,
    SENTINELS,
    Scenario,
    leaks,
    run_pipeline,
    run_tap,
    run_target,
    secret_forms,
    sync_with_keys_from_env,
    tally,
    world,
)

if TYPE_CHECKING:
    from tests.reliability.harness import Run

DEBUG = {"LOGLEVEL": "DEBUG"}


def _scanned(run: Run, *secrets: str) -> None:
    """The run's output was scanned (by the harness) and is non-trivial; scan once more."""
    files = [p for p in run.out_dir.rglob("*") if p.is_file()]
    assert files
    assert not leaks(run.out_dir, (*SENTINELS, *secrets))


def test_a_debug_run_with_faults_and_failures_shows_no_key(tmp_path):
    scenario = Scenario(40, 3)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        w.deel.faults.randomize(0.25, ("429", "500", "drop"), seed=5, retry_after=0.05)
        w.jc.faults.randomize(
            0.25, ("429_retry_after", "503", "commit_then_drop"), seed=6, retry_after=0.05
        )
        # One user's update fails for good, so the run ends with a failed record.
        run = run_pipeline(w, tmp_path / "first", env=DEBUG)
        assert run.faults > 0
        assert "DEBUG" in run.target_err, "the run did not log at DEBUG"
        assert "DEBUG" in run.tap_err
        _scanned(run)
        w.calm()
        scenario.hr_changes(w)
        (victim,) = [u for u in w.jc.users() if u.get("employeeIdentifier")][:1]
        w.jc.faults.script("503", method="PUT", path=f"/api/systemusers/{victim['_id']}", count=99)
        w.deel.update_person(victim["employeeIdentifier"], job_title="Head of Secrets")
        failed = run_pipeline(w, tmp_path / "second", env=DEBUG)
        assert failed.target_rc == 1, failed.explain()
        _scanned(failed)
        tally("config cases")


def test_keys_given_only_through_the_environment_show_nowhere(tmp_path):
    with world(generate_workforce(30, 8)) as w:
        env = {
            "TAP_DEEL_API_TOKEN": SENTINEL_DEEL_TOKEN,
            "TARGET_JUMPCLOUD_API_KEY": SENTINEL_JC_KEY,
        }
        # The tap alone, then the target on its output: both read the key from the environment.
        configs = sync_with_keys_from_env(w, tmp_path, env)
        for path in configs:
            assert not any(form in path.read_bytes() for s in SENTINELS for form in secret_forms(s))
        assert w.jc.user_count > 20
        # Nothing in the whole tree holds a key: the configs had none, the output shows none.
        assert not leaks(tmp_path)
        tally("config cases")


def test_wrong_keys_are_never_echoed(tmp_path):
    wrong_token, wrong_key = "SENTINEL-deel-badbad", "SENTINEL-jc-badbad"
    with world(generate_workforce(20, 9)) as w:
        for index, settings in enumerate(
            ({"api_token": wrong_token}, {"api_token": f"Bearer {SENTINEL_DEEL_TOKEN}"})
        ):
            run = run_pipeline(
                w,
                tmp_path / f"tap-{index}",
                tap_settings=settings,
                secrets=(*SENTINELS, wrong_token),
            )
            assert run.tap_rc == 1
            _scanned(run, wrong_token)
        run = run_pipeline(
            w,
            tmp_path / "target",
            target_settings={"api_key": wrong_key},
            secrets=(*SENTINELS, wrong_key),
        )
        assert run.target_rc == 3
        _scanned(run, wrong_key)
        tally("config cases", 3)


def test_a_key_written_into_the_url_is_not_echoed(tmp_path):
    urls = (
        f"https://user:{SENTINEL_JC_KEY}@console.jumpcloud.com/api",
        f"https://console.jumpcloud.com/api?key={SENTINEL_JC_KEY}",
        f"https://console.jumpcloud.com:{SENTINEL_JC_KEY}/api",
    )
    with world() as w:
        for index, url in enumerate(urls):
            run = run_target(w, tmp_path / f"target-{index}", "", settings={"api_url": url})
            assert run.target_rc == 2, run.explain()
            assert any("api_url" in line for line in run.errors())
            _scanned(run)
        for index, url in enumerate(urls):
            run = run_tap(
                w, tmp_path / f"tap-{index}", settings={"api_url": url.replace("/api", "/rest/v2")}
            )
            assert run.tap_rc not in (0, None), run.explain()
            assert any("api_url" in line for line in run.errors("tap"))
            _scanned(run)
        assert w.jc.requests() == []
        assert w.deel.requests() == []
        tally("config cases", 2 * len(urls))


def test_no_key_lands_in_jumpcloud(tmp_path):
    scenario = Scenario(40, 3)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        assert run_pipeline(w, tmp_path / "first").ok
        scenario.hr_changes(w)
        assert run_pipeline(w, tmp_path / "second").ok
        directory = json.dumps(w.jc.users()).encode()
        for secret in SENTINELS:
            assert not any(form in directory for form in secret_forms(secret))
