"""Groups from HR data (docs/groups.md), end to end against the JumpCloud emulator over HTTP.

Each test runs the engine on mapped records and checks what JumpCloud holds afterwards, and
what was written: joiners get their groups, movers change groups, a membership made by hand
is never undone, a second run writes nothing.
"""

from __future__ import annotations

from collections import Counter
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
    app.reset_log()
    again = run_sync(jumpcloud_api_url, staff(), create_missing_groups=True)
    assert writes(app) == []
    # the groups listed once, and each named group's members read once (one short page)
    assert len(app.requests("GET", "/api/v2/usergroups")) == 1
    member_reads = Counter(e.path for e in app.requests("GET") if e.path.endswith("/members"))
    assert sorted(member_reads.values()) == [1] * 5
    assert before > 0
    assert again.report is not None
    assert again.report.counts["unchanged"] == 3
    assert {line["change"] for line in entry(again, "p1")["groups"]} == {"kept"}


def first_sync(app, api_url: str, **settings: Any) -> dict[str, str]:
    """Create the staff and their groups; the profile id → JumpCloud id."""
    run_sync(api_url, staff(), create_missing_groups=True, **settings)
    app.reset_log()
    return {p: user_of(app, p)["_id"] for p in ("p1", "p2", "p3")}


def test_a_mover_changes_group_with_one_put_and_two_posts(app, jumpcloud_api_url):
    ids = first_sync(app, jumpcloud_api_url)
    moved = staff()
    moved[1] = person(
        "p2", "Folake", "Adeyemi", work_location="Lagos", department={"id": "d2", "name": "Finance"}
    )
    run = run_sync(jumpcloud_api_url, moved)
    assert ids["p2"] in group_members(app, "Dept - Finance")
    assert ids["p2"] not in group_members(app, "Dept - Engineering")
    kinds = [(e.method, e.path.split("?")[0]) for e in writes(app)]
    assert sorted(m for m, _ in kinds) == ["POST", "POST", "PUT"]
    folake = entry(run, "p2")
    assert folake["outcome"] == "updated"
    assert folake["changes"]["department"] == ["Engineering", "Finance"]
    assert folake["changes"]["groups"] == [
        ["All staff", "Dept - Engineering", "Lagos office"],
        ["All staff", "Dept - Finance", "Lagos office"],
    ]
    changes = {line["group"]: line["change"] for line in folake["groups"]}
    assert changes == {
        "All staff": "kept",
        "Dept - Finance": "added",
        "Lagos office": "kept",
        "Dept - Engineering": "removed",
    }
    finance = app.find_group("Dept - Finance")["id"]
    assert finance in (ledger(user_of(app, "p2")) or "").split(",")


def test_a_membership_made_by_hand_is_never_removed(app, jumpcloud_api_url):
    ids = first_sync(app, jumpcloud_api_url)
    finance = app.find_group("Dept - Finance")["id"]
    app.add_group_member(finance, ids["p1"])  # an administrator's hand
    vip = app.add_group("VIP", members=[ids["p1"]])
    app.reset_log()
    run = run_sync(jumpcloud_api_url, staff())
    assert writes(app) == []
    assert ids["p1"] in group_members(app, "Dept - Finance")
    assert ids["p1"] in group_members(app, "VIP")
    assert finance not in (ledger(user_of(app, "p1")) or "")
    assert vip["id"] not in (ledger(user_of(app, "p1")) or "")
    assert entry(run, "p1")["outcome"] == "unchanged"


def test_a_group_the_rules_want_but_the_user_already_is_in_stays_out_of_the_ledger(
    app, jumpcloud_api_url
):
    seed = seed_user(app, "ada.lovelace", "ada.lovelace@acme.example", employeeIdentifier="p1")
    group = app.add_group("All staff", members=[seed["_id"]])
    run = run_sync(
        jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], group_rules=[{"group": "All staff"}]
    )
    assert app.writes.get("member_add", 0) == 0
    assert entry(run, "p1")["groups"] == [
        {"group": "All staff", "id": group["id"], "change": "kept"}
    ]
    assert ledger(user_of(app, "p1")) is None
    # so when the rule goes, the hand-made membership stays
    run_sync(jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], group_rules=[{"group": "Other"}])
    assert seed["_id"] in group_members(app, "All staff")


def test_a_missing_group_is_a_warning_when_groups_are_not_created(app, jumpcloud_api_url):
    run = run_sync(jumpcloud_api_url, [person("p1", "Ada", "Lovelace")])
    ada = entry(run, "p1")
    assert ada["outcome"] == "created"
    assert "group 'Dept - Engineering' does not exist in JumpCloud" in ada["warnings"]
    assert {line["change"] for line in ada["groups"]} == {"missing"}
    assert app.groups() == []
    assert ledger(user_of(app, "p1")) is None


def test_a_dynamic_group_named_by_a_rule_gets_a_warning_and_no_write(app, jumpcloud_api_url):
    app.add_group("All staff", membershipMethod="DYNAMIC_AUTOMATED")
    run = run_sync(
        jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], group_rules=[{"group": "All staff"}]
    )
    ada = entry(run, "p1")
    assert "group 'All staff' is dynamic" in ada["warnings"]
    assert app.writes.get("member_add", 0) == 0
    assert ada["groups"] == []
    # its members are never read either
    assert not [e for e in app.requests() if e.path.endswith("/members")]


def test_a_rule_change_that_empties_a_group_trips_the_group_guard(app, jumpcloud_api_url):
    workers = [person(f"p{i}", "Worker", f"N{i}") for i in range(6)]
    run_sync(
        jumpcloud_api_url, workers, group_rules=[{"group": "All staff"}], create_missing_groups=True
    )
    app.reset_log()
    with pytest.raises(GuardTripped, match="removes 6 of the 6 members of group 'All staff'"):
        run_sync(
            jumpcloud_api_url,
            workers,
            group_rules=[{"group": "Everyone"}],
            create_missing_groups=True,
        )
    assert writes(app) == []
    assert len(group_members(app, "All staff")) == 6
    # a dry run reports the same plan and writes nothing
    dry = run_sync(jumpcloud_api_url, workers, group_rules=[{"group": "Everyone"}], dry_run=True)
    assert dry.report is not None
    assert "Group guard" in (dry.report.message or "")
    assert writes(app) == []
    # allowed: the group empties
    run_sync(
        jumpcloud_api_url,
        workers,
        group_rules=[{"group": "Everyone"}],
        max_group_removal_percent=100,
    )
    assert group_members(app, "All staff") == set()


def test_fewer_than_five_removals_never_trip_the_group_guard(app, jumpcloud_api_url):
    workers = [person(f"p{i}", "Worker", f"N{i}") for i in range(4)]
    run_sync(
        jumpcloud_api_url, workers, group_rules=[{"group": "All staff"}], create_missing_groups=True
    )
    run_sync(jumpcloud_api_url, workers, group_rules=[{"group": "Everyone"}])
    assert group_members(app, "All staff") == set()


def test_garbage_and_deleted_groups_leave_the_ledger(app, jumpcloud_api_url):
    gone = app.add_group("Old team")
    gone_id = gone["id"]
    app.delete_group(gone_id)
    seed_user(
        app,
        "ada.lovelace",
        "ada.lovelace@acme.example",
        employeeIdentifier="p1",
        attributes=[
            {"name": "badge", "value": "42"},
            {"name": LEDGER, "value": f"nonsense, {gone_id},,DROP TABLE"},
        ],
    )
    group = app.add_group("All staff")
    run = run_sync(
        jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], group_rules=[{"group": "All staff"}]
    )
    ada = entry(run, "p1")
    assert ada["outcome"] == "updated"
    assert any("not a group id" in w for w in ada["warnings"])
    user = user_of(app, "p1")
    assert ledger(user) == group["id"]
    assert user["attributes"][0] == {"name": "badge", "value": "42"}  # kept as it was
    assert ada["changes"]["groups"] == [[gone_id], ["All staff"]]
    app.reset_log()
    run_sync(
        jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], group_rules=[{"group": "All staff"}]
    )
    assert writes(app) == []


def test_a_renamed_group_is_still_the_same_group(app, jumpcloud_api_url):
    ids = first_sync(app, jumpcloud_api_url)
    group = app.find_group("Dept - Engineering")
    body = {k: group[k] for k in ("name", "description", "email", "membershipMethod")}
    # renamed as an administrator would, through the API's full update
    fast_client(jumpcloud_api_url)._request(
        "PUT", f"/v2/usergroups/{group['id']}", json_body={**body, "name": "Engineering"}
    )
    app.reset_log()
    rules = [{"group": "All staff"}, {"group": "{department}"}, RULES[2]]
    engineers = staff()[:2]
    run = run_sync(jumpcloud_api_url, engineers, group_rules=rules)
    assert writes(app) == []  # the ledger holds ids: the renamed group is kept, nothing moves
    assert ids["p1"] in group_members(app, "Engineering")
    assert {line["change"] for line in entry(run, "p1")["groups"]} == {"kept"}


def test_two_rules_yielding_one_group_make_one_membership(app, jumpcloud_api_url):
    rules = [{"group": "Dept - {department}"}, {"group": "dept -  {department} "}]
    run = run_sync(
        jumpcloud_api_url,
        [person("p1", "Ada", "Lovelace")],
        group_rules=rules,
        create_missing_groups=True,
    )
    assert [g["name"] for g in app.groups()] == ["Dept - Engineering"]
    assert app.writes["member_add"] == 1
    assert len(entry(run, "p1")["groups"]) == 1


def test_an_over_long_group_name_is_a_warning_and_an_empty_value_yields_no_group(
    app, jumpcloud_api_url
):
    rules = [{"group": "Team {costCenter}"}, {"group": "Title {jobTitle}"}]
    records = [person("p1", "Ada", "Lovelace", team="x" * 300, job_title=None)]
    run = run_sync(jumpcloud_api_url, records, group_rules=rules, create_missing_groups=True)
    ada = entry(run, "p1")
    assert ada["outcome"] == "created"
    assert any("more than JumpCloud's 255" in w for w in ada["warnings"])
    assert ada["groups"] == []
    assert app.groups() == []


def test_when_conditions_pick_the_workers(app, jumpcloud_api_url):
    rules = [{"group": "Contractors", "when": {"employeeType": "contractor"}}]
    records = [
        person("p1", "Ada", "Lovelace"),
        person("p2", "Alan", "Turing", hiring_type="employee"),
    ]
    run_sync(jumpcloud_api_url, records, group_rules=rules, create_missing_groups=True)
    assert group_members(app, "Contractors") == {user_of(app, "p1")["_id"]}


def test_suspended_users_get_no_groups(app, jumpcloud_api_url):
    seed_user(
        app, "ada.lovelace", "ada.lovelace@acme.example", employeeIdentifier="p1", state="SUSPENDED"
    )
    app.add_group("All staff")
    records = [person("p1", "Ada", "Lovelace"), person("p2", "Alan", "Turing", active=False)]
    run = run_sync(jumpcloud_api_url, records, group_rules=[{"group": "All staff"}])
    assert group_members(app, "All staff") == set()
    assert entry(run, "p1")["groups"] == []


def test_a_worker_the_run_suspends_keeps_their_groups_without_the_leaver_step(
    app, jumpcloud_api_url
):
    ids = first_sync(app, jumpcloud_api_url)
    leaving = staff()
    leaving[0] = person("p1", "Ada", "Lovelace", active=False)
    run = run_sync(jumpcloud_api_url, leaving, leaver_steps=[])
    assert entry(run, "p1")["outcome"] == "suspended"
    assert ids["p1"] in group_members(app, "All staff")
    assert [e.method for e in writes(app)] == ["PUT"]


def test_a_worker_the_run_suspends_leaves_the_ledgers_groups_once(app, jumpcloud_api_url):
    """The default leaver step, remove_groups (docs/leavers.md): every group of the ledger."""
    ids = first_sync(app, jumpcloud_api_url)
    leaving = staff()
    leaving[0] = person("p1", "Ada", "Lovelace", active=False)
    hand_made = app.add_group("Hand made", members=[ids["p1"]])
    run = run_sync(jumpcloud_api_url, leaving)
    record = entry(run, "p1")
    assert record["outcome"] == "suspended"
    assert record["leaver_steps"] == [{"step": "remove_groups", "result": "done"}]
    assert ids["p1"] not in group_members(app, "All staff")
    assert ids["p1"] in set(app.group(str(hand_made["id"]))["members"])  # not the sync's
    user = app.get_user(ids["p1"])
    names = {item["name"]: item["value"] for item in user.get("attributes") or []}
    assert "deelSyncGroups" not in names
    assert names["deelSyncLeaver"]
    app.reset_log()
    run_sync(jumpcloud_api_url, leaving)
    assert writes(app) == []


def test_groups_nothing_names_are_never_read(app, jumpcloud_api_url):
    other = app.add_group("Unrelated", members=[])
    run_sync(
        jumpcloud_api_url,
        [person("p1", "Ada", "Lovelace")],
        group_rules=[{"group": "All staff"}],
        create_missing_groups=True,
    )
    assert not [e for e in app.requests() if other["id"] in e.path]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_faults_on_every_group_endpoint_converge_without_duplicates(app, jumpcloud_api_url, seed):
    workers = [
        person(f"p{i}", "Worker", f"N{i}", department={"id": "d", "name": f"D{i % 3}"})
        for i in range(12)
    ]
    app.faults.randomize(
        0.3,
        ("429", "500", "503", "drop", "commit_then_503", "commit_then_drop"),
        seed=seed,
        paths=r"/api/v2/usergroups.*",
    )
    for _ in range(3):  # a record whose group writes failed is retried by the next run
        try:
            run_sync(jumpcloud_api_url, workers, create_missing_groups=True)
        except Exception:  # noqa: S112 - a failed run is retried
            continue
    app.faults.clear()
    run_sync(jumpcloud_api_url, workers, create_missing_groups=True)
    names = sorted(g["name"] for g in app.groups())
    assert names == ["All staff", "Berlin office", "Dept - D0", "Dept - D1", "Dept - D2"]
    assert len(group_members(app, "All staff")) == 12
    for d in range(3):
        assert len(group_members(app, f"Dept - D{d}")) == 4
    app.reset_log()
    run_sync(jumpcloud_api_url, workers, create_missing_groups=True)
    assert writes(app) == []


def test_a_removal_that_fails_stays_in_the_ledger_and_the_next_run_finishes_it(
    app, jumpcloud_api_url
):
    ids = first_sync(app, jumpcloud_api_url)
    engineering = app.find_group("Dept - Engineering")["id"]
    app.faults.script(
        "503", method="POST", path=f"/api/v2/usergroups/{engineering}/members", count=50
    )
    moved = staff()
    moved[1] = person(
        "p2", "Folake", "Adeyemi", work_location="Lagos", department={"id": "d2", "name": "Finance"}
    )
    with pytest.raises(Exception, match="failed"):
        run_sync(jumpcloud_api_url, moved)
    app.faults.clear()
    assert ids["p2"] in group_members(app, "Dept - Engineering")
    assert ids["p2"] in group_members(app, "Dept - Finance")  # the add went through
    assert engineering in (ledger(user_of(app, "p2")) or "")  # so it is still ours to remove
    run = run_sync(jumpcloud_api_url, moved)
    assert ids["p2"] not in group_members(app, "Dept - Engineering")
    assert entry(run, "p2")["outcome"] == "updated"


def test_a_user_whose_create_fails_is_added_to_no_group(app, jumpcloud_api_url):
    app.faults.script("500", method="POST", path="/api/systemusers", count=100)
    with pytest.raises(Exception, match="failed"):
        run_sync(jumpcloud_api_url, [person("p1", "Ada", "Lovelace")], create_missing_groups=True)
    app.faults.clear()
    assert app.writes.get("member_add", 0) == 0


def test_another_step_can_ask_for_groups_and_the_ledgers_without_rules(app, jumpcloud_api_url):
    """The API a leaver step uses: `want_groups`, `group_snapshot` and `ledger_of`."""
    from target_jumpcloud.sync.groups import ledger_of

    ids = first_sync(app, jumpcloud_api_url)
    protected = app.add_group("Protected", members=[ids["p3"]])
    app.add_group("Never read")
    config = {"api_key": KEY, "api_url": jumpcloud_api_url}
    run = SyncRun(parse_settings(config), fast_client(jumpcloud_api_url))
    run.want_groups(["Protected"])
    run.start()
    directory = run.wait_for_directory()
    snapshot = run.group_snapshot
    assert snapshot is not None
    group = snapshot.by_name("protected")
    assert group is not None
    assert snapshot.members_of(protected["id"]) == {ids["p3"]}
    ada = directory.get(ids["p1"])
    assert ada is not None
    in_ledger = ledger_of(ada, LEDGER)
    assert len(in_ledger) == 3
    assert all(snapshot.members_of(i) is not None for i in in_ledger)  # read for the ledgers
    never = app.find_group("Never read")["id"]
    assert not [e for e in app.requests() if never in e.path]


def test_groups_that_cannot_be_read_stop_the_run_before_any_write(app, jumpcloud_api_url):
    from target_jumpcloud.engine import DirectoryUnavailable

    app.faults.script("503", method="GET", path="/api/v2/usergroups", count=100)
    with pytest.raises(DirectoryUnavailable, match="Could not load JumpCloud's user groups"):
        run_sync(jumpcloud_api_url, staff(), create_missing_groups=True)
    app.faults.clear()
    assert writes(app) == []
