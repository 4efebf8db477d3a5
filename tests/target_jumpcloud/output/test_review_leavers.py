"""The review pages show the directory section (out of scope, unlinked) and leaver steps."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from target_jumpcloud.output.review import (
    ReviewInputError,
    render_html,
    render_markdown,
    review_of,
)

REPORT: dict[str, Any] = {
    "started_at": "2027-01-04T08:00:00.000Z",
    "finished_at": "2027-01-04T08:00:01.000Z",
    "dry_run": False,
    "status": "completed",
    "message": None,
    "counts": {"suspended": 1},
    "records": [
        {
            "deel_id": "p1",
            "email": "ada@acme.example",
            "username": "ada.lovelace",
            "jumpcloud_id": "u1",
            "outcome": "suspended",
            "reason": None,
            "schedule": [],
            "leaver_steps": [
                {"step": "remove_groups", "result": "done"},
                {"step": "reset_mfa", "result": "failed"},
            ],
        }
    ],
    "directory": {
        "complete_input": True,
        "out_of_scope": [
            {
                "jumpcloud_id": "u9",
                "username": "gone.person",
                "email": "gone@acme.example",
                "employeeIdentifier": "0b4f3a52-9999-4c4c-8c8c-000000000009",
                "missed_runs": 2,
                "action": "suspended",
                "reason": "not in Deel's complete listing for 2 runs",
                "leaver_steps": [{"step": "expire_password", "result": "done"}],
            },
            {
                "jumpcloud_id": "u8",
                "username": "break.glass",
                "email": "bg@acme.example",
                "employeeIdentifier": "0b4f3a52-8888-4c4c-8c8c-000000000008",
                "missed_runs": 3,
                "action": "protected",
            },
        ],
        "unlinked": {"count": 2, "first": ["admin", "svc-backup"]},
    },
}


def test_the_html_page_shows_both_lists_and_the_steps():
    page = render_html(review_of(REPORT, "report.json"))
    assert 'data-directory-count="out_of_scope">2<' in page
    assert 'data-out-of-scope="suspended"' in page
    assert 'data-out-of-scope="protected"' in page
    assert "not in Deel&#39;s complete listing for 2 runs" in page
    assert "expire_password" in page
    assert 'data-directory-count="unlinked">2<' in page
    assert "svc-backup" in page
    assert "reset_mfa" in page
    assert 'class="step-failed"' in page


def test_the_markdown_summary_shows_both_lists_and_the_steps():
    text = render_markdown(review_of(REPORT, "report.json"))
    assert "#### Out of scope (2)" in text
    assert "| suspended | gone.person |" in text
    assert "| protected | break.glass |" in text
    assert "#### Unlinked (2)" in text
    assert "admin, svc-backup" in text
    assert "leaver step reset\\_mfa: failed" in text


def test_an_incomplete_input_says_the_check_was_not_made():
    report = copy.deepcopy(REPORT)
    report["directory"] = {
        "complete_input": False,
        "note": "out-of-scope check not made: the input was not a complete listing",
        "out_of_scope": [],
        "unlinked": {"count": 0, "first": []},
    }
    review = review_of(report, "report.json")
    assert "check not made" in render_html(review)
    assert "check not made" in render_markdown(review)


def test_a_report_without_the_section_still_renders():
    report = copy.deepcopy(REPORT)
    del report["directory"]
    assert "Out of scope" not in render_html(review_of(report, "report.json"))


def test_a_malformed_section_is_one_line():
    report = copy.deepcopy(REPORT)
    report["directory"]["unlinked"] = {"count": -1, "first": []}
    with pytest.raises(ReviewInputError, match="not a valid run report: directory/unlinked/count"):
        review_of(report, "report.json")
