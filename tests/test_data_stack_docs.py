"""docs/data-stack.md quotes exactly the tested SQL files, and meltano.yml wires the job up.

The outputs the docs show are checked against a real load in tests/e2e/test_duckdb.py; these
checks need no Meltano run.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from tests import data_stack

ROOT = Path(__file__).resolve().parent.parent
MELTANO_YML = yaml.safe_load((ROOT / "meltano.yml").read_text())
DOC_TEXT = data_stack.DOC.read_text(encoding="utf-8")


def plugin(kind: str, name: str) -> dict[str, Any]:
    return next(p for p in MELTANO_YML["plugins"][kind] if p["name"] == name)


def test_every_sql_file_is_a_documented_query() -> None:
    files = sorted(path.stem for path in data_stack.SQL_DIR.glob("*.sql"))
    assert files == sorted(data_stack.QUERY_NAMES)
    assert list(data_stack.documented_queries(DOC_TEXT)) == list(data_stack.QUERY_NAMES)
    assert list(data_stack.documented_outputs(DOC_TEXT)) == list(data_stack.QUERY_NAMES)


@pytest.mark.parametrize("name", data_stack.QUERY_NAMES)
def test_the_docs_quote_the_tested_sql_file_exactly(name: str) -> None:
    assert data_stack.documented_queries(DOC_TEXT)[name] == data_stack.query_sql(name), (
        f"docs/data-stack.md quotes another {name}: "
        "UPDATE_DATA_STACK_DOCS=1 pytest tests/e2e/test_duckdb.py writes the files in"
    )


def test_updating_the_docs_changes_only_the_blocks() -> None:
    outputs = {name: f"| {name} |\n| --- |" for name in data_stack.QUERY_NAMES}
    updated = data_stack.with_outputs(data_stack.with_queries(DOC_TEXT), outputs)
    assert data_stack.documented_outputs(updated) == outputs
    assert data_stack.documented_queries(updated) == data_stack.documented_queries(DOC_TEXT)
    shown = data_stack.documented_outputs(DOC_TEXT)
    assert data_stack.with_outputs(updated, shown) == DOC_TEXT


def test_markdown_table_pads_cells_and_escapes_pipes() -> None:
    result = data_stack.QueryResult(
        ("day", "name", "n", "ok"),
        [(dt.date(2025, 7, 1), "王伟", 3, True), (None, "a|b", 12, False)],
    )
    assert data_stack.markdown_table(result).splitlines() == [
        "| day        | name | n   | ok    |",
        "| ---------- | ---- | --- | ----- |",
        "| 2025-07-01 | 王伟 | 3   | true  |",
        "|            | a\\|b | 12  | false |",
    ]


def test_the_reference_date_is_the_variable_else_today() -> None:
    with duckdb.connect() as connection:
        connection.execute("CREATE SCHEMA tap_deel")
        connection.execute(
            "CREATE TABLE tap_deel.people (id VARCHAR, full_name VARCHAR, start_date VARCHAR,"
            " department__name VARCHAR, client_legal_entity__name VARCHAR,"
            " hiring_status VARCHAR, work_email VARCHAR)"
        )
        today = connection.execute("SELECT current_date").fetchall()[0][0]  # DuckDB's today
        for i, day in enumerate((dt.date(2025, 7, 10), today + dt.timedelta(days=3))):
            connection.execute(
                "INSERT INTO tap_deel.people VALUES (?, ?, ?, 'D', 'E', 'onboarding', NULL)",
                [f"p{i}", f"P{i}", day.isoformat()],
            )
        name = "starters_next_30_days"
        pinned = data_stack.run_query(connection, name, dt.date(2025, 7, 1))
        assert [row[1] for row in pinned.rows] == ["P0"]
        unset = data_stack.run_query(connection, name, None)
        assert [row[1] for row in unset.rows] == ["P1"]


def test_the_job_loads_every_stream_while_the_sync_reads_people_only() -> None:
    jobs = {job["name"]: job["tasks"] for job in MELTANO_YML["jobs"]}
    assert jobs["deel-to-duckdb"] == ["tap-deel-all target-duckdb"]
    everything = plugin("extractors", "tap-deel-all")
    assert everything["inherit_from"] == "tap-deel"
    assert everything["select"] == ["*.*"]
    assert plugin("extractors", "tap-deel")["select"] == ["people.*"]
    assert jobs["deel-to-jumpcloud"] == ["tap-deel-for-jumpcloud target-jumpcloud"]
    assert plugin("extractors", "tap-deel-for-jumpcloud")["inherit_from"] == "tap-deel"


def test_the_loader_is_the_pypi_target_on_duckdb_1_0_writing_output_in_dev() -> None:
    loader = plugin("loaders", "target-duckdb")
    # DuckDB >= 1.1 makes target-duckdb 0.8.0 drop a record per batch (docs/data-stack.md).
    assert loader["pip_url"].split() == ["target-duckdb~=0.8.0", "duckdb~=1.0.0"]
    assert loader["executable"] == "target-duckdb"
    dev = next(e for e in MELTANO_YML["environments"] if e["name"] == "dev")
    loaders = {p["name"]: p for p in dev["config"]["plugins"]["loaders"]}
    assert (
        loaders["target-duckdb"]["config"]["path"] == "${MELTANO_PROJECT_ROOT}/output/deel.duckdb"
    )
