"""The data-stack queries of docs/data-stack.md: one source for the docs, the tests and the demo.

Each query lives in `docs/sql/<name>.sql`; the docs quote each file whole after a
`<!-- query: <name> -->` marker and show its output on the demo workforce between
`<!-- output: <name> -->` and `<!-- end output -->`. The tests check that the quoted SQL is the
file and that the shown output is what the query returns on a real load, so the documented query
is exactly the tested one. After changing a query, `UPDATE_DATA_STACK_DOCS=1 pytest
tests/e2e/test_duckdb.py` writes the files and their new outputs into the docs.
`python -m tests.data_stack DATABASE [--as-of DATE]` prints every query's result on a database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import sys
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from tests.emulators.workforce import AS_OF

if TYPE_CHECKING:
    from collections.abc import Sequence

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "docs" / "sql"
DOC = ROOT / "docs" / "data-stack.md"
#: The queries, in the order the docs show them.
QUERY_NAMES = (
    "headcount_by_department_and_entity",
    "starters_next_30_days",
    "leavers",
    "without_work_email",
    "manager_chain_depth",
)
#: The reference date of the documented outputs: the day the demo workforce is "as of", so
#: "the next 30 days" holds the demo's onboarding hires whatever today is.
DOCS_AS_OF = AS_OF

_QUERY_BLOCK = re.compile(r"<!-- query: (?P<name>\w+) -->\n```sql\n(?P<sql>.*?)```\n", re.DOTALL)
_OUTPUT_BLOCK = re.compile(
    r"(?P<open><!-- output: (?P<name>\w+) -->\n)(?P<table>.*?)(?P<close><!-- end output -->)",
    re.DOTALL,
)


@dataclass(frozen=True)
class QueryResult:
    """A query's column names and rows, as DuckDB returns them (dates as `datetime.date`)."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]


def query_sql(name: str) -> str:
    """The text of `docs/sql/<name>.sql`."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


def run_query(
    connection: duckdb.DuckDBPyConnection, name: str, as_of: dt.date | None
) -> QueryResult:
    """Run one documented query; `as_of` is its reference date (None: today)."""
    if as_of is None:
        connection.execute("RESET VARIABLE as_of")
    else:
        connection.execute(f"SET VARIABLE as_of = DATE '{as_of.isoformat()}'")
    cursor = connection.execute(query_sql(name))
    columns = tuple(column[0] for column in cursor.description or ())
    return QueryResult(columns, [tuple(row) for row in cursor.fetchall()])


def cell(value: object) -> str:
    """A value as the docs show it: dates in ISO form, NULL as an empty cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value).replace("|", "\\|")


def display_width(text: str) -> int:
    """Columns a terminal gives `text`: wide East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def markdown_table(result: QueryResult) -> str:
    """The result as a Markdown table, padded so it also reads well as plain text."""
    rows = [[cell(value) for value in row] for row in result.rows]
    widths = [
        max(3, display_width(name), *(display_width(row[i]) for row in rows))
        for i, name in enumerate(result.columns)
    ]

    def line(values: Sequence[str]) -> str:
        padded = (v + " " * (w - display_width(v)) for v, w in zip(values, widths, strict=True))
        return "| " + " | ".join(padded) + " |"

    return "\n".join(
        [line(result.columns), line(["-" * w for w in widths]), *(line(row) for row in rows)]
    )


def documented_queries(text: str) -> dict[str, str]:
    """The SQL the docs quote after each `<!-- query: name -->` marker."""
    return {m["name"]: m["sql"] for m in _QUERY_BLOCK.finditer(text)}


def documented_outputs(text: str) -> dict[str, str]:
    """The output tables the docs show, by query name (without the blank lines around)."""
    return {m["name"]: m["table"].strip("\n") for m in _OUTPUT_BLOCK.finditer(text)}


def with_queries(text: str) -> str:
    """The docs with each quoted query replaced by its file's text."""

    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        return f"<!-- query: {name} -->\n```sql\n{query_sql(name)}```\n"

    return _QUERY_BLOCK.sub(replace, text)


def with_outputs(text: str, outputs: dict[str, str]) -> str:
    """The docs with each output block replaced by `outputs[name]` (others left as they are)."""

    def replace(match: re.Match[str]) -> str:
        table = outputs.get(match["name"])
        if table is None:
            return match[0]
        return f"{match['open']}\n{table}\n\n{match['close']}"  # blank lines: Markdown

    return _OUTPUT_BLOCK.sub(replace, text)


def main(argv: Sequence[str] | None = None) -> int:
    """Print every query's result on a loaded database, as of `--as-of` or today."""
    parser = argparse.ArgumentParser(prog="python -m tests.data_stack")
    parser.add_argument("database", help="a DuckDB file loaded by `meltano run deel-to-duckdb`")
    parser.add_argument(
        "--as-of", type=dt.date.fromisoformat, default=None, help="reference date (today)"
    )
    args = parser.parse_args(argv)
    connection = duckdb.connect(args.database, read_only=True)
    try:
        for name in QUERY_NAMES:
            table = markdown_table(run_query(connection, name, args.as_of))
            print(f"-- docs/sql/{name}.sql\n{table}\n")
    finally:
        connection.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
