"""`make bench` at a tiny N, so the benchmark code cannot rot. No timing is asserted here.

The benchmark's speed goals live in `tests/bench.py` (it prints them); this only checks that
every scenario runs end to end through the real CLIs and that the request and write counts,
which do not depend on the machine, are the floors the benchmark promises.
"""

from __future__ import annotations

from tests import bench


def test_every_scenario_runs_and_counts_requests_and_writes() -> None:
    lines: list[str] = []
    scenarios = [s for s in bench.SCENARIOS if not s.startswith("groups")]  # (their own test)
    rows = bench.run(
        n_sync=200, n_cpu=60, scaling=(20,), repeat=1, echo=lines.append, scenarios=scenarios
    )
    by_name: dict[str, list[bench.Row]] = {}
    for row in rows:
        by_name.setdefault(row.scenario, []).append(row)

    assert set(by_name) == {
        "tap alone, 5 req/s",
        "tap alone, limits off",
        "first sync",
        "steady state",
        "churn",
        "first sync, managers",
        "steady state, managers",
        "effective dates, first run",
        "effective dates, steady state",
        "effective dates, changes",
        "scaling",
        "CPU, dry run, limits off",
    }
    for row in rows:
        assert row.deel == row.deel_floor, row
        assert row.records > 0, row
        assert row.tap_rss > 0, row
        if row.jc_reads is not None:
            assert row.jc_reads == row.jc_reads_floor, row
            assert row.jc_writes == row.jc_writes_floor, row
            assert row.target_rss is not None
            assert row.target_rss > 0, row

    (first,) = by_name["first sync"]
    assert first.jc_writes == first.jc_writes_floor
    assert first.jc_writes is not None
    assert first.jc_writes > 0
    (steady,) = by_name["steady state"]
    assert steady.jc_writes == 0
    (managers_first,) = by_name["first sync, managers"]
    assert managers_first.ok, managers_first  # every manager linked, one PUT per cycle only
    assert managers_first.jc_writes == managers_first.jc_writes_floor
    (managers_steady,) = by_name["steady state, managers"]
    assert managers_steady.jc_writes == 0
    (churn,) = by_name["churn"]
    assert churn.jc_writes == churn.jc_writes_floor
    assert churn.n > 200  # the new hires

    text = bench.render_text(rows)
    assert "first sync" in text
    markdown = bench.render_markdown(rows)
    assert markdown.count("\n") == len(rows) + 1
    assert any("first sync" in line for line in lines)
