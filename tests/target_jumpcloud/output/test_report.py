"""RunReport and Progress: counts, the one-screen summary, the atomic JSON file."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from target_jumpcloud.model import REASON_KEPT_SUSPENDED, Outcome, RecordResult
from target_jumpcloud.output.report import (
    STATUS_DRY_RUN,
    STATUS_GUARD,
    Progress,
    RunReport,
    iso,
)

START = datetime(2026, 3, 1, 2, 0, 0, tzinfo=UTC)
END = datetime(2026, 3, 1, 2, 0, 5, 250000, tzinfo=UTC)


def _result(position: int, outcome: Outcome, reason: str | None = None, **kw: Any) -> RecordResult:
    return RecordResult(
        position=position,
        deel_id=f"p{position}",
        email=f"w{position}@acme.example",
        outcome=outcome,
        reason=reason,
        **kw,
    )


def test_counts_list_every_outcome_with_zeros():
    report = RunReport.from_results(
        [
            _result(0, Outcome.CREATED),
            _result(1, Outcome.CREATED),
            _result(2, Outcome.FAILED, "HTTP 500"),
        ],
        started_at=START,
        dry_run=False,
    )
    assert report.counts == {
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "suspended": 0,
        "reactivated": 0,
        "scheduled": 0,
        "skipped": 0,
        "conflict": 0,
        "failed": 1,
    }
    assert report.failed == 1


def test_records_are_in_stream_order():
    report = RunReport.from_results(
        [
            _result(2, Outcome.CREATED),
            _result(0, Outcome.SKIPPED, "x"),
            _result(1, Outcome.UPDATED),
        ],
        started_at=START,
        dry_run=False,
    )
    assert [r.position for r in report.records] == [0, 1, 2]


def test_summary_lists_the_first_ten_of_each_problem_outcome():
    results = [_result(i, Outcome.SKIPPED, f"reason {i}") for i in range(12)]
    results += [
        _result(20, Outcome.CONFLICT, "email held"),
        _result(21, Outcome.FAILED, "boom"),
        _result(22, Outcome.UNCHANGED),
    ]
    lines = RunReport.from_results(results, started_at=START, dry_run=False).summary_lines()
    assert lines[0] == (
        "Summary of 15 records: created 0, updated 0, unchanged 1, suspended 0, "
        "reactivated 0, scheduled 0, skipped 12, conflict 1, failed 1"
    )
    assert lines[1] == "skipped (first 10 of 12):"
    assert lines[2] == "  #1 deel_id=p0 email=w0@acme.example: reason 0"
    assert "reason 9" in lines[11]
    assert not any("reason 10" in line for line in lines)
    assert lines[12] == "conflict:"
    assert lines[13] == "  #21 deel_id=p20 email=w20@acme.example: email held"
    assert lines[14:16] == ["failed:", "  #22 deel_id=p21 email=w21@acme.example: boom"]
    assert len(lines) == 16


def test_summary_says_when_suspended_users_stay_suspended():
    results = [
        _result(0, Outcome.UPDATED, REASON_KEPT_SUSPENDED),
        _result(1, Outcome.UNCHANGED, f"adopted by email; {REASON_KEPT_SUSPENDED}"),
    ]
    lines = RunReport.from_results(results, started_at=START, dry_run=False).summary_lines()
    (note,) = [line for line in lines if line.startswith("note:")]
    assert "2 active worker(s)" in note
    assert "reactivate_suspended_users is off" in note


def test_summary_frames_dry_runs_and_guard_trips():
    dry = RunReport.from_results([], started_at=START, dry_run=True, status=STATUS_DRY_RUN)
    assert "(dry run: nothing written)" in dry.summary_lines()[0]
    assert dry.applied is False
    guard = RunReport.from_results(
        [],
        started_at=START,
        dry_run=False,
        status=STATUS_GUARD,
        message="Suspension guard tripped: ...",
    )
    lines = guard.summary_lines()
    assert "(guard tripped: nothing written)" in lines[0]
    assert lines[-1] == "Suspension guard tripped: ..."


def test_json_report_shape(tmp_path):
    results = [
        _result(0, Outcome.CREATED, username="ada.lovelace", jumpcloud_id="66b0"),
        _result(
            1,
            Outcome.UPDATED,
            "adopted by email",
            username="al",
            jumpcloud_id="66b1",
            changes={"jobTitle": ("Dev", "CTO"), "employeeIdentifier": (None, "p1")},
        ),
        _result(
            2,
            Outcome.SKIPPED,
            "no work email (work_email is empty)",
            warnings=("jobTitle cut to 1024 characters",),
        ),
    ]
    report = RunReport.from_results(results, started_at=START, dry_run=False, finished_at=END)
    path = report.write(tmp_path / "out" / "report.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["started_at"] == "2026-03-01T02:00:00.000Z"
    assert data["finished_at"] == "2026-03-01T02:00:05.250Z"
    assert data["dry_run"] is False
    assert data["status"] == "completed"
    assert data["applied"] is True
    assert data["counts"]["created"] == 1
    assert data["counts"]["failed"] == 0
    assert data["records"][0] == {
        "deel_id": "p0",
        "email": "w0@acme.example",
        "username": "ada.lovelace",
        "jumpcloud_id": "66b0",
        "outcome": "created",
        "reason": None,
        "schedule": [],  # every record carries its schedule, empty when none
        "groups": [],  # and its groups (docs/groups.md)
        "leaver_steps": [],  # and its leaver steps (docs/leavers.md)
    }
    assert data["records"][1]["changes"] == {
        "jobTitle": ["Dev", "CTO"],
        "employeeIdentifier": [None, "p1"],
    }
    assert data["records"][2]["warnings"] == ["jobTitle cut to 1024 characters"]
    assert "changes" not in data["records"][2]


def test_report_is_replaced_atomically(tmp_path, monkeypatch):
    path = tmp_path / "report.json"
    path.write_text('{"old": true}', encoding="utf-8")
    report = RunReport.from_results(
        [_result(0, Outcome.CREATED)], started_at=START, dry_run=False, finished_at=END
    )

    def broken_dumps(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("target_jumpcloud.atomic.os.fsync", broken_dumps)
    with pytest.raises(OSError, match="disk full"):
        report.write(path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
    monkeypatch.undo()
    report.write(path)
    assert json.loads(path.read_text(encoding="utf-8"))["counts"]["created"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


def test_iso_is_utc_with_z():
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)) == "2026-01-02T03:04:05.006Z"


def test_progress_logs_at_most_every_interval_and_at_the_end(caplog):
    now = [0.0]
    progress = Progress(
        logging.getLogger("test.progress"), "records read", interval=5.0, clock=lambda: now[0]
    )
    caplog.set_level(logging.INFO, logger="test.progress")
    logged = []
    for count in range(1, 101):
        now[0] = count * 0.25  # 25 s in all
        logged.append(progress.tick(count, 100))
    assert sum(logged) == 5  # at 5, 10, 15, 20 s and at the end (25 s)
    assert caplog.messages[-1] == "records read: 100/100"
    assert caplog.messages[0] == "records read: 20/100"


@pytest.mark.parametrize("email", ["w@acme.example", "x\ud800y@acme.example"])
def test_the_report_written_in_pieces_is_the_whole_reports_bytes(tmp_path, email):
    # (a lone surrogate cannot be encoded by msgspec: the report is then written by json)
    results = [_result(i, Outcome.UNCHANGED, username=f"u{i}") for i in range(2_345)]
    results[1_500] = RecordResult(position=1_500, deel_id="p", email=email, outcome=Outcome.SKIPPED)
    report = RunReport.from_results(results, started_at=START, dry_run=True, finished_at=END)
    path = report.write(tmp_path / "report.json")
    whole = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    assert path.read_bytes() == whole.encode("utf-8", errors="backslashreplace")
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]
