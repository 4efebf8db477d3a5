"""The suspension guard and the dry run, at their boundaries.

JumpCloud holds `matched` users, each linked to a worker; the input marks `suspend` of them
inactive, and also brings a new hire and a changed job title, so that "nothing at all is
applied" can be seen. `max_suspensions` is an integer (taken as given) or a percentage of the
matched users (rounded down, never below 5). Equal to the limit passes; one over trips: exit 4,
a message naming the count, the limit and the setting, and not one write. A dry run writes
nothing and exits 0, whatever the plan.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from tests.reliability.harness import (
    DROP,
    Scenario,
    World,
    people_stream,
    run_pipeline,
    run_target,
    tally,
    target_config,
    worker,
    world,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.reliability.harness import Run


def _worker(index: int, *, active: bool = True, **extra: Any) -> dict[str, Any]:
    return worker(
        f"p{index}", f"First{index}", f"Last{index}", email=f"p{index}@acme.example",
        active=active, **extra,
    )  # fmt: skip


def _seed(w: World, matched: int) -> None:
    """JumpCloud users exactly as the sync would have made them for workers 0..matched-1."""
    users = []
    for index in range(matched):
        record = _worker(index)
        users.append(
            {
                "username": f"first{index}.last{index}",
                "email": record["work_email"],
                "employeeIdentifier": record["id"],
                "firstname": record["first_name"],
                "lastname": record["last_name"],
                "displayname": record["full_name"],
                "jobTitle": record["job_title"],
                "department": record["department"]["name"],
                "location": record["work_location"],
                "costCenter": record["team"],
                "employeeType": record["hiring_type"],
                "company": record["client_legal_entity"]["name"],
                "state": "ACTIVATED",
            }
        )
    w.jc.set_users(users)


def _input(matched: int, suspend: int) -> str:
    """Workers 0..suspend-1 left; the last one promoted; one new hire."""
    records = [_worker(i, active=i >= suspend) for i in range(matched)]
    records[-1] = _worker(matched - 1, job_title="Staff Engineer")
    records.append(_worker(matched + 1000))
    return people_stream(records)


@dataclass
class GuardRun:
    """A guarded target run and the directory it left."""

    run: Run
    writes: int
    users: list[dict[str, Any]]

    def suspended(self) -> int:
        return sum(1 for u in self.users if u["state"] == "SUSPENDED")


def _guarded_run(
    tmp_path: Path, limit: Any, matched: int, suspend: int, **settings: Any
) -> GuardRun:
    with world() as w:
        _seed(w, matched)  # (seeding is not an API write: write_count stays 0)
        settings = {"max_suspensions": limit, **settings}
        run = run_target(w, tmp_path, _input(matched, suspend), settings=settings)
        tally("guard cases")
        return GuardRun(run, w.jc.write_count, w.jc.users())


# (id, max_suspensions, matched users, planned suspensions, limit, trips)
CASES: list[tuple[str, Any, int, int, int, bool]] = [
    ("integer-equal", "3", 20, 3, 3, False),
    ("integer-one-over", "3", 20, 4, 3, True),
    ("json-integer-one-over", 3, 20, 4, 3, True),
    ("zero-none-planned", 0, 20, 0, 0, False),
    ("zero-one-planned", 0, 20, 1, 0, True),
    ("percent-equal", "20%", 100, 20, 20, False),
    ("percent-one-over", "20%", 100, 21, 20, True),
    ("percent-rounds-down-equal", "10%", 59, 5, 5, False),
    ("percent-rounds-down-one-over", "10%", 59, 6, 5, True),
    ("percent-exact-equal", "10%", 60, 6, 6, False),
    ("percent-exact-one-over", "10%", 60, 7, 6, True),
    ("floor-of-five-equal", "20%", 10, 5, 5, False),
    ("floor-of-five-one-over", "20%", 10, 6, 5, True),
    ("zero-percent-floor", "0%", 10, 5, 5, False),
    ("zero-percent-one-over", "0%", 10, 6, 5, True),
    ("hundred-percent-all", "100%", 8, 7, 8, False),
    ("default-twenty-percent-equal", DROP, 30, 6, 6, False),
    ("default-twenty-percent-one-over", DROP, 30, 7, 6, True),
]
FAST = {"integer-equal", "integer-one-over", "percent-equal", "percent-one-over",
        "floor-of-five-equal", "floor-of-five-one-over"}  # fmt: skip


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(values, id=name, marks=() if name in FAST else pytest.mark.slow)
        for name, *values in CASES
    ],
)
def test_the_guard_at_its_boundary(case, tmp_path):
    limit, matched, suspend, allowed, trips = case
    result = _guarded_run(tmp_path, limit, matched, suspend)
    run = result.run
    report = run.report
    assert report is not None
    if trips:
        assert run.target_rc == 4, run.explain()
        (error,) = run.errors()
        assert f"suspends {suspend} users" in error
        assert f"limit of {allowed}" in error
        assert "max_suspensions" in error
        assert result.writes == 0, "a tripped guard must write nothing at all"
        assert result.suspended() == 0
        assert report["status"] == "guard_tripped"
        assert report["applied"] is False
        assert run.target_out == ""
    else:
        assert run.target_rc == 0, run.explain()
        assert result.suspended() == suspend
        assert result.writes == suspend + 2  # the suspensions, the promotion, the new hire
        assert report["counts"]["suspended"] == suspend
        assert report["status"] == "completed"


def test_the_limit_can_come_from_the_environment(tmp_path):
    with world() as w:
        _seed(w, 20)
        config = target_config(w, tmp_path / "out", max_suspensions=DROP)
        run = run_target(
            w,
            tmp_path,
            _input(20, 4),
            config=config,
            args=["--config", "CONFIG", "--config", "ENV"],
            env={"TARGET_JUMPCLOUD_MAX_SUSPENSIONS": "3"},
        )
        tally("guard cases")
        assert run.target_rc == 4, run.explain()
        assert w.jc.write_count == 0


@pytest.mark.parametrize("suspend", [3, 30])
def test_a_dry_run_writes_nothing_and_exits_0(suspend, tmp_path):
    result = _guarded_run(tmp_path, "5", 40, suspend, dry_run=True)
    run = result.run
    assert run.target_rc == 0, run.explain()
    assert result.writes == 0
    assert result.suspended() == 0
    report = run.report
    assert report is not None
    assert report["dry_run"] is True
    assert report["status"] == "dry_run"
    assert report["counts"]["suspended"] == suspend  # what the run would do
    assert report["counts"]["created"] == 1
    assert report["counts"]["updated"] == 1
    assert run.target_out == "", "a dry run emits no STATE"
    if suspend > 5:
        assert "Suspension guard tripped" in (report["message"] or "")


def test_the_guard_through_the_whole_pipeline(tmp_path):
    scenario = Scenario(60, 1)
    with world(scenario.workforce()) as w:
        scenario.seed_jumpcloud(w)
        assert run_pipeline(w, tmp_path / "first").ok
        scenario.hr_changes(w)  # three leavers among other changes
        writes = w.jc.write_count
        tripped = run_pipeline(w, tmp_path / "tripped", target_settings={"max_suspensions": 2})
        tally("guard cases")
        assert tripped.target_rc == 4, tripped.explain()
        assert w.jc.write_count == writes
        passed = run_pipeline(w, tmp_path / "passed", target_settings={"max_suspensions": 3})
        tally("guard cases")
        assert passed.ok, passed.explain()
        assert sum(1 for u in w.jc.users() if u["state"] == "SUSPENDED") == 3
