"""Review pages for people: a run report or a plan file as HTML and Markdown.

- The HTML page is one self-contained file: inline CSS and a few lines of plain JavaScript
  (a filter by outcome and a search box), no network request and no external asset. Its
  Content-Security-Policy allows only that one style and that one script (by hash), so even a
  value that slipped through escaping could not run or load anything. Counts are in elements
  with `data-count="<outcome>"` and each record's row is `<tr data-outcome="<outcome>">`, so
  tools and tests can read the page.
- The Markdown summary fits a pull-request comment or `$GITHUB_STEP_SUMMARY`: the counts, then
  the creates, suspensions, conflicts and failures, with a cap on the rows listed.

Every value from the input is text to show, never markup: Jinja2 escapes it for HTML (and no
`scheme://` survives literally, so the page names no URL at all), and `markdown_text` escapes it
for Markdown tables. The console script `target-jumpcloud-review` renders a file; the engine
calls `write_review_page` to put `<report stem>.html` next to the report.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, NamedTuple
from urllib.parse import urlsplit

import jinja2
import jsonschema
from markupsafe import Markup

from target_jumpcloud.atomic import write_atomically
from target_jumpcloud.model import Outcome
from target_jumpcloud.output.escaping import (
    html_value,
    markdown_value,
)
from target_jumpcloud.output.hints import hint_for
from target_jumpcloud.output.review_directory import DirectoryView, directory_view, read_steps
from target_jumpcloud.plan.parse import check_plan_document, is_plan_document, parse_json_file
from target_jumpcloud.plan.schema import (
    CHANGES_SCHEMA,
    DIRECTORY_SCHEMA,
    OUTCOME_OF,
    STEPS_SCHEMA,
    PlanFormatError,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

EXIT_OK: Final = 0
EXIT_WRITE_FAILED: Final = 1
EXIT_BAD_INPUT: Final = 2

MARKDOWN_ROWS: Final = 50  # rows listed per section of the Markdown summary
# GitHub refuses a comment over 65,536 characters; the summary is kept under this.
MARKDOWN_CHARS: Final = 60_000

_SECTIONS: Final = (
    (Outcome.CREATED, "Creates"),
    (Outcome.SUSPENDED, "Suspensions"),
    (Outcome.CONFLICT, "Conflicts"),
    (Outcome.FAILED, "Failures"),
)
# Rows are listed by what needs a reader's eye first; the order within an outcome is kept.
_ATTENTION: Final = (
    Outcome.FAILED,
    Outcome.CONFLICT,
    Outcome.SUSPENDED,
    Outcome.CREATED,
    Outcome.REACTIVATED,
    Outcome.UPDATED,
    Outcome.SKIPPED,
    Outcome.UNCHANGED,
)
_RANK: Final = {outcome.value: rank for rank, outcome in enumerate(_ATTENTION)}
_GROUP: Final = "group "  # a membership change's label: group 'NAME'
_MEMBER: Final = "member"
_NOT_MEMBER: Final = "not a member"
#: Each kind of planned action's outcome (every kind: schedules and groups included).
_OUTCOME_OF_KIND: Final = {kind.value: outcome.value for kind, outcome in OUTCOME_OF.items()}
_NAME_ATTRIBUTES: Final = ("firstname", "middlename", "lastname", "displayname")

_NULLABLE_TEXT: Final = {"type": ["string", "null"]}
_OUTCOME_NAME: Final = {"type": "string", "pattern": "^[a-z][a-z_]{0,39}$"}
# What the review reads from a run report (report.py writes it; docs/sync-rules.md).
REPORT_SCHEMA: Final[dict[str, Any]] = {
    "type": "object",
    "required": ["counts", "records"],
    "properties": {
        "started_at": _NULLABLE_TEXT,
        "finished_at": _NULLABLE_TEXT,
        "dry_run": {"type": "boolean"},
        "status": _NULLABLE_TEXT,
        "message": _NULLABLE_TEXT,
        "counts": {
            "type": "object",
            "propertyNames": _OUTCOME_NAME,
            "additionalProperties": {"type": "integer", "minimum": 0},
        },
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["outcome"],
                "properties": {
                    "deel_id": _NULLABLE_TEXT,
                    "email": _NULLABLE_TEXT,
                    "username": _NULLABLE_TEXT,
                    "jumpcloud_id": _NULLABLE_TEXT,
                    "outcome": _OUTCOME_NAME,
                    "reason": _NULLABLE_TEXT,
                    "changes": CHANGES_SCHEMA,
                    "warnings": {"type": "array", "items": {"type": "string"}},
                    "hint": _NULLABLE_TEXT,
                    "leaver_steps": STEPS_SCHEMA,
                },
            },
        },
        "directory": DIRECTORY_SCHEMA,
    },
}
_REPORT_VALIDATOR: Final = jsonschema.Draft202012Validator(REPORT_SCHEMA)


class ReviewInputError(ValueError):
    """The input is neither a report nor a plan file; the message is one line naming it."""


# -- the view: what both pages show -----------------------------------------------------------


class ReviewChange(NamedTuple):
    """One attribute as it changes: `old` → `new` (None is empty).

    A named tuple: a plan of 100,000 creates has 1.2 million of them, and a frozen
    dataclass took several times as long to build.
    """

    attribute: str
    old: str | None
    new: str | None


@dataclass(frozen=True)
class ReviewRow:
    """One record of the report, or one action or record of the plan."""

    outcome: str
    username: str | None
    email: str | None
    deel_id: str | None
    jumpcloud_id: str | None
    reason: str | None
    changes: tuple[ReviewChange, ...] = ()
    warnings: tuple[str, ...] = ()
    hint: str | None = None  # what a person does about a skipped, conflicting or failed record
    steps: tuple[tuple[str, str], ...] = ()  # leaver steps: (step, result)

    @property
    def search(self) -> str:
        """What the search box matches, lower-cased: ids, username, email and name values."""
        parts = [self.username, self.email, self.deel_id, self.jumpcloud_id]
        for change in self.changes:
            if change.attribute in _NAME_ATTRIBUTES:
                parts.extend((change.old, change.new))
        return " ".join(part for part in parts if part).lower()


@dataclass(frozen=True)
class Review:
    """A report or a plan, ready to render."""

    kind: str  # "report" or "plan"
    title: str
    facts: list[tuple[str, str]]
    counts: dict[str, int]
    rows: list[ReviewRow]
    message: str | None = None
    source: str = field(default="", compare=False)
    directory: DirectoryView | None = None  # docs/leavers.md: out-of-scope and unlinked users


def _ordered_counts(counts: Mapping[str, int]) -> dict[str, int]:
    """Every outcome of the contract (zeros included) in its order, then any other names."""
    ordered = {outcome.value: int(counts.get(outcome.value, 0)) for outcome in Outcome}
    ordered.update((name, int(value)) for name, value in counts.items() if name not in ordered)
    return ordered


def _by_attention(rows: Iterable[ReviewRow]) -> list[ReviewRow]:
    return sorted(rows, key=lambda row: _RANK.get(row.outcome, len(_RANK)))


def group_changes(lines: Iterable[Mapping[str, Any]]) -> list[ReviewChange]:
    """The membership changes of a record (docs/groups.md), one row each: `group 'NAME'`."""
    shown = []
    for line in lines:
        change = line.get("change")
        if change == "added":
            shown.append(ReviewChange(f"{_GROUP}{line['group']!r}", _NOT_MEMBER, _MEMBER))
        elif change == "removed":
            shown.append(ReviewChange(f"{_GROUP}{line['group']!r}", _MEMBER, _NOT_MEMBER))
    return shown


def _record_row(record: Mapping[str, Any]) -> ReviewRow:
    changes = [
        ReviewChange(name, old, new)
        for name, (old, new) in (record.get("changes") or {}).items()
        if name != "groups"  # (shown line by line below)
    ]
    changes += group_changes(record.get("groups") or ())
    return ReviewRow(
        outcome=record["outcome"],
        username=record.get("username"),
        email=record.get("email"),
        deel_id=record.get("deel_id"),
        jumpcloud_id=record.get("jumpcloud_id"),
        reason=record.get("reason"),
        changes=tuple(changes),
        warnings=tuple(record.get("warnings") or ()),
        hint=record.get("hint") or _hint(record["outcome"], record.get("reason")),
        steps=read_steps(record.get("leaver_steps")),
    )


def _hint(outcome: str, reason: str | None) -> str | None:
    """The hint of a record from an older report or a plan file, which carry none."""
    known = outcome in {member.value for member in Outcome}
    return hint_for(Outcome(outcome), reason) if known else None


def _yes_no(value: object) -> str:
    return "yes" if value is True else "no"


def review_from_report(report: Mapping[str, Any], source: str = "") -> Review:
    """The review of a run report (as report.py writes it)."""
    dry_run = report.get("dry_run") is True
    facts = [
        ("Started", str(report.get("started_at") or "?")),
        ("Finished", str(report.get("finished_at") or "?")),
        ("Status", str(report.get("status") or "?")),
        ("Dry run", _yes_no(dry_run)),
        ("Records", str(len(report["records"]))),
    ]
    title = "target-jumpcloud dry run" if dry_run else "target-jumpcloud run report"
    return Review(
        kind="report",
        title=title,
        facts=facts,
        counts=_ordered_counts(report["counts"]),
        rows=_by_attention(_record_row(record) for record in report["records"]),
        message=report.get("message"),
        source=source,
        directory=directory_view(report.get("directory")),
    )


def _action_row(action: Mapping[str, Any]) -> ReviewRow:
    changes = [
        ReviewChange(name, change["before"], change["after"])
        for name, change in action["attributes"].items()
    ]
    manager = action.get("manager")
    # People know a manager by username; an `_id` only when none is known.
    if manager:
        changes.append(
            ReviewChange(
                "manager",
                manager["before_username"] or manager["before"],
                manager["after_username"] or manager["after"],
            )
        )
    state = action.get("state")
    if state:
        changes.append(ReviewChange("state", state["before"], state["after"]))
    changes += group_changes((action.get("groups") or {}).get("lines") or ())
    return ReviewRow(
        outcome=_OUTCOME_OF_KIND[action["kind"]],
        username=action["username"],
        email=action["email"],
        deel_id=action["deel_id"],
        jumpcloud_id=action["jumpcloud_id"],
        reason=action["reason"],
        changes=tuple(changes),
        warnings=tuple(action.get("warnings") or ()),
        steps=read_steps(action.get("leaver_steps")),
    )


def _host(url: object) -> str:
    """The host of a URL (the page names no URL: a scheme is never shown)."""
    if not isinstance(url, str) or not url:
        return "?"
    try:
        return urlsplit(url).netloc or "?"
    except ValueError:
        return "?"


def review_from_plan(document: Mapping[str, Any], source: str = "") -> Review:
    """The review of a (checked) plan file: its actions first, then the records it leaves."""
    settings = document.get("settings") or {}
    guard = document["guard"]
    facts = [
        ("Plan id", document["plan_id"]),
        ("Made", document["created_at"]),
        ("JumpCloud", _host(settings.get("api_url"))),
    ]
    if settings.get("org_id"):
        facts.append(("Organisation", str(settings["org_id"])))
    facts += [
        ("Actions", str(len(document["actions"]))),
        ("Suspensions", f"{guard['suspensions']} (limit {guard['suspension_limit']})"),
    ]
    message = None
    if guard["tripped"]:
        message = (
            f"The suspension guard trips on this plan: it suspends {guard['suspensions']} "
            f"users, more than the limit of {guard['suspension_limit']}; an apply writes "
            "nothing unless max_suspensions allows it."
        )
    rows = [_action_row(action) for action in document["actions"]]
    rows += [_record_row(record) for record in document["records"]]
    return Review(
        kind="plan",
        title=f"target-jumpcloud plan {document['plan_id'][:12]}",
        facts=facts,
        counts=_ordered_counts(document["counts"]),
        rows=_by_attention(rows),
        message=message,
        source=source,
        directory=directory_view(document.get("directory")),
    )


def review_of(data: object, source: str) -> Review:
    """The review of a parsed report or plan file; `ReviewInputError` for anything else."""
    if is_plan_document(data):
        try:
            return review_from_plan(check_plan_document(data, source), source)
        except PlanFormatError as exc:
            raise ReviewInputError(str(exc)) from None
    if isinstance(data, dict) and "records" in data and "counts" in data:
        error = jsonschema.exceptions.best_match(_REPORT_VALIDATOR.iter_errors(data))
        if error is not None:
            where = "/".join(str(part) for part in error.absolute_path) or "the top level"
            message = error.message if len(error.message) <= 160 else error.message[:157] + "..."  # noqa: PLR2004
            raise ReviewInputError(f"{source}: not a valid run report: {where}: {message}")
        return review_from_report(data, source)
    raise ReviewInputError(
        f"{source}: neither a target-jumpcloud run report nor a plan file "
        "(a report has counts and records; a plan file has format 'target-jumpcloud-plan')"
    )


def load_review(path: str | os.PathLike[str]) -> Review:
    """Read a report or a plan file for review; `ReviewInputError` (one line) when it is neither."""
    try:
        data = parse_json_file(path)
    except PlanFormatError as exc:
        raise ReviewInputError(str(exc)) from None
    return review_of(data, str(path))


# -- HTML ---------------------------------------------------------------------------------------


@cache
def _environments() -> tuple[jinja2.Environment, jinja2.Environment]:
    loader = jinja2.PackageLoader("target_jumpcloud.output", "templates")
    html = jinja2.Environment(
        loader=loader,
        autoescape=True,
        finalize=html_value,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    markdown = jinja2.Environment(
        loader=loader,
        autoescape=False,  # noqa: S701 - Markdown, escaped by `markdown_value` instead
        finalize=markdown_value,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    return html, markdown


@cache
def _asset(name: str) -> str:
    return resources.files("target_jumpcloud.output").joinpath("templates", name).read_text("utf-8")


def _csp_hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(css: str, js: str) -> str:
    """The page's policy: nothing may load; only its own style and script (by hash) apply."""
    return (
        f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
        "img-src 'none'; base-uri 'none'; form-action 'none'"
    )


def render_html(review: Review) -> str:
    """The self-contained review page."""
    html, _ = _environments()
    css, js = _asset("review.css"), _asset("review.js")
    return html.get_template("review.html.j2").render(
        review=review,
        css=Markup(css),  # noqa: S704 - the package's own stylesheet, not input
        js=Markup(js),  # noqa: S704 - the package's own script, not input
        csp=content_security_policy(css, js),
    )


# -- Markdown -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Section:
    title: str
    total: int
    rows: Sequence[ReviewRow]

    @property
    def more(self) -> int:
        return self.total - len(self.rows)


def render_markdown(
    review: Review, *, max_rows: int = MARKDOWN_ROWS, max_chars: int = MARKDOWN_CHARS
) -> str:
    """The Markdown summary: counts, then creates, suspensions, conflicts and failures.

    Each section lists at most `max_rows` rows; when the text still exceeds `max_chars`,
    fewer rows are listed (halving) until it fits.
    """
    _, markdown = _environments()
    template = markdown.get_template("review.md.j2")
    grouped = {
        outcome.value: [r for r in review.rows if r.outcome == outcome.value]
        for outcome, _ in _SECTIONS
    }
    # docs/groups.md: the records that join or leave a group, whatever else they do
    movers = [r for r in review.rows if any(c.attribute.startswith(_GROUP) for c in r.changes)]
    rows = max(0, max_rows)
    while True:
        sections = [
            _Section(title, len(grouped[outcome.value]), grouped[outcome.value][:rows])
            for outcome, title in _SECTIONS
            if grouped[outcome.value]
        ]
        if movers:
            sections.append(_Section("Group memberships", len(movers), movers[:rows]))
        text = template.render(review=review, sections=sections, max_rows=max(rows, 1))
        if len(text) <= max_chars or rows == 0:
            return text
        rows //= 2


# -- files and the console script ------------------------------------------------------------


def review_page_path(report_path: str | os.PathLike[str]) -> Path:
    """Where the review page of a report goes: `<report stem>.html` beside it."""
    path = Path(report_path).expanduser()
    page = path.with_name(f"{path.stem}.html")
    return page if page != path else path.with_name(f"{path.stem}.review.html")


def write_review_page(
    report_path: str | os.PathLike[str], report: Mapping[str, Any] | None = None
) -> Path:
    """Write the HTML review of the report at `report_path` beside it (atomically).

    For the engine, when the setting `review_html` asks for it: pass the report's JSON as
    written (`RunReport.to_json()`) to skip reading it back. Raises `ReviewInputError` for a
    report that cannot be reviewed and `OSError` when the page cannot be written.
    """
    review = load_review(report_path) if report is None else review_of(report, str(report_path))
    return write_atomically(review_page_path(report_path), render_html(review).encode("utf-8"))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="target-jumpcloud-review",
        description=(
            "Render a target-jumpcloud run report or plan file for people: a self-contained "
            "HTML page and/or a Markdown summary (for a pull-request comment or "
            "$GITHUB_STEP_SUMMARY). With neither option, the Markdown goes to stdout."
        ),
    )
    parser.add_argument("input", metavar="INPUT.json", help="a run report or a plan file")
    parser.add_argument("--html", metavar="OUT.html", help="write the HTML page here")
    parser.add_argument(
        "--markdown", metavar="OUT.md", help="write the Markdown summary here ('-': stdout)"
    )
    parser.add_argument(
        "--max-rows",
        type=int,
        default=MARKDOWN_ROWS,
        metavar="N",
        help=f"rows listed per section of the Markdown summary (default {MARKDOWN_ROWS})",
    )
    return parser


def _write_text(target: str, text: str) -> None:
    if target == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
    else:
        write_atomically(target, text.encode("utf-8"))


def main(argv: Sequence[str] | None = None) -> int:
    """`target-jumpcloud-review INPUT.json [--html OUT.html] [--markdown OUT.md]`.

    Exit 0 when written; 2, with one line on stderr, for an input that cannot be read or is
    neither a report nor a plan file (a plan whose actions were edited included); 1 when an
    output cannot be written.
    """
    args = _parser().parse_args(argv)
    try:
        review = load_review(args.input)
    except ReviewInputError as exc:
        sys.stderr.write(f"target-jumpcloud-review: {exc}\n")
        return EXIT_BAD_INPUT
    markdown_target = args.markdown or ("-" if args.html is None else None)
    try:
        if args.html is not None:
            _write_text(args.html, render_html(review))
        if markdown_target is not None:
            _write_text(markdown_target, render_markdown(review, max_rows=args.max_rows))
    except OSError as exc:
        where = getattr(exc, "filename", None) or "output"
        sys.stderr.write(f"target-jumpcloud-review: cannot write {where}: {exc.strerror or exc}\n")
        return EXIT_WRITE_FAILED
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover - the console script calls main()
    sys.exit(main())
