"""`python -m tests.bench_leavers` at a tiny N, so it cannot rot (the counts are its goals)."""

from __future__ import annotations

from tests import bench_leavers


def test_the_leaver_rows_cost_what_the_rules_say() -> None:
    rows = bench_leavers.run(200, deleted=3)
    assert [row.ok for row in rows] == [True, True, True, True], bench_leavers.render(rows)
    complete, counted, suspended, after = rows
    assert complete.writes == {}
    assert counted.writes == {"PUT": 3}
    assert suspended.writes == {"PUT": 6, "POST resetmfa": 3, "POST expire": 3}
    assert after.writes == {}
    assert len(bench_leavers.render(rows)) == 5
