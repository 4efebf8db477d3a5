"""PyPI's target-duckdb, run with the one fix its next release carries.

target-duckdb 0.8.0, the latest release on PyPI, loads every batch by writing the records to a
CSV file without a header row and running `COPY <table> FROM '<file>' WITH (new_line ...)`.
Since DuckDB 0.9, COPY sniffs whether a file starts with a header unless it is told: when the
first row looks like one (always, when every column is text) it is skipped. So one record per
stream and batch was silently lost: a 300-person load gave 299 rows, a one-row table none.
Upstream fixed it after 0.8.0 by telling COPY there is no header; until a release carries the
fix, the `target-duckdb-fix` command runs the PyPI target with `header false` added to that
statement, and changes nothing else. Drop this package when target-duckdb > 0.8.0 is out.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import duckdb

# The statement target-duckdb loads a batch with: COPY <table> FROM '<path>' WITH (<options>).
_COPY_FROM = re.compile(
    r"(?P<head>COPY\s+\S+\s+FROM\s+'[^']*')\s+WITH\s*\((?P<options>[^()]*)\)",
    re.IGNORECASE | re.DOTALL,
)
_HEADER_OPTION = re.compile(r"\bheader\b", re.IGNORECASE)


def with_header_off(query: str) -> str:
    """`query`, with `header false` added when it is a CSV COPY FROM that does not say.

    Any other statement, and a COPY that already names its header option, is left as it is.
    """
    match = _COPY_FROM.fullmatch(query.strip())
    if match is None or _HEADER_OPTION.search(match["options"]):
        return query
    return f"{match['head']} WITH ({match['options']}, header false)"


class HeaderlessCopyConnection:
    """A DuckDB connection whose batch loads read every CSV row as data.

    target-duckdb uses its connection for `execute`, `description`, `fetchall` and `close`;
    only `execute` changes, everything else is the connection's own.
    """

    def __init__(self, connection: duckdb.DuckDBPyConnection) -> None:
        self._connection = connection

    def execute(self, query: str, *args: Any) -> duckdb.DuckDBPyConnection:  # noqa: ANN401
        """Run `query` (see `with_header_off`) on the connection."""
        return self._connection.execute(with_header_off(query), *args)

    def __getattr__(self, name: str) -> Any:  # noqa: ANN401
        return getattr(self._connection, name)


def main() -> None:
    """The `target-duckdb-fix` command: target-duckdb's own `main` on a fixed connection."""
    import target_duckdb  # noqa: PLC0415 - patched here, not on import of this module

    connect = target_duckdb.duckdb_connect

    def connect_headerless(config: dict[str, Any]) -> HeaderlessCopyConnection:
        return HeaderlessCopyConnection(connect(config))

    target_duckdb.duckdb_connect = connect_headerless
    target_duckdb.main()
