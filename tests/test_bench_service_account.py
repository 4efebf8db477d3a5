"""`python -m tests.bench --service-account` at a tiny N: the service-account rows still run.

No timing is asserted (the figures are in BENCHMARKS.md / docs/service-accounts.md); the
request counts, which do not depend on the machine, must be the floors: the token grant is
neither a read nor a write of the directory.
"""

from __future__ import annotations

from tests import bench


def test_the_cpu_scenario_runs_with_a_service_account() -> None:
    lines: list[str] = []
    rows = bench.run(
        n_cpu=60, scenarios=("cpu",), repeat=1, echo=lines.append, service_account=True
    )
    (row,) = rows
    assert row.scenario == "CPU, dry run, limits off" + bench.SERVICE_ACCOUNT_LABEL
    assert row.jc_reads == row.jc_reads_floor
    assert row.jc_writes == 0
    assert row.records == 60
