"""The review pages: HTML and Markdown from a report or a plan, escaped."""

from __future__ import annotations

import base64
import hashlib
import re
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from target_jumpcloud.output.escaping import MARKDOWN_CELL, markdown_text
from target_jumpcloud.output.review import (
    ReviewInputError,
    render_html,
    render_markdown,
    review_from_plan,
    review_from_report,
    review_of,
    review_page_path,
    write_review_page,
)
from target_jumpcloud.plan.document import plan_document
from target_jumpcloud.settings.sync_settings import SuspensionLimit

from tests.target_jumpcloud.plan.test_document import (
    MADE,
    SETTINGS,
    WORKERS,
    directory,
    make_plan,
)
from tests.target_jumpcloud.plan.test_properties import FAST

if TYPE_CHECKING:
    from pathlib import Path

EVIL = "<script>alert(1)</script>"
EVIL_IMG = '<img src=x onerror="alert(2)">'
URL_RE = re.compile(r"https?://|url\(|@import", re.IGNORECASE)
LOADING_ATTRIBUTES = {
    "src",
    "href",
    "srcset",
    "action",
    "formaction",
    "poster",
    "data",
    "background",
}


def record(outcome: str, n: int = 0, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "deel_id": f"p{n}",
        "email": f"user{n}@acme.example",
        "username": f"user{n}",
        "jumpcloud_id": f"u{n}",
        "outcome": outcome,
        "reason": None,
    }
    entry.update(fields)
    return entry


def report(records: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    counts = dict.fromkeys(
        [
            "created",
            "updated",
            "unchanged",
            "suspended",
            "reactivated",
            "scheduled",
            "skipped",
            "conflict",
            "failed",
        ],
        0,
    )
    for entry in records:
        counts[entry["outcome"]] += 1
    data = {
        "started_at": "2026-03-02T08:30:00.000Z",
        "finished_at": "2026-03-02T08:31:00.000Z",
        "dry_run": False,
        "status": "completed",
        "applied": True,
        "message": None,
        "counts": counts,
        "records": records,
    }
    data.update(fields)
    return data


SAMPLE = report(
    [
        record("unchanged", 1),
        record(
            "updated",
            2,
            username="priya.raman",
            changes={"firstname": ["Priya", EVIL], "lastname": ["Raman", EVIL_IMG]},
        ),
        record("created", 3, username="kate.johnson", email="kate@acme.example"),
        record("suspended", 4),
        record("failed", 5, reason="JumpCloud answered 503; see https://status.example/x"),
        record("conflict", 6, reason="work email held by | someone *important*"),
        record("skipped", 7, username=None, reason="no work email", warnings=["cut at 1024"]),
    ]
)


class Page(HTMLParser):
    """The parts of the review page a reader (and these tests) look at."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.counts: dict[str, str] = {}
        self.rows: list[dict[str, Any]] = []
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.csp = ""
        self.loading: list[tuple[str, str]] = []  # attributes that would fetch something
        self._in_cell = False
        self._count: str | None = None
        self._cells: list[str] | None = None
        self._in: str | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        self.loading += [(tag, name) for name, _ in attrs if name in LOADING_ATTRIBUTES]
        if tag == "meta" and found.get("http-equiv") == "Content-Security-Policy":
            self.csp = found.get("content") or ""
        if "data-count" in found:
            self._count = found["data-count"]
            self.counts[str(self._count)] = ""
        if tag == "tr" and "data-outcome" in found:
            self.rows.append({"outcome": found["data-outcome"], "search": found["data-search"]})
            self._cells = []
        if tag == "td" and self._cells is not None:
            self._cells.append("")
            self._in_cell = True
        if tag in {"script", "style"}:
            self._in = tag
            (self.scripts if tag == "script" else self.styles).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "span":
            self._count = None
        if tag == "td":
            self._in_cell = False
        if tag == "tr" and self._cells is not None:
            self.rows[-1]["cells"] = self._cells
            self._cells = None
        if tag in {"script", "style"}:
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        elif self._in == "style":
            self.styles[-1] += data
        if self._count is not None:
            self.counts[self._count] += data
        if self._cells and self._in_cell:
            self._cells[-1] += data


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# -- HTML --------------------------------------------------------------------------------------


def test_the_page_shows_the_counts_and_one_row_per_record() -> None:
    page = Page(render_html(review_from_report(SAMPLE)))
    assert {name: int(value) for name, value in page.counts.items()} == SAMPLE["counts"]
    assert len(page.rows) == len(SAMPLE["records"])
    # Rows needing a reader's eye come first; the outcome is each row's first cell.
    assert [row["outcome"] for row in page.rows] == [
        "failed",
        "conflict",
        "suspended",
        "created",
        "updated",
        "skipped",
        "unchanged",
    ]
    assert [row["cells"][0] for row in page.rows] == [row["outcome"] for row in page.rows]
    updated = next(row for row in page.rows if row["outcome"] == "updated")
    assert updated["cells"][1:3] == ["priya.raman", "user2@acme.example"]
    assert f"firstname Priya → {EVIL}" in updated["cells"][4]
    assert "priya" in updated["search"]
    assert EVIL.lower() in updated["search"]  # names are searchable, as text
    skipped = next(row for row in page.rows if row["outcome"] == "skipped")
    assert "warning: cut at 1024" in skipped["cells"][3]


def test_markup_in_any_value_is_shown_as_text_never_as_markup() -> None:
    text = render_html(review_from_report(SAMPLE))
    assert EVIL not in text
    assert "<img" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    page = Page(text)
    assert len(page.scripts) == 1  # only the page's own
    assert "alert" not in page.scripts[0]


def test_the_page_loads_nothing_and_names_no_url() -> None:
    text = render_html(review_from_report(SAMPLE))
    assert URL_RE.search(text) is None, URL_RE.search(text)
    assert Page(text).loading == []
    failed = next(row for row in Page(text).rows if row["outcome"] == "failed")
    assert "see https://status.example/x" in failed["cells"][3]  # shown as the text it is


def test_the_policy_allows_exactly_the_pages_own_style_and_script() -> None:
    page = Page(render_html(review_from_report(SAMPLE)))
    assert page.csp.startswith("default-src 'none'; ")
    assert f"script-src {_hash(page.scripts[0])};" in page.csp
    assert f"style-src {_hash(page.styles[0])};" in page.csp
    assert "unsafe-inline" not in page.csp


@FAST
@given(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=40))
@example("see https://x.example/a?b=1&c=<2> 'q' \"dq\" ://")
def test_any_text_round_trips_through_the_page(text: str) -> None:
    data = report([record("updated", 1, username=text, reason=text, changes={"x": [text, None]})])
    page = Page(render_html(review_from_report(data)))
    (row,) = page.rows
    assert row["cells"][1] == (text or "none")
    assert row["cells"][3] == text
    assert URL_RE.search(render_html(review_from_report(data))) is None


def test_a_plan_shows_each_action_with_its_before_and_after_values() -> None:
    users = directory()
    plan = make_plan(
        WORKERS,
        users,
        reactivate_suspended_users=True,
        max_suspensions=SuspensionLimit(0, percent=False),
    )
    document = plan_document(plan, users, SETTINGS, created_at=MADE)
    review = review_from_plan(document)
    assert review.title == f"target-jumpcloud plan {document['plan_id'][:12]}"
    assert ("JumpCloud", "console.jumpcloud.com") in review.facts
    assert review.message is not None
    assert "guard trips" in review.message
    page = Page(render_html(review))
    assert {k: int(v) for k, v in page.counts.items()} == document["counts"]
    assert len(page.rows) == len(document["actions"]) + len(document["records"])
    suspended = next(row for row in page.rows if row["outcome"] == "suspended")
    assert "state STAGED → SUSPENDED" in suspended["cells"][4]
    update = next(row for row in page.rows if row["outcome"] == "updated")
    assert "jobTitle Engineer → Cryptanalyst" in update["cells"][4]
    created = next(row for row in page.rows if row["outcome"] == "created")
    assert "employeeIdentifier p4" in created["cells"][4]  # a new user: its values only
    assert URL_RE.search(render_html(review)) is None


# -- Markdown ----------------------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    """A Markdown table row split on its unescaped pipes."""
    return re.split(r"(?<!\\)\|", line)[1:-1]


def test_the_markdown_lists_counts_then_creates_suspensions_conflicts_failures() -> None:
    text = render_markdown(review_from_report(SAMPLE))
    assert "| created | 1 |" in text
    assert "| unchanged | 1 |" in text
    headings = re.findall(r"^#### (.+)$", text, re.MULTILINE)
    assert headings == ["Creates (1)", "Suspensions (1)", "Conflicts (1)", "Failures (1)"]
    assert "priya.raman" not in text  # updates are counted, not listed
    conflict = next(line for line in text.splitlines() if "user6" in line)
    assert len(_cells(conflict)) == 4
    assert "work email held by \\| someone \\*important\\*" in conflict
    failure = next(line for line in text.splitlines() if "user5" in line)
    assert "JumpCloud answered 503" in failure


def test_markdown_text_escapes_markup_tables_and_mentions() -> None:
    assert markdown_text(EVIL) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert markdown_text("a|b *c* _d_ `e` [f](g) ~h~ \\") == (
        "a\\|b \\*c\\* \\_d\\_ \\`e\\` \\[f\\](g) \\~h\\~ \\\\"
    )
    assert markdown_text("@security-team") == "@\u2060security-team"
    assert markdown_text("ada@acme.example") == "ada@acme.example"  # an email is no mention
    assert markdown_text("two\nlines\r\tand more") == "two lines and more"
    assert markdown_text("x" * 500) == "x" * (MARKDOWN_CELL - 1) + "…"


@FAST
@given(st.text(max_size=60))
def test_any_text_stays_inside_its_markdown_cell(text: str) -> None:
    escaped = markdown_text(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    assert "<" not in escaped
    assert re.search(r"(?<!\\)\|", escaped.replace("\\\\", "")) is None


def test_a_huge_run_lists_a_capped_number_of_rows() -> None:
    many = report([record("created", n) for n in range(120)])
    text = render_markdown(review_from_report(many), max_rows=50)
    assert len(re.findall(r"^\| user\d+ \|", text, re.MULTILINE)) == 50
    assert "…and 70 more: see the HTML page or the JSON file." in text
    tight = render_markdown(review_from_report(many), max_chars=3_000)
    assert len(tight) <= 3_000
    assert "| created | 120 |" in tight


def test_the_markdown_of_a_plan_lists_its_planned_writes() -> None:
    users = directory()
    document = plan_document(make_plan(WORKERS, users), users, SETTINGS, created_at=MADE)
    text = render_markdown(review_from_plan(document))
    assert text.startswith(f"### target-jumpcloud plan {document['plan_id'][:12]}")
    assert "#### Creates (1)" in text
    assert "kate.johnson" in text
    assert "state: STAGED → SUSPENDED" in text


# -- inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ([], "neither a target-jumpcloud run report nor a plan file"),
        ({"records": []}, "neither"),
        ({"counts": {}, "records": [{"outcome": 3}]}, "records/0/outcome"),
        ({"counts": {"created": -1}, "records": []}, "counts/created"),
        ({"format": "target-jumpcloud-plan"}, "not a valid plan file"),
    ],
)
def test_an_input_that_is_neither_is_one_line(data: object, says: str) -> None:
    with pytest.raises(ReviewInputError) as caught:
        review_of(data, "input.json")
    assert says in str(caught.value)
    assert str(caught.value).startswith("input.json: ")
    assert "\n" not in str(caught.value)


def test_the_page_beside_a_report_is_its_stem_dot_html(tmp_path: Path) -> None:
    assert (
        review_page_path(tmp_path / "jumpcloud-report.json") == tmp_path / "jumpcloud-report.html"
    )
    assert review_page_path(tmp_path / "r.html") == tmp_path / "r.review.html"
    path = tmp_path / "out" / "report.json"
    path.parent.mkdir()
    import json

    path.write_text(json.dumps(SAMPLE), encoding="utf-8")
    page = write_review_page(path)
    assert page == tmp_path / "out" / "report.html"
    assert Page(page.read_text(encoding="utf-8")).counts["failed"] == "1"
    page.unlink()
    assert write_review_page(path, SAMPLE) == page  # from the report in memory
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html", "report.json"]
