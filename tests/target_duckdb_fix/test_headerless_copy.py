"""target-duckdb-fix: PyPI's target-duckdb 0.8.0 loses no row, on a real DuckDB database."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_duckdb.db_sync import DbSync
from target_duckdb_fix import HeaderlessCopyConnection, with_header_off

if TYPE_CHECKING:
    from collections.abc import Iterator

BIN = Path(sys.executable).parent
# The statement target-duckdb 0.8.0 loads every batch with (db_sync.DbSync.load_rows).
RELEASED_COPY = "COPY tmp_1 FROM '/tmp/tmp_1.csv' WITH (new_line '\\r\\n')"
TEXT_STREAM: dict[str, Any] = {
    "type": "SCHEMA",
    "stream": "organizations",
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": ["string", "null"]}},
    },
    "key_properties": ["id"],
}


def test_the_released_copy_statement_is_told_there_is_no_header() -> None:
    assert with_header_off(RELEASED_COPY) == (
        "COPY tmp_1 FROM '/tmp/tmp_1.csv' WITH (new_line '\\r\\n', header false)"
    )


@pytest.mark.parametrize(
    "statement",
    [
        "COPY tmp_1 FROM '/tmp/tmp_1.csv' WITH (new_line '\\r\\n', HEADER 0)",  # upstream's fix
        "COPY tmp_1 FROM '/tmp/tmp_1.csv' WITH (header true)",
        "COPY tmp_1 TO '/tmp/out.csv' WITH (new_line '\\r\\n')",
        "SELECT 'COPY x FROM y'",
        'UPDATE "deel"."tap_deel"."people" as s SET "name"=t."name" FROM tmp_1 t WHERE s.id = t.id',
    ],
)
def test_other_statements_are_left_as_they_are(statement: str) -> None:
    assert with_header_off(statement) == statement


@given(
    table=st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True),
    path=st.from_regex(r"/[A-Za-z0-9_./-]{1,40}", fullmatch=True),
    options=st.from_regex(r"(new_line '\\r\\n'|delimiter ','|quote '\"')", fullmatch=True),
)
def test_any_copy_from_without_a_header_option_gets_exactly_one(
    table: str, path: str, options: str
) -> None:
    statement = f"COPY {table} FROM '{path}' WITH ({options})"
    fixed = with_header_off(statement)
    assert fixed == f"COPY {table} FROM '{path}' WITH ({options}, header false)"
    assert with_header_off(fixed) == fixed  # applying it twice changes nothing more


@pytest.fixture
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    with duckdb.connect() as conn:
        yield conn


def load_one_row(conn: duckdb.DuckDBPyConnection | HeaderlessCopyConnection, tmp_path: Path) -> int:
    """Load one all-text record the way target-duckdb 0.8.0 does; the rows in the table."""
    config = {"path": ":memory:", "dbname": "memory", "default_target_schema": "tap_deel"}
    sync = DbSync(conn, config, TEXT_STREAM)
    sync.create_schema_if_not_exists()
    sync.sync_table()
    sync.load_rows([{"id": "org-1", "name": "Acme"}], 1, str(tmp_path))
    return int(conn.execute("SELECT count(*) FROM tap_deel.organizations").fetchall()[0][0])


def test_released_target_duckdb_loses_the_row_this_package_saves(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    # If this starts failing, DuckDB no longer guesses a header: the package may go.
    assert load_one_row(connection, tmp_path) == 0


def test_through_the_fix_the_row_is_loaded(
    connection: duckdb.DuckDBPyConnection, tmp_path: Path
) -> None:
    assert load_one_row(HeaderlessCopyConnection(connection), tmp_path) == 1
    assert connection.execute("SELECT id, name FROM tap_deel.organizations").fetchall() == [
        ("org-1", "Acme")
    ]


def test_the_command_loads_every_record_of_every_stream(tmp_path: Path) -> None:
    database = tmp_path / "deel.duckdb"
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"path": str(database), "default_target_schema": "tap_deel"}))
    people_schema = {
        **TEXT_STREAM,
        "stream": "people",
        "schema": {
            "type": "object",
            "properties": {"id": {"type": "string"}, "active": {"type": "boolean"}},
        },
    }
    messages = [
        TEXT_STREAM,
        {"type": "RECORD", "stream": "organizations", "record": {"id": "o", "name": "Acme"}},
        people_schema,
        *(
            {"type": "RECORD", "stream": "people", "record": {"id": f"p{i}", "active": i % 2 == 0}}
            for i in range(5)
        ),
        {"type": "STATE", "value": {"bookmarks": {}}},
    ]
    result = subprocess.run(
        [str(BIN / "target-duckdb-fix"), "--config", str(config)],
        input="".join(json.dumps(m) + "\n" for m in messages),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with duckdb.connect(str(database), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM tap_deel.organizations").fetchall() == [(1,)]
        people = conn.execute("SELECT id, active FROM tap_deel.people ORDER BY id").fetchall()
    assert people == [(f"p{i}", i % 2 == 0) for i in range(5)]
