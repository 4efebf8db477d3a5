"""Crashes: a run killed at any point, then run again, ends where one clean run does.

The target is killed with SIGKILL at 20 points spread over its work: while it loads the
directory, and right after its k-th JumpCloud write was stored but before the answer reached
it (the emulator's hook kills the process from inside the request), in a first sync and in a
changed-state sync. Two more points send SIGTERM instead. The tap is killed in the middle of the
people list and after it.

After a kill, each JumpCloud user must be either as it was before the run or as the clean run
leaves it (no other write), with no duplicate; the next run must end in the clean directory.

What the target does with a list cut short: tap-deel announces in the people SCHEMA that it
writes a STATE message after the last person. When the input ends before that STATE (the tap
crashed, was killed or ran out of retries), the target plans nothing and writes nothing
(exit 5): on a partial list a leaver's old profile can arrive without the new profile that
supersedes it, and be suspended. When the tap dies after the people list (in a later stream),
the list is complete and the target applies it.
"""

from __future__ import annotations

import os
import re
import signal
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.emulators.workforce import new_hire, terminate, work_email_of
from tests.reliability.harness import (
    Fingerprint,
    Scenario,
    World,
    assert_converged,
    references,
    run_pipeline,
    tally,
    world,
    wrong_writes,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import Request, Response
    from tests.reliability.harness import References

SCENARIO = Scenario(60, 1)
LAST = -1  # "the last write of the run"


@dataclass(frozen=True)
class CrashPoint:
    """Where to stop the target: before any write (`at` 0: while it loads the directory), or
    right after its `at`-th stored write, in the `phase` ("first" or "second") sync."""

    phase: str
    at: int
    signum: int = signal.SIGKILL

    def __str__(self) -> str:
        where = "directory-load" if self.at == 0 else ("last" if self.at == LAST else self.at)
        return f"{self.phase}-{where}-{signal.Signals(self.signum).name}"


FAST_POINTS = (CrashPoint("first", 1), CrashPoint("first", 27), CrashPoint("second", 3))
SLOW_POINTS = (
    CrashPoint("first", 0),
    CrashPoint("first", 2),
    CrashPoint("first", 5),
    CrashPoint("first", 9),
    CrashPoint("first", 14),
    CrashPoint("first", 20),
    CrashPoint("first", 34),
    CrashPoint("first", 41),
    CrashPoint("first", 48),
    CrashPoint("first", 53),
    CrashPoint("first", LAST),
    CrashPoint("second", 0),
    CrashPoint("second", 1),
    CrashPoint("second", 2),
    CrashPoint("second", 6),
    CrashPoint("second", 9),
    CrashPoint("second", LAST),
    CrashPoint("first", 30, signal.SIGTERM),
    CrashPoint("second", 4, signal.SIGTERM),
)


def _arm_target_kill(w: World, point: CrashPoint, total_writes: int) -> list[int]:
    """Signal the target at the crash point; returns a cell holding the writes at the kill.

    The hook runs in the emulator after a request was served and before its answer is sent:
    a write stored as the `at`-th never gets its answer to the target.
    """
    wanted = total_writes if point.at == LAST else point.at
    base = w.jc.write_count  # (the setup's writes are not this run's)
    fired = [-1]

    def hook(request: Request, response: Response | None) -> None:
        del response
        if fired[0] >= 0:
            return
        if wanted == 0:  # while the directory loads: the first page of the user list
            if request.method != "GET" or request.query.get("limit") != ["100"]:
                return
        elif request.method not in {"POST", "PUT"} or w.jc.write_count - base < wanted:
            return
        fired[0] = w.jc.write_count - base
        pid = w.pids.get("target")
        if pid is not None:
            os.kill(pid, point.signum)

    w.jc.hook = hook
    return fired


def _prepare(w: World, point: CrashPoint, tmp_path: Path, refs: References) -> Fingerprint:
    SCENARIO.seed_jumpcloud(w)
    if point.phase == "second":
        assert run_pipeline(w, tmp_path / "first").ok
        assert_converged(w.jc, refs.first, "first sync")
        SCENARIO.hr_changes(w)
    return refs.first if point.phase == "first" else refs.second


def crash_and_recover(point: CrashPoint, tmp_path: Path, scratch: Path) -> None:
    refs = references(SCENARIO, scratch)
    with world(SCENARIO.workforce()) as w:
        expected = _prepare(w, point, tmp_path, refs)
        total = refs.first_writes if point.phase == "first" else refs.second_writes
        assert point.at <= total, f"{point}: the clean run makes only {total} writes"
        before = Fingerprint.of(w.jc)
        fired = _arm_target_kill(w, point, total)
        crashed = run_pipeline(w, tmp_path / "crashed")
        w.calm()
        tally("crash points")
        assert fired[0] >= 0, f"{point}: the kill never fired\n{crashed.explain()}"
        assert fired[0] >= (total if point.at == LAST else point.at)  # (+ writes in flight)
        if point.signum == signal.SIGKILL:
            assert crashed.target_rc == -signal.SIGKILL, crashed.explain()
            assert crashed.report is None
        else:
            assert crashed.target_rc == 130, crashed.explain()
            assert any("Received signal 15" in line for line in crashed.errors())
        assert crashed.target_out == "", "a killed run must not emit STATE"
        wrong = wrong_writes(Fingerprint.of(w.jc), before, expected)
        assert not wrong, f"{point}: the killed run wrote {wrong}"
        assert Fingerprint.of(w.jc).duplicates == 0
        again = run_pipeline(w, tmp_path / "again")
        assert again.ok, again.explain()
        report = again.report
        assert report is not None
        assert report["counts"]["failed"] == 0
        assert_converged(w.jc, expected, f"{point}: the run after the crash")


@pytest.mark.parametrize("point", FAST_POINTS, ids=str)
def test_a_killed_target_converges_on_the_next_run(point, tmp_path, scratch):
    crash_and_recover(point, tmp_path, scratch)


@pytest.mark.slow
@pytest.mark.parametrize("point", SLOW_POINTS, ids=str)
def test_a_killed_target_converges_on_the_next_run_slow(point, tmp_path, scratch):
    crash_and_recover(point, tmp_path, scratch)


# -- the tap killed ---------------------------------------------------------------------------


def _arm_tap_kill(w: World, *, people_page: int | None = None, stream: str | None = None) -> None:
    """Kill the tap when it asks for page `people_page` of /people (1-based), or for `stream`."""
    pages = [0]

    def hook(request: Request, response: Response | None) -> None:
        del response
        path = request.path.rstrip("/")
        if people_page is not None and path.endswith("/people"):
            pages[0] += 1
            if pages[0] == people_page:
                w.kill("tap")
        if stream is not None and path.endswith(f"/{stream}"):
            w.kill("tap")

    w.deel.hook = hook


@pytest.mark.parametrize(
    ("phase", "page"),
    [
        ("first", 3),
        pytest.param("first", 1, marks=pytest.mark.slow),
        pytest.param("first", 6, marks=pytest.mark.slow),
        pytest.param("second", 2, marks=pytest.mark.slow),
        pytest.param("second", 7, marks=pytest.mark.slow),
    ],
)
def test_a_tap_killed_mid_list_makes_the_target_write_nothing(phase, page, tmp_path, scratch):
    refs = references(SCENARIO, scratch)
    point = CrashPoint(phase, 1)
    with world(SCENARIO.workforce()) as w:
        expected = _prepare(w, point, tmp_path, refs)
        writes = w.jc.write_count
        _arm_tap_kill(w, people_page=page)
        run = run_pipeline(w, tmp_path / "killed")
        w.calm()
        tally("crash points")
        assert run.tap_rc == -signal.SIGKILL, run.explain()
        assert run.target_rc == 5, run.explain()
        (error,) = run.errors()
        # The target names the records it got: those of the pages before the kill that the tap
        # had flushed to the pipe (SIGKILL loses what the tap still buffered, so under load it
        # can be a page fewer), never more.
        got = re.search(r"after (\d+) record\(s\)", error)
        assert got is not None, error
        assert int(got.group(1)) <= (page - 1) * 10, error
        assert "nothing was planned or written" in error
        assert w.jc.write_count == writes
        report = run.report
        assert report is not None
        assert report["status"] == "aborted"
        assert run_pipeline(w, tmp_path / "again").ok
        assert_converged(w.jc, expected, f"tap killed at people page {page}")


@pytest.mark.slow
@pytest.mark.parametrize("phase", ["first", "second"])
def test_a_tap_killed_after_the_list_still_applies_the_complete_list(phase, tmp_path, scratch):
    refs = references(SCENARIO, scratch)
    with world(SCENARIO.workforce()) as w:
        expected = _prepare(w, CrashPoint(phase, 1), tmp_path, refs)
        _arm_tap_kill(w, stream="teams")  # the stream after people
        run = run_pipeline(w, tmp_path / "killed")
        w.calm()
        tally("crash points")
        assert run.tap_rc == -signal.SIGKILL, run.explain()
        assert run.target_rc == 0, run.explain()
        assert_converged(w.jc, expected, "tap killed after the people list")


def test_a_list_cut_short_during_a_conversion_suspends_no_one(tmp_path, scratch):
    """The case a partial list gets wrong: a contractor becomes an employee overnight.

    Deel ends the old profile and opens a new one with the same work email; the full list
    moves the JumpCloud account to the new profile and keeps it active. A list cut between the
    two profiles would show only the leaver, and suspend the account, which the next run would
    then keep suspended (reactivation is off).
    """
    del scratch
    with world(SCENARIO.workforce()) as w:
        SCENARIO.seed_jumpcloud(w)
        assert run_pipeline(w, tmp_path / "first").ok
        old = SCENARIO._eligible(w.deel)[1]
        email = work_email_of(old)
        hired = new_hire(w.deel.people, old["first_name"], old["last_name"], 7, work_email=email)
        hired["id"] = "ffffffff-0000-4000-8000-000000000001"  # sorts after every other profile
        terminate(old)
        w.deel.update_person(old["id"])
        w.deel.add_person(hired)
        ids = sorted(str(p["id"]) for p in w.deel.people)
        old_page = ids.index(old["id"]) // 10 + 1
        assert old_page < ids.index(hired["id"]) // 10 + 1
        (account,) = w.jc.find_users(employeeIdentifier=old["id"])
        assert account["state"] != "SUSPENDED"

        _arm_tap_kill(w, people_page=old_page + 1)  # the old profile is read, the new one not
        cut = run_pipeline(w, tmp_path / "cut")
        w.calm()
        tally("crash points")
        assert cut.tap_rc == -signal.SIGKILL
        assert cut.target_rc == 5, cut.explain()
        (still,) = w.jc.find_users(email=account["email"])
        assert still["state"] == account["state"], "a cut-short list suspended a worker"

        full = run_pipeline(w, tmp_path / "full")
        assert full.ok, full.explain()
        (moved,) = w.jc.find_users(email=account["email"])
        assert moved["employeeIdentifier"] == hired["id"]
        assert moved["state"] == account["state"]
        assert moved["_id"] == account["_id"]


def test_the_list_is_closed_even_when_the_state_has_not_changed(tmp_path, scratch):
    """A second run given the first run's state (as Meltano does) still closes the list."""
    refs = references(SCENARIO, scratch)
    with world(SCENARIO.workforce()) as w:
        SCENARIO.seed_jumpcloud(w)
        first = run_pipeline(w, tmp_path / "first")
        assert first.ok
        state = first.target_out.strip().splitlines()[-1]  # the STATE the target passed on
        assert '"people"' in state
        state_path = tmp_path / "state.json"
        state_path.write_text(state, encoding="utf-8")
        SCENARIO.hr_changes(w)
        second = run_pipeline(w, tmp_path / "second", tap_args=["--state", str(state_path)])
        assert second.ok, second.explain()
        assert_converged(w.jc, refs.second, "second sync with the first one's state")
