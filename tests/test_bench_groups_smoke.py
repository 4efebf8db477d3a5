"""The group rows of `make bench` (tests/bench_groups.py) at a tiny N, so they cannot rot.

No timing is asserted: only that each row runs through the real CLIs and that its request and
write counts are the floors the benchmark promises (groups in step after the first sync, one
PUT and two POSTs for a mover, nothing written when the guard stops a rule change).
"""

from __future__ import annotations

from tests import bench


def test_the_group_rows_run_and_meet_their_counts() -> None:
    lines: list[str] = []
    rows = bench.run(
        n_sync=200, n_cpu=60, repeat=1, echo=lines.append, scenarios=("groups", "groups-cpu")
    )
    by_name = {row.scenario: row for row in rows}
    assert set(by_name) == {
        "groups, first sync",
        "groups, steady state",
        "groups, a mover",
        "groups, a rule change empties a group",
        "groups, CPU, dry run, limits off",
    }
    for row in rows:
        assert row.ok, (row, lines)
        assert row.deel == row.deel_floor
        assert row.jc_writes == row.jc_writes_floor
    assert (by_name["groups, first sync"].jc_writes_floor or 0) > 200
    assert by_name["groups, a mover"].jc_writes == 3
    assert by_name["groups, a rule change empties a group"].jc_writes == 0
    assert by_name["groups, steady state"].jc_writes == 0
