"""`python -m tests.bench_plan` at a tiny N, so it cannot rot. No timing is asserted here."""

from __future__ import annotations

from tests import bench_plan


def test_both_plan_scenarios_run_and_count_their_actions() -> None:
    first, nightly = bench_plan.run(500)
    assert (first.n, first.actions) == (500, 500)  # every worker a create
    assert (nightly.n, nightly.actions) == (500, 6)  # 5 title changes, 1 leaver
    for row in (first, nightly):
        assert set(row.seconds) == {"plan", "load", "drift", "review"}
        assert row.file_mb > 0
        assert row.page_mb > 0
        assert row.ok  # (the goals are stated for 100,000 workers)
    lines = bench_plan.render([first, nightly])
    assert len(lines) == 3
    assert "first sync" in lines[1]
