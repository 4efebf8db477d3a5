"""The data stack end to end: `meltano run deel-to-duckdb` against the Deel emulator.

The emulator serves the demo workforce (`make demo`'s size and seed), so the same load checks
the tables, the five documented queries against answers computed here from the emulator's own
data (never from the loaded tables), and the outputs docs/data-stack.md shows. Meltano runs are
slow, so there are two: one load for the module, and a second run after a day of HR changes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

from tests import data_stack, demo
from tests.conftest import DEEL_TOKEN
from tests.e2e.test_meltano import meltano
from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.workforce import (
    derive_contracts,
    derive_managers,
    generate_workforce,
    primary_employment,
    promote,
    work_email_of,
)
from tests.tap_deel.tap_helpers import ALL_STREAMS

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    Person = dict[str, Any]

pytestmark = pytest.mark.meltano

SCHEMA = "tap_deel"
AS_OF = data_stack.DOCS_AS_OF  # a fixed reference date: the answers cannot move at midnight


@pytest.fixture(scope="module")
def deel() -> Iterator[EmulatorServer[DeelEmulator]]:
    """The demo's Deel organisation; the rate limit off keeps the load quick."""
    workforce = generate_workforce(demo.WORKERS, seed=demo.SEED)
    app = DeelEmulator(token=DEEL_TOKEN, workforce=workforce, rate_limit=False)
    with EmulatorServer(app) as server:
        yield server


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("duckdb") / "deel.duckdb"


@pytest.fixture(scope="module")
def env(
    tmp_path_factory: pytest.TempPathFactory,
    deel: EmulatorServer[DeelEmulator],
    database: Path,
) -> dict[str, str]:
    """The `dev` environment pointed at the emulator, with its own state and database file."""
    state = tmp_path_factory.mktemp("meltano")
    return {
        **os.environ,
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{state / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": f"{deel.url}/rest/v2",
        "TARGET_DUCKDB_PATH": str(database),
    }


@dataclass(frozen=True)
class Load:
    """What one run left in the database, read at once (later runs may change the file)."""

    columns: dict[str, list[str]]
    counts: dict[str, int]
    repeated_keys: dict[str, int]
    people: dict[str, dict[str, Any]]
    groups: dict[str, dict[str, Any]]
    results: dict[str, data_stack.QueryResult]


def read_load(path: Path) -> Load:
    connection = duckdb.connect(str(path), read_only=True)
    try:
        listed = connection.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = ? ORDER BY table_name, ordinal_position",
            [SCHEMA],
        ).fetchall()
        columns: dict[str, list[str]] = {}
        for table, column in listed:
            columns.setdefault(table, []).append(column)
        counts, repeated = {}, {}
        for table in columns:
            total, keys = connection.execute(
                f"SELECT count(*), count(DISTINCT id) FROM {SCHEMA}.{table}"  # noqa: S608
            ).fetchall()[0]
            counts[table], repeated[table] = total, total - keys
        return Load(
            columns=columns,
            counts=counts,
            repeated_keys=repeated,
            people=rows_by_id(connection, "people"),
            groups=rows_by_id(connection, "groups"),
            results={
                name: data_stack.run_query(connection, name, AS_OF)
                for name in data_stack.QUERY_NAMES
            },
        )
    finally:
        connection.close()


def rows_by_id(connection: duckdb.DuckDBPyConnection, table: str) -> dict[str, dict[str, Any]]:
    cursor = connection.execute(f"SELECT * FROM {SCHEMA}.{table}")  # noqa: S608
    names = [column[0] for column in cursor.description or ()]
    return {row[names.index("id")]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


@pytest.fixture(scope="module")
def first_load(env: dict[str, str], database: Path) -> Load:
    meltano("run", "deel-to-duckdb", env=env)
    return read_load(database)


# -- what the emulator's data says -------------------------------------------------------------


def endpoint_counts(deel: DeelEmulator) -> dict[str, int]:
    """How many rows each endpoint lists (archived items included, as Deel lists them)."""
    people = deel.people
    workforce = deel.workforce
    return {
        "people": len(people),
        "contracts": len(derive_contracts(people)),
        "managers": len(derive_managers(people)),
        "legal_entities": len(workforce.legal_entities),
        "groups": len(workforce.groups),
        "teams": len(workforce.teams),
        "departments": len(workforce.departments),
        "working_locations": len(workforce.working_locations),
        "organizations": len(workforce.organizations),
    }


def is_active(person: Person) -> bool:
    return person["hiring_status"] in DEFAULT_ACTIVE_HIRING_STATUSES


def start_date(person: Person) -> dt.date:
    return dt.date.fromisoformat(person["start_date"])


def name_of(item: dict[str, Any] | None) -> str | None:
    return (item or {}).get("name")


def last_day(person: Person) -> dt.date | None:
    """The sync's rule: the direct-employee last day, else the primary employment's."""
    stamp = person.get("direct_employee_termination_last_day") or (
        primary_employment(person) or {}
    ).get("termination_last_day")
    return dt.date.fromisoformat(stamp[:10]) if stamp else None


def expected_headcount(people: list[Person]) -> list[tuple[Any, ...]]:
    counted = Counter(
        (
            name_of(p["client_legal_entity"]) or "(no entity)",
            name_of(p["department"]) or "(no department)",
        )
        for p in people
        if is_active(p) and start_date(p) <= AS_OF
    )
    return [(entity, dept, n) for (entity, dept), n in sorted(counted.items())]


def expected_starters(people: list[Person]) -> list[tuple[Any, ...]]:
    window_end = AS_OF + dt.timedelta(days=30)
    starters = [
        p
        for p in people
        if AS_OF <= start_date(p) <= window_end and p["hiring_status"] != "inactive"
    ]
    starters.sort(key=lambda p: (start_date(p), p["full_name"], p["id"]))
    return [
        (
            start_date(p),
            p["full_name"],
            name_of(p["department"]),
            name_of(p["client_legal_entity"]),
            p["hiring_status"],
            work_email_of(p),
        )
        for p in starters
    ]


def expected_leavers(people: list[Person]) -> list[tuple[Any, ...]]:
    leavers = [(day, p) for p in people if (day := last_day(p)) is not None]
    leavers.sort(key=lambda item: (-item[0].toordinal(), item[1]["full_name"], item[1]["id"]))
    return [
        (
            day,
            "left" if day < AS_OF else "leaving",
            p["full_name"],
            name_of(p["department"]),
            p["hiring_type"],
            p["hiring_status"],
        )
        for day, p in leavers
    ]


def expected_without_work_email(people: list[Person]) -> list[tuple[Any, ...]]:
    missing = [p for p in people if is_active(p) and work_email_of(p) is None]
    missing.sort(key=lambda p: (p["full_name"], p["id"]))
    return [
        (
            p["full_name"],
            p["id"],
            p["hiring_status"],
            name_of(p["department"]),
            name_of(p["client_legal_entity"]),
        )
        for p in missing
    ]


def expected_chain_depths(people: list[Person]) -> list[tuple[Any, ...]]:
    by_id = {p["id"]: p for p in people}

    def managers_above(person: Person) -> int:
        seen, depth = {person["id"]}, 0
        manager = (person.get("direct_manager") or {}).get("id")
        while manager in by_id and manager not in seen:
            seen.add(manager)
            depth += 1
            manager = (by_id[manager].get("direct_manager") or {}).get("id")
        return depth

    depths = Counter(managers_above(p) for p in people if is_active(p))
    return sorted(depths.items())


EXPECTED = {
    "headcount_by_department_and_entity": expected_headcount,
    "starters_next_30_days": expected_starters,
    "leavers": expected_leavers,
    "without_work_email": expected_without_work_email,
    "manager_chain_depth": expected_chain_depths,
}


# -- the tests -----------------------------------------------------------------------------------


def test_every_stream_is_a_table_with_the_endpoints_row_count(
    first_load: Load, deel: EmulatorServer[DeelEmulator]
) -> None:
    assert sorted(first_load.columns) == sorted(ALL_STREAMS)
    assert first_load.counts == endpoint_counts(deel.app)
    assert all(first_load.counts.values()), "every endpoint lists something"


def test_primary_keys_are_unique(first_load: Load) -> None:
    assert first_load.repeated_keys == dict.fromkeys(ALL_STREAMS, 0)


def test_nested_objects_are_columns_and_nothing_is_lost(
    first_load: Load, deel: EmulatorServer[DeelEmulator]
) -> None:
    columns = set(first_load.columns["people"])
    assert {
        "department__name",
        "client_legal_entity__name",
        "direct_manager__id",
        "employments",
    } <= columns
    assert "department" not in columns  # flattened, not kept as one object
    for person in deel.app.people:
        row = first_load.people[person["id"]]
        assert row["department__name"] == name_of(person["department"])
        assert row["client_legal_entity__name"] == name_of(person["client_legal_entity"])
        assert row["direct_manager__id"] == (person["direct_manager"] or {}).get("id")
        # Arrays arrive as JSON text: every employment, whole.
        assert json.loads(row["employments"]) == person["employments"]
        assert row["work_email"] == work_email_of(person)
    for group in deel.app.workforce.groups:  # a free-form object is kept whole as JSON
        assert (
            json.loads(first_load.groups[group["id"]]["external_metadata"])
            == (group["external_metadata"])
        )


@pytest.mark.parametrize("name", data_stack.QUERY_NAMES)
def test_query_returns_what_the_emulators_data_says(
    name: str, first_load: Load, deel: EmulatorServer[DeelEmulator]
) -> None:
    expected = EXPECTED[name](deel.app.people)
    assert expected, f"the demo workforce gives {name} something to show"
    assert first_load.results[name].rows == expected


def test_docs_show_the_queries_real_outputs(first_load: Load) -> None:
    outputs = {
        name: data_stack.markdown_table(result) for name, result in first_load.results.items()
    }
    if os.environ.get("UPDATE_DATA_STACK_DOCS"):
        text = data_stack.with_queries(data_stack.DOC.read_text(encoding="utf-8"))
        data_stack.DOC.write_text(data_stack.with_outputs(text, outputs), encoding="utf-8")
    shown = data_stack.documented_outputs(data_stack.DOC.read_text(encoding="utf-8"))
    assert shown == outputs, (
        "docs/data-stack.md shows other outputs than the queries return: "
        "UPDATE_DATA_STACK_DOCS=1 pytest tests/e2e/test_duckdb.py writes the real ones"
    )


def test_a_second_run_upserts_without_duplicates(
    first_load: Load,
    env: dict[str, str],
    database: Path,
    deel: EmulatorServer[DeelEmulator],
) -> None:
    app = deel.app
    promoted = next(p for p in app.people if p["hiring_status"] == "active")
    promote(promoted, "Principal Data Analyst")
    app.update_person(promoted["id"])
    hired = app.hire("Noor", "Haddad", seed=demo.SEED + 2)
    meltano("run", "deel-to-duckdb", env=env)
    second = read_load(database)

    assert second.counts == endpoint_counts(app)
    assert second.counts["people"] == first_load.counts["people"] + 1
    assert second.counts["contracts"] == first_load.counts["contracts"] + 1
    assert second.repeated_keys == dict.fromkeys(ALL_STREAMS, 0)
    assert second.people[promoted["id"]]["job_title"] == "Principal Data Analyst"
    assert second.people[hired["id"]]["full_name"] == "Noor Haddad"
    unchanged = {k: v for k, v in second.counts.items() if k not in ("people", "contracts")}
    assert unchanged == {k: first_load.counts[k] for k in unchanged}
