"""The metrics file: prometheus_client's format, every outcome, the last success kept."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client.parser import text_string_to_metric_families
from target_jumpcloud.model import Outcome
from target_jumpcloud.output.metrics import (
    LAST_SUCCESS,
    METRIC_NAMES,
    previous_last_success,
    write_metrics,
)

if TYPE_CHECKING:
    from pathlib import Path


def samples(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the file: (name, sorted labels) → value."""
    text = path.read_text(encoding="utf-8")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _write(path: Path, *, success: bool, finished_at: float, **overrides: object) -> Path:
    arguments: dict = {
        "counts": {"created": 2, "failed": 1},
        "run_seconds": 1.5,
        "finished_at": finished_at,
        "success": success,
        "guard_tripped": False,
        "requests": {("v1", "GET"): 3, ("v2", "POST"): 1},
        "exit_code": 0 if success else 1,
        **overrides,
    }
    return write_metrics(path, **arguments)


def test_the_file_has_every_outcome_and_each_value(tmp_path):
    path = _write(tmp_path / "nested" / "m.prom", success=True, finished_at=1_700_000_000.0)
    got = samples(path)
    for outcome in Outcome:
        expected = {"created": 2, "failed": 1}.get(outcome.value, 0)
        assert got[("target_jumpcloud_records", (("outcome", outcome.value),))] == expected
    assert got[("target_jumpcloud_run_seconds", ())] == 1.5
    assert got[("target_jumpcloud_last_run_timestamp_seconds", ())] == 1_700_000_000.0
    assert got[(LAST_SUCCESS, ())] == 1_700_000_000.0
    assert got[("target_jumpcloud_guard_tripped", ())] == 0
    assert got[("target_jumpcloud_requests", (("api", "v1"), ("method", "GET")))] == 3
    assert got[("target_jumpcloud_requests", (("api", "v2"), ("method", "POST")))] == 1
    assert got[("target_jumpcloud_exit_code", ())] == 0
    assert {name for name, _ in got} == set(METRIC_NAMES)
    assert [p.name for p in path.parent.iterdir()] == ["m.prom"]  # no temporary file left


def test_a_run_that_did_not_succeed_keeps_the_last_success(tmp_path):
    path = tmp_path / "m.prom"
    _write(path, success=True, finished_at=1_000.0)
    _write(path, success=False, finished_at=2_000.0, guard_tripped=True, exit_code=4)
    got = samples(path)
    assert got[(LAST_SUCCESS, ())] == 1_000.0
    assert got[("target_jumpcloud_last_run_timestamp_seconds", ())] == 2_000.0
    assert got[("target_jumpcloud_guard_tripped", ())] == 1
    assert got[("target_jumpcloud_exit_code", ())] == 4
    _write(path, success=True, finished_at=3_000.0)
    assert samples(path)[(LAST_SUCCESS, ())] == 3_000.0


def test_never_a_success_is_zero_and_a_broken_previous_file_counts_as_none(tmp_path):
    path = tmp_path / "m.prom"
    assert previous_last_success(path) is None
    path.write_text("this is { not prometheus text\n", encoding="utf-8")
    assert previous_last_success(path) is None
    _write(path, success=False, finished_at=5.0)
    assert samples(path)[(LAST_SUCCESS, ())] == 0
