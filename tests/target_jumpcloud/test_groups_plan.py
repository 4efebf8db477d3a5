"""Group memberships in a reviewed plan (docs/groups.md): listed, applied exactly, drift-checked.

A dry run writes the plan file; JumpCloud may change before it is applied; `apply_plan` then
applies the membership lines still to do, holds back a record whose group was deleted, and a
second apply writes nothing.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.engine import SyncRun
from target_jumpcloud.settings.sync_settings import parse_settings

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, person, writes
from tests.target_jumpcloud.test_groups_sync import (
    RULES,
    entry,
    first_sync,
    group_members,
    run_sync,
    staff,
    user_of,
)

if TYPE_CHECKING:
    from pathlib import Path


@pytest.fixture
def app(jumpcloud_emulator):
    return jumpcloud_emulator.app


def moved() -> list[dict[str, Any]]:
    workers = staff()
    workers[1] = person(
        "p2", "Folake", "Adeyemi", work_location="Lagos", department={"id": "d2", "name": "Finance"}
    )
    return workers


def apply(api_url: str, path: Path) -> SyncRun:
    config = {"api_key": KEY, "api_url": api_url, "apply_plan": str(path), "group_rules": RULES}
    run = SyncRun(parse_settings(config), fast_client(api_url))
    run.apply_reviewed_plan()
    return run


def test_a_plan_lists_each_membership_change_and_is_applied_exactly_once(
    app, jumpcloud_api_url, tmp_path
):
    ids = first_sync(app, jumpcloud_api_url)
    path = tmp_path / "plan.json"
    dry = run_sync(jumpcloud_api_url, moved(), dry_run=True, plan_path=str(path))
    assert writes(app) == []
    assert {line["change"] for line in entry(dry, "p2")["groups"]} >= {"added", "removed"}
    document = json.loads(path.read_text())
    [folake] = [a for a in document["actions"] if a["deel_id"] == "p2"]
    lines = {line["group"]: line for line in folake["groups"]["lines"]}
    assert (lines["Dept - Finance"]["before"], lines["Dept - Finance"]["after"]) == (False, True)
    assert (lines["Dept - Engineering"]["change"], lines["Dept - Engineering"]["after"]) == (
        "removed",
        False,
    )
    assert folake["groups"]["ledger"]["after"].count(",") == 2
    assert "attributes.deelSyncGroups" not in folake["attributes"]
    assert document["settings"]["group_rules"][1] == {"group": "Dept - {department}", "when": {}}

    applied = apply(jumpcloud_api_url, path)
    assert ids["p2"] in group_members(app, "Dept - Finance")
    assert ids["p2"] not in group_members(app, "Dept - Engineering")
    assert applied.report is not None
    assert entry(applied, "p2")["outcome"] == "updated"
    assert sorted(e.method for e in writes(app)) == ["POST", "POST", "PUT"]
    app.reset_log()
    again = apply(jumpcloud_api_url, path)
    assert writes(app) == []
    assert entry(again, "p2")["outcome"] == "unchanged"


def test_a_membership_done_by_hand_since_the_plan_is_not_sent_again(
    app, jumpcloud_api_url, tmp_path
):
    ids = first_sync(app, jumpcloud_api_url)
    path = tmp_path / "plan.json"
    run_sync(jumpcloud_api_url, moved(), dry_run=True, plan_path=str(path))
    finance = app.find_group("Dept - Finance")["id"]
    app.add_group_member(finance, ids["p2"])
    app.reset_log()
    apply(jumpcloud_api_url, path)
    assert app.writes.get("member_add", 0) == 0
    assert ids["p2"] not in group_members(app, "Dept - Engineering")


def test_a_group_deleted_since_the_plan_is_a_conflict(app, jumpcloud_api_url, tmp_path):
    first_sync(app, jumpcloud_api_url)
    path = tmp_path / "plan.json"
    run_sync(jumpcloud_api_url, moved(), dry_run=True, plan_path=str(path))
    app.delete_group(app.find_group("Dept - Finance")["id"])
    app.reset_log()
    applied = apply(jumpcloud_api_url, path)
    folake = entry(applied, "p2")
    assert folake["outcome"] == "conflict"
    assert "group 'Dept - Finance'" in folake["reason"]
    assert "no longer exists" in folake["reason"]
    assert writes(app) == []
    assert user_of(app, "p2")["department"] == "Engineering"


def test_the_review_pages_show_each_membership_change(app, jumpcloud_api_url, tmp_path):
    from target_jumpcloud.output.review import load_review, render_html, render_markdown

    first_sync(app, jumpcloud_api_url)
    plan_path = tmp_path / "plan.json"
    report_path = tmp_path / "report.json"
    run_sync(
        jumpcloud_api_url,
        moved(),
        dry_run=True,
        plan_path=str(plan_path),
        report_path=str(report_path),
    )
    for source in (plan_path, report_path):
        review = load_review(source)
        html = render_html(review)
        markdown = render_markdown(review)
        for page in (html, markdown):
            assert "group &#39;Dept - Finance&#39;" in page or "group 'Dept - Finance'" in page
            assert "not a member" in page
        [row] = [r for r in review.rows if r.deel_id == "p2"]
        shown = {c.attribute: (c.old, c.new) for c in row.changes}
        assert shown["group 'Dept - Finance'"] == ("not a member", "member")
        assert shown["group 'Dept - Engineering'"] == ("member", "not a member")
