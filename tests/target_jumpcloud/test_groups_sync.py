"""Groups from HR data (docs/groups.md), end to end against the JumpCloud emulator over HTTP.

Each test runs the engine on mapped records and checks what JumpCloud holds afterwards, and
what was written: joiners get their groups, movers change groups, a membership made by hand
is never undone, a second run writes nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.engine import GuardTripped, SyncRun
from target_jumpcloud.settings.sync_settings import parse_settings
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, person, seed_user, writes

RULES = [
    {"group": "All staff"},
    {"group": "Dept - {department}"},
    {"group": "{location} office", "when": {"employeeType": ["employee", "contractor"]}},
]
LEDGER = "deelSyncGroups"


@pytest.fixture
def app(jumpcloud_emulator):
    return jumpcloud_emulator.app


def run_sync(api_url: str, records: list[dict[str, Any]], **settings: Any) -> SyncRun:
    config = {"api_key": KEY, "api_url": api_url, "group_rules": RULES, **settings}
    run = SyncRun(parse_settings(config), fast_client(api_url))
    run.run([map_record(record, DEFAULT_MAPPING, i) for i, record in enumerate(records)])
    return run


def group_members(app, name: str) -> set[str]:
    group = app.find_group(name)
    assert group is not None, f"no group {name!r}"
    return set(group["members"])


def user_of(app, profile_id: str) -> dict[str, Any]:
    [user] = [u for u in app.users() if u.get("employeeIdentifier") == profile_id]
    return user


def ledger(user: dict[str, Any]) -> str | None:
    for item in user.get("attributes") or []:
        if item.get("name") == LEDGER:
            return item.get("value")
    return None


def entry(run: SyncRun, profile_id: str) -> dict[str, Any]:
    assert run.report is not None
    [found] = [r.to_json() for r in run.report.records if r.deel_id == profile_id]
    return found


def staff() -> list[dict[str, Any]]:
    return [
        person("p1", "Ada", "Lovelace"),
        person("p2", "Folake", "Adeyemi", work_location="Lagos"),
        person("p3", "Grace", "Hopper", department={"id": "d2", "name": "Finance"}),
    ]


def test_joiners_get_their_groups_in_the_create_and_a_second_run_writes_nothing(
    app, jumpcloud_api_url
):
    run = run_sync(jumpcloud_api_url, staff(), create_missing_groups=True)
    assert run.report is not None
    assert run.report.counts["created"] == 3
    ids = {p: user_of(app, p)["_id"] for p in ("p1", "p2", "p3")}
    assert group_members(app, "All staff") == set(ids.values())
    assert group_members(app, "Dept - Engineering") == {ids["p1"], ids["p2"]}
    assert group_members(app, "Dept - Finance") == {ids["p3"]}
    assert group_members(app, "Berlin office") == {ids["p1"], ids["p3"]}
    assert group_members(app, "Lagos office") == {ids["p2"]}
    # the ledger rode in the create: one POST per user, no PUT
    kinds = [(e.method, e.path.split("?")[0]) for e in writes(app)]
    assert sum(1 for m, p in kinds if m == "POST" and p.endswith("/systemusers")) == 3
    assert not [k for k in kinds if k[0] == "PUT"]
    assert app.writes["group_create"] == 5
    assert app.writes["member_add"] == 9
    wanted = sorted(
        app.find_group(n)["id"] for n in ("All staff", "Dept - Engineering", "Berlin office")
    )
    assert ledger(user_of(app, "p1")) == ",".join(wanted)
    lines = entry(run, "p1")["groups"]
    assert {(line["group"], line["change"]) for line in lines} == {
        ("All staff", "added"),
        ("Dept - Engineering", "added"),
        ("Berlin office", "added"),
    }
    assert all(line["id"] for line in lines)

    before = len(writes(app))
    again = run_sync(jumpcloud_api_url, staff(), create_missing_groups=True)
    assert len(writes(app)) == before
    assert again.report is not None
    assert again.report.counts["unchanged"] == 3
    assert {line["change"] for line in entry(again, "p1")["groups"]} == {"kept"}
