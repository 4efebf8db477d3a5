"""`python -m tests.bench webhooks` at a tiny N, so the rows cannot rot. No timing asserted.

The request counts do not depend on the machine: a burst of k events for distinct people
must cost exactly min(k, ceil(N / 200)) Deel requests, in one sync; a burst of k terminations
read one by one costs 2k (each leaver's re-hire search).
"""

from __future__ import annotations

from tests import bench_webhooks


def test_webhook_rows_run_and_the_cost_is_the_minimum() -> None:
    lines: list[str] = []
    rows = bench_webhooks.run(
        n=300, events=2, debounce=0.5, bursts=(1, 2, 3), leaver_bursts=(2,), echo=lines.append
    )
    latency, *costs, leavers = rows
    assert latency.scenario.startswith("latency")
    assert "median" in latency.value
    assert [row.ok for row in costs] == [True, True, True], costs
    assert [row.value for row in costs] == ["1 Deel requests", "2 Deel requests", "2 Deel requests"]
    assert "full" in costs[2].scenario  # 3 people > ceil(300 / 200) = 2: one full read
    # 2 leavers <= the threshold 2: read one by one, each with its search.
    assert leavers.ok, leavers
    assert "targeted" in leavers.scenario
    assert leavers.value == "4 Deel requests (2 searches)"
    assert "webhook receiver" in bench_webhooks.render(rows)
    assert any("latency" in line for line in lines)
