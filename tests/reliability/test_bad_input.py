"""Bad input: the corpus in bad_input.py, fed straight to target-jumpcloud.

A broken stream stops the run before anything is written, with one ERROR line that names the
input line and the reason and quotes nothing (exit 5). A bad record ends as its own outcome with
a clear reason while every other record is applied (exit 0). Never a traceback, never a key in
the output, never a user written wrongly.
"""

from __future__ import annotations

import pytest

from tests.reliability.bad_input import CASES, Case
from tests.reliability.harness import run_target, tally, world

MAX_MESSAGE = 400  # an error line or a reason this long is quoting data
#: The record-level cases `make test` runs (with every broken-stream case); `make chaos` runs all.
FAST = frozenset(
    {
        "empty-stream",
        "escaped-keys",
        "duplicate-keys-last-wins",
        "message-words-inside-the-record",
        "crlf-line-endings",
        "email-missing",
        "email-with-space",
        "email-lone-surrogate",
        "email-uppercase",
        "email-idn-domain",
        "id-integer",
        "active-yes",
        "title-ten-megabytes",
        "right-to-left-names",
        "emoji",
        "name-lone-surrogate",
        "duplicate-id",
        "duplicate-email-both-active",
        "duplicate-email-one-active",
        "three-hundred-identical-names",
    }
)


def _param(case: Case) -> object:
    fast = case.name in FAST or case.fatal_line is not None or bool(case.fatal_text)
    return pytest.param(case, id=case.name, marks=() if fast else pytest.mark.slow)


def test_the_corpus_is_big_enough():
    names = [case.name for case in CASES]
    assert len(names) == len(set(names))
    assert len(CASES) >= 40
    assert set(names) >= FAST
    assert sum(1 for c in CASES if c.fatal_line or c.fatal_text) >= 15


@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_bad_input(case: Case, tmp_path):
    with world() as w:
        run = run_target(w, tmp_path, case.data())
        users = w.jc.users()
        writes = [e for e in w.jc.requests() if e.method in {"POST", "PUT", "DELETE"}]
        writes = [e for e in writes if not e.path.startswith("/api/search/")]
    tally("bad input cases")
    report = run.report
    assert report is not None, run.explain()

    if case.fatal_line is not None or case.fatal_text:
        assert run.target_rc == 5, run.explain()
        (error,) = run.errors()
        if case.fatal_line is not None:
            assert f"input line {case.fatal_line}:" in error, error
        assert case.fatal_text in error, error
        assert len(error) < MAX_MESSAGE, "the error quotes the input"
        assert not writes, "a broken stream must not write anything"
        assert not users
        assert report["status"] == "aborted"
        assert report["records"] == []
        assert run.target_out == "", "no STATE after a broken stream"
        return

    assert run.target_rc == 0, run.explain()
    got = [(r["outcome"], r["reason"] or "") for r in report["records"]]
    expected = case.expected_outcomes()
    assert len(got) == len(expected), got
    for index, ((outcome, reason), (want, fragment)) in enumerate(zip(got, expected, strict=True)):
        assert outcome == want, f"record {index + 1}: {outcome} ({reason}), expected {want}"
        assert fragment.lower() in reason.lower(), f"record {index + 1}: reason {reason!r}"
        assert len(reason) < MAX_MESSAGE, f"record {index + 1}: the reason quotes the input"
    if case.warning:
        warnings = [w for r in report["records"] for w in r.get("warnings", [])]
        assert any(case.warning in warning for warning in warnings), warnings

    # JumpCloud holds exactly the created users: nothing else was written.
    created = sorted(str(r["deel_id"]) for r in report["records"] if r["outcome"] == "created")
    assert sorted(str(u.get("employeeIdentifier")) for u in users) == created
    assert len(writes) == len(created), "writes other than the creates"
    by_profile = {u["employeeIdentifier"]: u for u in users}
    for profile_id, attributes in case.expected_users().items():
        user = by_profile[profile_id]
        for name, value in attributes.items():
            assert user.get(name) == value, f"{profile_id}.{name}: {user.get(name)!r}"
    if case.check is not None:
        case.check(users)
    assert (run.out_dir / "report.json").stat().st_size < 1_000_000
