"""The console script `target-jumpcloud-review INPUT.json [--html OUT.html] [--markdown OUT.md]`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from target_jumpcloud.output.review import main
from target_jumpcloud.plan.document import plan_document, write_plan

from tests.target_jumpcloud.output.test_review import SAMPLE, Page
from tests.target_jumpcloud.plan.test_document import (
    MADE,
    SETTINGS,
    WORKERS,
    directory,
    make_plan,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

SCRIPT = Path(sys.executable).parent / "target-jumpcloud-review"


def review(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script, as a person or a CI job runs it."""
    return subprocess.run(
        [str(SCRIPT), *map(str, args)],
        capture_output=True,
        text=True,
        check=False,
        cwd=cwd,
        timeout=60,
    )


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(json.dumps(SAMPLE), encoding="utf-8")
    return path


@pytest.fixture
def plan_file(tmp_path: Path) -> Path:
    users = directory()
    document = plan_document(make_plan(WORKERS, users), users, SETTINGS, created_at=MADE)
    return write_plan(tmp_path / "plan.json", document)


def test_a_report_renders_to_both_pages(tmp_path: Path, report_file: Path) -> None:
    result = review(
        report_file, "--html", "out/review.html", "--markdown", "out/review.md", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert result.stderr == ""
    page = Page((tmp_path / "out" / "review.html").read_text(encoding="utf-8"))
    assert {k: int(v) for k, v in page.counts.items()} == SAMPLE["counts"]
    markdown = (tmp_path / "out" / "review.md").read_text(encoding="utf-8")
    assert markdown.startswith("### target-jumpcloud run report")


def test_without_an_output_the_markdown_goes_to_stdout(tmp_path: Path, plan_file: Path) -> None:
    result = review(plan_file, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("### target-jumpcloud plan ")
    assert "#### Creates (1)" in result.stdout
    html_only = review(plan_file, "--html", "plan.html", cwd=tmp_path)
    assert html_only.returncode == 0
    assert html_only.stdout == ""
    assert (tmp_path / "plan.html").is_file()


def _bad_inputs(tmp_path: Path, plan_file: Path) -> dict[str, tuple[Path, str]]:
    tampered = json.loads(plan_file.read_text(encoding="utf-8"))
    tampered["actions"][0]["attributes"]["jobTitle"]["after"] = "CEO"
    cases: dict[str, tuple[bytes | None, str]] = {
        "missing.json": (None, "no such file"),
        "binary.json": (b"\x89PNG\r\n", "not UTF-8"),
        "broken.json": (b'{"records": [', "not valid JSON"),
        "neither.json": (b'{"hello": "world"}', "neither a target-jumpcloud run report nor a plan"),
        "list.json": (b"[1, 2]", "neither"),
        "bad-report.json": (
            b'{"counts": {}, "records": [{"outcome": null}]}',
            "not a valid run report",
        ),
        "tampered.json": (json.dumps(tampered).encode(), "was changed after it was made"),
    }
    out = {}
    for name, (content, says) in cases.items():
        path = tmp_path / name
        if content is not None:
            path.write_bytes(content)
        out[name] = (path, says)
    return out


def test_an_input_that_is_neither_exits_2_with_one_line(tmp_path: Path, plan_file: Path) -> None:
    for name, (path, says) in _bad_inputs(tmp_path, plan_file).items():
        result = review(path, "--html", "x.html", cwd=tmp_path)
        assert result.returncode == 2, (name, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.splitlines()
        assert len(lines) == 1, (name, result.stderr)
        assert lines[0].startswith("target-jumpcloud-review: "), name
        assert says in lines[0], (name, lines[0])
        assert "Traceback" not in result.stderr
        assert not (tmp_path / "x.html").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["--html", "{folder}"],  # a folder, not a file
        ["--markdown", "{file}/inside.md"],  # under a file
    ],
)
def test_an_output_that_cannot_be_written_exits_1(
    tmp_path: Path, report_file: Path, args: Sequence[str], capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "folder"
    folder.mkdir()
    filled = [a.format(folder=folder, file=report_file) for a in args]
    assert main([str(report_file), *filled]) == 1
    err = capsys.readouterr().err
    assert err.startswith("target-jumpcloud-review: cannot write ")
    assert err.count("\n") == 1
    assert list(folder.iterdir()) == []  # no temporary file left behind


def test_the_in_process_entry_point_matches_the_script(
    tmp_path: Path, report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(report_file), "--markdown", "-", "--max-rows", "0"]) == 0
    out = capsys.readouterr().out
    assert "#### Failures (1)" in out
    assert "…and 1 more" in out
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "no such file" in capsys.readouterr().err
