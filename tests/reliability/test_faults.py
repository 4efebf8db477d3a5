"""Faults: under injected network and server failures the pipeline ends where a clean run does.

Each seeded run syncs a scenario twice, both times while the emulators inject, on every
endpoint, 429 with and without Retry-After, 500/502/503, dropped connections, latency spikes,
and (on JumpCloud's POST and PUT) commit-then-fail: the change is stored, the answer is lost.
The first sync creates the directory; the second follows a day of HR changes (promotions,
transfers, a rename, terminations, new hires), so updates and suspensions run under faults too.

Every sync must end in exactly the directory a clean run produces: no duplicate user, no lost
or extra change. A sync whose retries run out must exit non-zero with a clear message, write
nothing wrong, and the next clean run must converge.

One seed of the matrix runs the target with a JumpCloud service account: the token endpoint
is faulted like every other, and in each sync JumpCloud stops taking every token at once after
a seeded number of API requests, so the run renews its token after a 401 under the faults.
"""

from __future__ import annotations

import random
import re
import threading
from collections import Counter
from typing import TYPE_CHECKING

import pytest

from tests.emulators.base import COMMIT_FAULTS, FAULT_KINDS
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.reliability.harness import (
    STATS,
    Fingerprint,
    Run,
    Scenario,
    World,
    assert_converged,
    compare,
    references,
    run_pipeline,
    tally,
    world,
    wrong_writes,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorApp, Request, Response

DEEL_KINDS = tuple(kind for kind in FAULT_KINDS if kind not in COMMIT_FAULTS)
JC_KINDS = FAULT_KINDS  # commit faults only ever hit writes (the emulator sees to it)
RETRY_AFTER = 0.05  # seconds in injected Retry-After headers (honoured as sent)
LATENCY_SPIKE = 0.15

SCENARIOS = (Scenario(60, 1), Scenario(90, 2), Scenario(40, 3))
FAST_SEEDS = (101, 202)
SERVICE_ACCOUNT_SEED = 303
SLOW_SEEDS = tuple(range(1, 31))

# Every endpoint the pipeline uses, as the coverage check names it.
DEEL_ENDPOINTS = (
    "people",
    "contracts",
    "legal-entities",
    "groups",
    "managers",
    "teams",
    "departments",
    "working-locations",
    "organizations",
)
JC_ENDPOINTS = ("GET list", "POST create", "PUT update", "POST search")
JC_TOKEN_ENDPOINT = "POST token"  # (the service-account seed only)

#: Faults served, by (side, endpoint, kind), over the whole session.
COVERAGE: Counter[tuple[str, str, str]] = Counter()


def endpoint_of(app: EmulatorApp, method: str, path: str) -> str:
    """The coverage name of a request's endpoint."""
    if path.startswith("/rest/v2/"):
        return path.removeprefix("/rest/v2/").strip("/")
    if path.startswith("/api/search/"):
        return "POST search"
    if path == TOKEN_PATH:
        return JC_TOKEN_ENDPOINT
    if method == "GET":
        return "GET list"
    return "POST create" if method == "POST" else f"{method} update"


def record_coverage(w: World) -> None:
    for side, app in (("deel", w.deel), ("jumpcloud", w.jc)):
        for entry in app.requests():
            if entry.fault:
                COVERAGE[side, endpoint_of(app, entry.method, entry.path), entry.fault] += 1


def randomize(w: World, seed: int) -> None:
    """Seeded random faults on every endpoint of both APIs."""
    rng = random.Random(seed)
    w.deel.faults.randomize(
        rng.choice((0.1, 0.2, 0.3)),
        DEEL_KINDS,
        seed=seed,
        retry_after=RETRY_AFTER,
        latency_spike=LATENCY_SPIKE,
    )
    w.jc.faults.randomize(
        rng.choice((0.1, 0.2, 0.3)),
        JC_KINDS,
        seed=seed + 10_000,
        retry_after=RETRY_AFTER,
        latency_spike=LATENCY_SPIKE,
    )


def assert_clear_failure(run: Run) -> None:
    """A run that gave up says why in one ERROR line per program that failed."""
    if run.tap_rc not in (0, None):
        errors = run.errors("tap")
        assert errors, f"the tap failed without an ERROR line\n{run.explain()}"
        assert any("Deel answered" in line for line in errors), run.explain()
    if run.target_rc != 0:
        assert run.target_rc in {1, 5, 6}, run.explain()
        errors = run.errors()
        assert errors, f"the target failed without an ERROR line\n{run.explain()}"
        expected = {
            1: "record(s) failed",
            5: "stopped before the end of the list",
            6: "JumpCloud",
        }[run.target_rc]
        assert any(expected in line for line in errors), run.explain()


def sync(w: World, run_dir: Path, expected: Fingerprint, *, label: str) -> Run:
    """One sync under the faults already armed; converge now or after one clean run."""
    before = Fingerprint.of(w.jc)
    run = run_pipeline(w, run_dir)
    record_coverage(w)
    w.calm()
    if run.ok:
        assert_converged(w.jc, expected, f"{label}: faulted run")
        return run
    # Retries ran out somewhere: a clear message, nothing wrong written, then a clean run.
    tally("retries exhausted")
    assert_clear_failure(run)
    wrong = wrong_writes(Fingerprint.of(w.jc), before, expected)
    assert not wrong, f"{label}: the failed run wrote {wrong}"
    again = run_pipeline(w, run_dir.with_name(run_dir.name + "-again"))
    assert again.ok, again.explain()
    assert_converged(w.jc, expected, f"{label}: clean run after a failed one")
    return again


def expire_once(w: World, after: int) -> None:
    """Every token JumpCloud granted expires when the `after`-th API answer of the run is
    served (once: a second event could kill the renewed token too, which is a refusal)."""
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


def fault_token_endpoint(w: World) -> None:
    """The run's first token requests fail (on top of the random faults, which hit it too)."""
    script(w.jc, "POST", TOKEN_PATH, ("503", "drop", "429_retry_after"))


def seeded_run(seed: int, tmp_path: Path, scratch: Path, *, service_account: bool = False) -> World:
    """Both syncs of a scenario under seeded faults (the world is returned, its servers
    stopped, for the counters)."""
    scenario = SCENARIOS[seed % len(SCENARIOS)]
    refs = references(scenario, scratch)  # (always with the API key: the end state is the same)
    tally("fault seeds")
    expiry = random.Random(seed * 31)
    with world(scenario.workforce(), service_account=service_account) as w:
        scenario.seed_jumpcloud(w)
        randomize(w, seed)
        if service_account:
            fault_token_endpoint(w)
            expire_once(w, expiry.randint(3, 15))
        sync(w, tmp_path / "first", refs.first, label=f"seed {seed}, first sync")
        scenario.hr_changes(w)
        randomize(w, seed + 1)
        if service_account:
            fault_token_endpoint(w)
            expire_once(w, expiry.randint(3, 15))
        sync(w, tmp_path / "second", refs.second, label=f"seed {seed}, second sync")
    return w


@pytest.mark.parametrize("seed", FAST_SEEDS)
def test_seeded_faults_end_in_the_clean_directory(seed, tmp_path, scratch):
    seeded_run(seed, tmp_path, scratch)


@pytest.mark.slow
@pytest.mark.parametrize("seed", SLOW_SEEDS)
def test_seeded_faults_end_in_the_clean_directory_slow(seed, tmp_path, scratch):
    seeded_run(seed, tmp_path, scratch)


def test_seeded_faults_with_a_service_account_end_in_the_clean_directory(tmp_path, scratch):
    w = seeded_run(SERVICE_ACCOUNT_SEED, tmp_path, scratch, service_account=True)
    token_requests = w.jc.requests("POST", TOKEN_PATH)
    refused = [e for e in w.jc.requests() if e.path.startswith("/api/") and e.status == 401]
    # Each sync's token was refused mid-run and renewed (and the end state is the clean one).
    assert refused, "no token was ever refused: the expiry hook never fired"
    assert w.jc.oauth.grants >= 4, f"{w.jc.oauth.grants} grants, {len(token_requests)} requests"
    tally("token grants", w.jc.oauth.grants)
    tally("faults on the token endpoint", sum(1 for e in token_requests if e.fault))


# -- every kind on every endpoint, by script ------------------------------------------------------

# Scripted faults are served in order to the next matching requests. A "latency" (a slow but
# good answer) between runs of failures keeps each request under its retry budget.
DEEL_SCRIPT = ("429", "429_retry_after", "500", "502", "503", "drop", "latency")
JC_READ_SCRIPT = ("429", "429_retry_after", "500", "latency", "502", "503", "drop", "latency")
JC_WRITE_SCRIPT = (
    "429",
    "429_retry_after",
    "commit_then_503",
    "500",
    "latency",
    "commit_then_drop",
    "502",
    "latency",
    "503",
    "latency",
    "drop",
    "latency",
)


#: Six failures in a row escalate the backoff: keep the scripted run quick.
QUICK = {"TAP_DEEL_BACKOFF_SCALE": "0.001", "TARGET_JUMPCLOUD_BACKOFF_SCALE": "0.001"}


def script(app: EmulatorApp, method: str, path: str, kinds: tuple[str, ...]) -> None:
    for kind in kinds:
        seconds = RETRY_AFTER if kind == "429_retry_after" else LATENCY_SPIKE
        app.faults.script(kind, method=method, path=path, seconds=seconds)


def test_every_fault_kind_hits_every_endpoint(tmp_path, scratch):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        for endpoint in DEEL_ENDPOINTS:
            script(w.deel, "GET", f"/rest/v2/{re.escape(endpoint)}/?", DEEL_SCRIPT)
        script(w.jc, "GET", "/api/systemusers", JC_READ_SCRIPT)
        script(w.jc, "POST", "/api/search/systemusers", JC_READ_SCRIPT)
        script(w.jc, "POST", "/api/systemusers", JC_WRITE_SCRIPT)
        first = run_pipeline(w, tmp_path / "first", env=QUICK)
        record_coverage(w)
        # A scripted fault matches one method and path only: a drained script proves that
        # every kind in it was served on that endpoint (latency included, which no log shows).
        assert not w.deel.faults.scripted, "some Deel faults were never served"
        assert not [i for i in w.jc.faults.scripted if i.path != "/api/search/systemusers"]
        w.jc.faults.clear()  # (searches only follow a lost create: some may be left)
        if first.ok:
            assert_converged(w.jc, refs.first, "scripted faults, first sync")
        else:
            assert_clear_failure(first)
            assert run_pipeline(w, tmp_path / "first-again").ok
            assert_converged(w.jc, refs.first, "after scripted faults, first sync")

        scenario.hr_changes(w)
        # (The reads were covered above, where lost creates add look-ups to the directory
        # load: a second sync may read the whole directory in one request.)
        script(w.jc, "PUT", "/api/systemusers/[^/]+", JC_WRITE_SCRIPT)
        second = run_pipeline(w, tmp_path / "second", env=QUICK)
        record_coverage(w)
        assert not w.jc.faults.scripted, "some JumpCloud faults were never served"
        w.calm()
        if second.ok:
            assert_converged(w.jc, refs.second, "scripted faults, second sync")
        else:
            assert_clear_failure(second)
            assert run_pipeline(w, tmp_path / "second-again").ok
            assert_converged(w.jc, refs.second, "after scripted faults, second sync")


# -- retries that run out ---------------------------------------------------------------------


def _first_sync_done(w: World, scenario: Scenario, tmp_path: Path, refs_first: Fingerprint) -> None:
    scenario.seed_jumpcloud(w)
    assert run_pipeline(w, tmp_path / "setup").ok
    assert_converged(w.jc, refs_first, "setup")


@pytest.mark.slow
def test_an_update_that_keeps_failing_fails_alone_and_the_next_run_applies_it(tmp_path, scratch):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        _first_sync_done(w, scenario, tmp_path, refs.first)
        scenario.hr_changes(w)
        # One user the HR changes update: its PUT answers 503 for good (its retry budget).
        old = refs.first.by_profile()
        new = refs.second.by_profile()
        victim_id = next(pid for pid in sorted(old) if pid and old[pid] != new.get(pid))
        (victim,) = w.jc.find_users(employeeIdentifier=victim_id)
        w.jc.faults.script("503", method="PUT", path=f"/api/systemusers/{victim['_id']}", count=50)
        run = run_pipeline(w, tmp_path / "failing")
        assert run.target_rc == 1, run.explain()
        tally("retries exhausted")
        assert_clear_failure(run)
        report = run.report
        assert report is not None
        failed = [r for r in report["records"] if r["outcome"] == "failed"]
        assert [r["deel_id"] for r in failed] == [victim_id]
        gave_up = r"HTTP 503: .* \(gave up after ([6-9]|\d\d+) attempts in "
        assert re.search(gave_up, failed[0]["reason"]), failed[0]["reason"]
        assert run.target_out == "", "no STATE may be emitted when a record failed"
        # Every other change was applied; the victim alone keeps its old state.
        verdict = compare(Fingerprint.of(w.jc), refs.second, count=False)
        assert verdict.lost == [new[victim_id]], verdict.explain()
        assert verdict.extra == [old[victim_id]], verdict.explain()
        w.calm()
        again = run_pipeline(w, tmp_path / "again")
        assert again.ok, again.explain()
        assert_converged(w.jc, refs.second, "clean run after a failed update")


@pytest.mark.slow
def test_creates_that_keep_failing_are_never_duplicated_and_the_next_run_creates_them(
    tmp_path, scratch
):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        # Every create is answered 503 (nothing stored), for good.
        w.jc.faults.script("503", method="POST", path="/api/systemusers", count=10_000)
        before = Fingerprint.of(w.jc)
        run = run_pipeline(w, tmp_path / "failing")
        assert run.target_rc == 1, run.explain()
        tally("retries exhausted")
        assert_clear_failure(run)
        report = run.report
        assert report is not None
        assert report["counts"]["created"] == 0
        assert report["counts"]["failed"] >= 50
        assert all(
            re.search(
                r"not created \(checked by email after each attempt; gave up after "
                r"([6-9]|\d\d+) attempts in ",
                r["reason"],
            )
            for r in report["records"]
            if r["outcome"] == "failed"
        )
        assert not wrong_writes(Fingerprint.of(w.jc), before, refs.first)
        assert w.jc.writes.get("create", 0) == 0
        w.calm()
        assert run_pipeline(w, tmp_path / "again").ok
        assert_converged(w.jc, refs.first, "clean run after failed creates")


def test_lost_create_answers_never_create_twice(tmp_path, scratch):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        # Every create is stored, then its answer is lost (503 or a dropped connection).
        for kind in ("commit_then_503", "commit_then_drop") * 40:
            w.jc.faults.script(kind, method="POST", path="/api/systemusers")
        run = run_pipeline(w, tmp_path / "lost-answers")
        assert run.ok, run.explain()
        report = run.report
        assert report is not None
        reasons = [r["reason"] or "" for r in report["records"]]
        confirmed = [reason for reason in reasons if "confirmed by a look-up" in reason]
        assert len(confirmed) >= 50
        # Each user was POSTed exactly once: the lost answer was resolved by a look-up.
        assert len(w.jc.requests("POST", "/api/systemusers")) == report["counts"]["created"]
        assert w.jc.writes["create"] == report["counts"]["created"]
        assert_converged(w.jc, refs.first, "lost create answers")


@pytest.mark.slow
def test_jumpcloud_unreachable_writes_nothing_and_says_so(tmp_path, scratch):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        w.jc.faults.script("503", method="GET", path="/api/systemusers", count=10_000)
        run = run_pipeline(w, tmp_path / "down")
        assert run.target_rc == 6, run.explain()
        tally("retries exhausted")
        assert any("JumpCloud is unavailable; nothing was written" in e for e in run.errors())
        assert w.jc.write_count == 0
        w.calm()
        assert run_pipeline(w, tmp_path / "again").ok
        assert_converged(w.jc, refs.first, "clean run after JumpCloud was down")


def _fail_people_after(w: World, pages: int) -> None:
    """Deel answers the first `pages` pages of /people, then 503 for good."""
    served = [0]

    def hook(request: Request, response: Response | None) -> None:
        if request.path.rstrip("/").endswith("/people") and response and response.status == 200:
            served[0] += 1
            if served[0] == pages:
                w.deel.faults.script("503", method="GET", path="/rest/v2/people/?", count=10_000)

    w.deel.hook = hook


@pytest.mark.parametrize("pages", [pytest.param(0, marks=pytest.mark.slow), 2])
def test_deel_giving_up_mid_list_writes_nothing(pages, tmp_path, scratch):
    scenario = SCENARIOS[0]
    refs = references(scenario, scratch)
    with world(scenario.workforce()) as w:
        _first_sync_done(w, scenario, tmp_path, refs.first)
        scenario.hr_changes(w)
        if pages:
            _fail_people_after(w, pages)
        else:
            w.deel.faults.script("503", method="GET", path="/rest/v2/people/?", count=10_000)
        writes = w.jc.write_count
        run = run_pipeline(w, tmp_path / "deel-down")
        tally("retries exhausted")
        assert run.tap_rc == 1, run.explain()
        assert run.target_rc == 5, run.explain()
        assert_clear_failure(run)
        assert any(f"after {pages * 10} record(s)" in line for line in run.errors()), run.explain()
        assert w.jc.write_count == writes, "a cut-short list must not be applied"
        w.calm()
        assert run_pipeline(w, tmp_path / "again").ok
        assert_converged(w.jc, refs.second, "clean run after Deel gave up")


@pytest.mark.slow
def test_paced_against_deels_real_rate_limit_under_faults(tmp_path, scratch):
    """Deel's limiter on, the tap at its default 5 requests/second, faults on top."""
    scenario = SCENARIOS[2]
    refs = references(scenario, scratch)
    with world(scenario.workforce(), rate_limit=True) as w:
        scenario.seed_jumpcloud(w)
        randomize(w, 999)
        sync_run = run_pipeline(
            w, tmp_path / "paced", tap_settings={"max_requests_per_second": 5, "page_size": 10}
        )
        record_coverage(w)
        w.calm()
        injected_429 = w.deel.faults.injected["429"] + w.deel.faults.injected["429_retry_after"]
        limiter_429 = sum(1 for e in w.deel.requests() if e.status == 429) - injected_429
        assert limiter_429 == 0, "the tap's pacing let Deel's own limiter answer 429"
        if sync_run.ok:
            assert_converged(w.jc, refs.first, "paced run")
        else:
            assert_clear_failure(sync_run)
            assert run_pipeline(w, tmp_path / "again").ok
            assert_converged(w.jc, refs.first, "clean run after a paced one")


@pytest.mark.slow
def test_the_seeded_runs_reached_every_endpoint():
    """Every endpoint the pipeline uses got faults in the seeded runs above (file order)."""
    if STATS["fault seeds"] < len(SLOW_SEEDS):
        pytest.skip("the seeded runs did not run in this session")
    hit = {(side, endpoint) for side, endpoint, _kind in COVERAGE}
    missing = [("deel", e) for e in DEEL_ENDPOINTS if ("deel", e) not in hit]
    missing += [("jumpcloud", e) for e in JC_ENDPOINTS if ("jumpcloud", e) not in hit]
    assert not missing, f"no fault ever hit {missing}"
