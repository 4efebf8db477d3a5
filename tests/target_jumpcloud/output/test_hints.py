"""The hints table: every problem record gets the hint of its kind, and the docs print the table.

The reasons are the ones the sync really writes: records are mapped and planned by the real
mapper and planner against a directory, so a reworded reason that no longer matches its rule
fails here (it would fall to the catch-all hint).
"""

from __future__ import annotations

from typing import Any

import pytest
from markupsafe import escape
from target_jumpcloud.model import Outcome, RecordResult
from target_jumpcloud.output.escaping import markdown_text
from target_jumpcloud.output.hints import HINTED, HINTS, hint_for, hint_rule, hints_markdown
from target_jumpcloud.output.report import RunReport, record_entry, utc_now
from target_jumpcloud.output.review import (
    render_html,
    render_markdown,
    review_from_report,
)

from tests.target_jumpcloud.plan.test_build import jc_user, plan, records, worker
from tests.update_docs import ALERTS_DOC, HINTS_MARKERS, hints_table


def _kind(result: RecordResult) -> str:
    rule = hint_rule(result.outcome, result.reason)
    assert rule is not None, result
    return rule.kind


def _planned_result(recs: list[Any], users: list[Any] = ()) -> list[RecordResult]:  # type: ignore[assignment]
    return list(plan(recs, users).results)


@pytest.mark.parametrize(
    ("workers", "kind"),
    [
        ([worker("P1", None)], "missing_email"),
        ([worker("P1", "not-an-address")], "missing_email"),
        ([worker(None, "a@x.io")], "missing_profile_id"),
        ([worker("P1", "a@x.io", active="maybe")], "bad_active_flag"),
        ([worker("P1", "a@x.io", active=False)], "inactive_without_account"),
    ],
)
def test_a_rejected_or_needless_record_gets_the_hint_of_its_kind(workers, kind):
    (result,) = _planned_result(records(*workers))
    assert result.outcome is Outcome.SKIPPED
    assert _kind(result) == kind


def test_a_duplicate_profile_id_and_a_taken_email_have_their_own_hints():
    results = _planned_result(
        records(
            worker("P1", "a@x.io"),
            worker("P1", "a@x.io"),
            worker("P2", "b@x.io", active=False),
            worker("P3", "b@x.io"),
        )
    )
    kinds = {r.deel_id: _kind(r) for r in results if r.outcome is Outcome.SKIPPED}
    assert kinds == {"P1": "duplicate_profile_id", "P2": "email_taken_by_active_worker"}


def test_each_conflict_of_the_planner_has_its_own_hint():
    shared = records(worker("P1", "s@x.io"), worker("P2", "s@x.io"))
    assert {_kind(r) for r in _planned_result(shared)} == {"shared_work_email"}

    two_linked = [
        jc_user("u1", "a1", "a1@x.io", eid="P1"),
        jc_user("u2", "a2", "a2@x.io", eid="P1"),
    ]
    (linked,) = _planned_result(records(worker("P1", "a@x.io")), two_linked)
    assert _kind(linked) == "profile_id_on_several_users"

    held_twice = [jc_user("u1", "a1", "a@x.io"), jc_user("u2", "a2", "A@x.io")]
    (twice,) = _planned_result(records(worker("P1", "a@x.io")), held_twice)
    assert _kind(twice) == "email_on_several_users"

    other = [jc_user("u1", "a1", "a@x.io", eid="P9")]
    (taken,) = _planned_result(records(worker("P1", "a@x.io")), other)
    assert _kind(taken) == "email_on_another_worker"


def test_every_rule_recognises_its_own_example_and_each_outcome_ends_with_a_catch_all():
    for rule in HINTS:
        got = hint_rule(rule.outcome, rule.example)
        assert got is not None
        assert got.kind == rule.kind or rule.example == "(any other reason)", rule.kind
    for outcome in HINTED:
        last = [rule for rule in HINTS if rule.outcome is outcome][-1]
        assert last.pattern.pattern == ""
        assert hint_for(outcome, "a reason nobody has written yet") == last.hint
        assert hint_for(outcome, None) == last.hint
    assert len({rule.kind for rule in HINTS}) == len(HINTS)


@pytest.mark.parametrize("outcome", sorted(set(Outcome) - HINTED))
def test_outcomes_that_need_nobody_carry_no_hint(outcome):
    assert hint_for(outcome, "adopted by email") is None


def test_the_report_the_review_page_and_the_markdown_show_the_hint():
    skipped = RecordResult(
        position=0, deel_id="P1", email=None, outcome=Outcome.SKIPPED, reason="no work email"
    )
    created = RecordResult(position=1, deel_id="P2", email="b@x.io", outcome=Outcome.CREATED)
    reason = "work email is shared by 2 records (profile ids P3, P4) and 2 of them are active"
    conflict = RecordResult(
        position=2, deel_id="P3", email="s@x.io", outcome=Outcome.CONFLICT, reason=reason
    )
    results = [skipped, created, conflict]
    report = RunReport.from_results(results, started_at=utc_now(), dry_run=False)
    entries = report.to_json()["records"]
    assert entries[0]["hint"] == hint_for(Outcome.SKIPPED, "no work email")
    assert "work email in Deel" in entries[0]["hint"]
    assert "hint" not in entries[1]
    assert record_entry(created) == created.to_json()
    review = review_from_report(report.to_json())
    assert [row.hint for row in review.rows if row.outcome == "skipped"] == [entries[0]["hint"]]
    hint = hint_for(Outcome.CONFLICT, reason)
    assert hint is not None
    assert f"what to do: {markdown_text(hint)}" in render_markdown(review)
    assert f'<div class="hint">what to do: {escape(hint)}</div>' in render_html(review)


def test_a_report_without_hints_gets_them_on_its_review_page():
    report = {
        "started_at": "2026-01-01T00:00:00.000Z",
        "finished_at": "2026-01-01T00:00:01.000Z",
        "dry_run": False,
        "status": "completed",
        "applied": True,
        "message": None,
        "counts": {"conflict": 1},
        "records": [{"outcome": "conflict", "reason": "changed since the plan was made: x"}],
    }
    (row,) = review_from_report(report).rows
    assert row.hint == hint_for(Outcome.CONFLICT, "changed since the plan was made")


def test_the_docs_print_the_hints_table_as_the_code_has_it():
    begin, end = HINTS_MARKERS
    in_doc = ALERTS_DOC.read_text(encoding="utf-8").split(begin, 1)[1].split(end, 1)[0].strip()
    assert in_doc == hints_table(), "docs/alerts.md's hints table drifted: run `make docs`"
    assert hints_table() == hints_markdown().strip()
    for rule in HINTS:
        assert f"`{rule.kind}`" in in_doc
