"""What a notification says and when one is sent: the message and the kept status (no HTTP)."""

from __future__ import annotations

from target_jumpcloud.model import Outcome, RecordResult
from target_jumpcloud.output.hints import hint_for, needs_a_person
from target_jumpcloud.output.notify import (
    PROBLEMS_LISTED,
    RunEnd,
    message_for,
    read_state,
    service_label,
    write_state,
)
from target_jumpcloud.output.report import STATUS_GUARD, RunReport, utc_now
from target_jumpcloud.plan.build import REASON_INACTIVE_NEW


def _result(position: int, outcome: Outcome, reason: str | None = None) -> RecordResult:
    return RecordResult(
        position=position,
        deel_id=f"p{position}",
        email=f"w{position}@x.io",
        outcome=outcome,
        reason=reason,
    )


def _report(*results: RecordResult, status: str = "completed") -> RunReport:
    return RunReport.from_results(results, started_at=utc_now(), dry_run=False, status=status)


def test_a_clean_run_after_a_clean_one_sends_nothing_and_after_a_problem_one_recovery():
    clean = RunEnd("completed", 0, report=_report(_result(0, Outcome.CREATED)))
    assert not clean.is_problem
    assert message_for(clean, {}) is None
    assert message_for(clean, {"status": "ok"}) is None
    message = message_for(clean, {"status": "problem", "outcome": "bad_key", "at": "x"})
    assert message is not None
    title, body, problem = message
    assert not problem
    assert title == "target-jumpcloud: recovered (completed)"
    assert "The previous run ended as bad_key at x." in body


def test_the_message_lists_the_first_problems_a_person_must_act_on_with_their_hints():
    results = [
        _result(i, Outcome.CONFLICT, f"profile id p{i} is linked to 2 JumpCloud users")
        for i in range(6)
    ]
    results.append(_result(6, Outcome.SKIPPED, REASON_INACTIVE_NEW))  # needs nobody
    results.append(_result(7, Outcome.FAILED, "PUT /systemusers/x: HTTP 400 (bad value)"))
    end = RunEnd("failed_records", 1, "1 record(s) failed", _report(*results))
    message = message_for(end, {"status": "ok"})
    assert message is not None
    title, body, problem = message
    assert problem
    assert title == "target-jumpcloud: failed records (exit 1)"
    lines = body.splitlines()
    listed = [line for line in lines if line.startswith("- ")]
    assert len(listed) == PROBLEMS_LISTED
    assert f"Problems (first {PROBLEMS_LISTED} of 7):" in lines
    assert "1 record(s) failed" in lines
    assert REASON_INACTIVE_NEW not in body
    hint = hint_for(Outcome.CONFLICT, "profile id p0 is linked to 2 JumpCloud users")
    assert f"  what to do: {hint}" in lines
    assert "Counts: created 0, updated 0, unchanged 0" in body


def test_a_guard_trip_and_a_stop_before_planning_are_problems():
    guard = RunEnd("guard_tripped", 4, "suspends 9 users", _report(status=STATUS_GUARD))
    assert guard.is_problem
    assert guard.guard_tripped
    config = RunEnd("bad_config", 2, "Bad config: max_suspensions: expected …")
    assert config.is_problem
    assert not config.guard_tripped
    message = message_for(config, {})
    assert message is not None
    assert "Bad config: max_suspensions" in message[1]
    assert "Counts:" not in message[1]


def test_who_needs_a_person():
    assert needs_a_person(Outcome.SKIPPED, "no work email (work_email is empty)")
    assert not needs_a_person(Outcome.SKIPPED, REASON_INACTIVE_NEW)
    assert needs_a_person(Outcome.CONFLICT, "anything")
    assert not needs_a_person(Outcome.CREATED, None)


def test_the_status_is_kept_atomically_and_a_broken_file_counts_as_none(tmp_path):
    path = tmp_path / "state" / "notify.json"
    assert read_state(path) == {}
    write_state(path, RunEnd("bad_key", 3))
    assert read_state(path)["status"] == "problem"
    write_state(path, RunEnd("completed", 0, report=_report()))
    assert read_state(path)["status"] == "ok"
    assert [p.name for p in path.parent.iterdir()] == ["notify.json"]
    path.write_text("{not json", encoding="utf-8")
    assert read_state(path) == {}


def test_a_service_is_named_by_position_and_scheme_only():
    label = service_label(2, "slack://T000/B000/secret-token-123/#it")
    assert label == "notify URL #2 (slack://…)"
    assert "secret" not in label
