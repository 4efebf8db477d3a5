"""Property tests for managers and custom attributes (docs/directory-attributes.md).

For any JumpCloud directory and any input: a plan applied leaves nothing to do; no write
waits for a manager created later (nor needs an id not yet known); a first sync costs one
write per user plus one per cycle among new users; and custom attributes the mapping does
not manage never change, in value or in place.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    DirectoryUser,
    Plan,
    RejectedRecord,
    UserState,
)
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.managers import apply_waves
from target_jumpcloud.sync.mapping import map_record, merge_mapping

from tests.target_jumpcloud.directory_helpers import apply_to_directory
from tests.target_jumpcloud.plan.test_properties import settled_plan

MAPPING = merge_mapping(
    {
        "manager": "direct_manager.id",
        "attributes.workerType": "hiring_type",
        "attributes.costCode": "cost",
    }
)
FIELDS = compared_fields(MAPPING)
MANAGED = {"workertype", "costcode"}

FAST = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

PROFILE_IDS = st.sampled_from(["P1", "P2", "P3", "P4", "P5", "P6"])
MANAGER_IDS = st.one_of(st.none(), PROFILE_IDS, st.just("OUT-1"))
LOCALS = st.sampled_from(["ada", "bob", "cy", "dee", "eve", "fay"])
VALUES = st.one_of(st.none(), st.sampled_from(["eor", "contractor", " eor ", "", "CC1"]))
ATTRIBUTE_NAMES = st.sampled_from(["hrSource", "workerType", "WORKERTYPE", "costCode", "badge"])
ITEM_VALUES = st.one_of(st.sampled_from(["x", " eor ", "", "contractor", "CC1"]), st.integers(0, 9))


@st.composite
def workers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "id": draw(PROFILE_IDS),
        "work_email": draw(LOCALS) + "@x.io",
        "first_name": draw(st.sampled_from(["Ada", "Bob", None])),
        "last_name": draw(st.sampled_from(["Zed", "Lee", None])),
        "job_title": draw(st.sampled_from(["Engineer", None])),
        "hiring_type": draw(VALUES),
        "cost": draw(VALUES),
        "direct_manager": {"id": draw(MANAGER_IDS)} if draw(st.booleans()) else None,
        "active": draw(st.sampled_from([True, True, False])),
    }


@st.composite
def jumpcloud_users(draw: st.DrawFn) -> list[DirectoryUser]:
    count = draw(st.integers(min_value=0, max_value=8))
    ids = [f"{n:024x}" for n in range(count)]
    users = []
    for user_id in ids:
        items = draw(
            st.lists(
                st.builds(lambda n, v: {"name": n, "value": v}, ATTRIBUTE_NAMES, ITEM_VALUES),
                max_size=4,
            )
        )
        state = draw(st.sampled_from(["STAGED", "ACTIVATED", "SUSPENDED"]))
        obj = {
            "_id": user_id,
            "username": draw(st.sampled_from(["ada", "bob.zed", "cy", "u1", "ada.zed"]))
            + user_id[-2:],
            "email": draw(LOCALS) + "@x.io" if draw(st.booleans()) else f"other{user_id}@x.io",
            "state": state,
            "suspended": state == "SUSPENDED",
            "employeeIdentifier": draw(st.one_of(st.none(), PROFILE_IDS, st.just("OUT-1"))),
            "manager": draw(st.one_of(st.none(), st.sampled_from(ids or ["none"]))),
            "attributes": items if draw(st.integers(0, 5)) else None,
        }
        users.append(directory_user(obj, FIELDS))
    return users


OPTIONS = st.builds(
    PlanOptions,
    user_state_on_create=st.sampled_from([UserState.STAGED, UserState.ACTIVATED]),
    reactivate_suspended_users=st.booleans(),
    create_only=st.sampled_from(
        [frozenset(), frozenset({"manager"}), frozenset({"attributes.costCode", "jobTitle"})]
    ),
)


def mapped(raw: list[dict[str, Any]]) -> list[DesiredUser | RejectedRecord]:
    return [map_record(w, MAPPING, i) for i, w in enumerate(raw)]


def _new_ids(round_: int) -> Any:
    return lambda action: f"{round_:08x}{action.desired.position:016x}"


@FAST
@given(st.lists(workers(), max_size=10), jumpcloud_users(), OPTIONS)
def test_an_applied_plan_leaves_nothing_to_do(raw, users, options):
    """Plan, apply in memory, plan again: no actions (the freed-address chain aside, as in
    plan/test_properties.py: such chains settle one step per run)."""
    settled_plan(mapped(raw), Directory(users), options, _new_ids)


def _wave_of(plan: Plan) -> tuple[dict[int, int], list[int]]:
    waves, followups = apply_waves(plan.actions)
    return {index: n for n, wave in enumerate(waves) for index in wave}, followups


@FAST
@given(st.lists(workers(), max_size=10), jumpcloud_users(), OPTIONS)
def test_no_write_waits_for_a_manager_created_later(raw, users, options):
    plan = plan_sync(mapped(raw), Directory(users), options)
    wave, followups = _wave_of(plan)
    assert sorted(wave) == list(range(len(plan.actions)))  # every action exactly once
    create_index = {
        a.desired.position: i for i, a in enumerate(plan.actions) if a.kind is ActionKind.CREATE
    }
    existing = {u.id for u in users}
    for index, action in enumerate(plan.actions):
        if "manager" in action.payload:  # a known id, of another existing user
            assert action.payload["manager"] in existing
            assert action.payload["manager"] != action.user_id
            assert action.manager_pending is None
        if action.manager_pending is None:
            assert not action.manager_followup
            continue
        manager = create_index[action.manager_pending]  # always a create of this run
        assert manager != index
        if action.manager_followup:
            assert action.kind is ActionKind.CREATE
            assert index in followups
        else:
            assert wave[manager] < wave[index], "a write waits for a manager created later"
    assert followups == [i for i, a in enumerate(plan.actions) if a.manager_followup]


def _cycles_among_creates(actions: list[Action]) -> int:
    edges = {
        a.desired.position: a.manager_pending
        for a in actions
        if a.kind is ActionKind.CREATE and a.manager_pending is not None
    }
    seen: set[int] = set()
    cycles = 0
    for start in edges:
        walk: list[int] = []
        node: int | None = start
        while node is not None and node in edges and node not in seen and node not in walk:
            walk.append(node)
            node = edges[node]
        if node is not None and node in walk:
            cycles += 1
        seen.update(walk)
    return cycles


@st.composite
def org_charts(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Distinct workers, each managed by anyone of them (cycles included), or no one."""
    size = draw(st.integers(min_value=1, max_value=14))
    ids = [f"P{n}" for n in range(size)]
    managers = st.one_of(st.none(), st.sampled_from([*ids, "OUT-1"]))
    return [
        {
            "id": profile_id,
            "work_email": f"w{profile_id}@x.io",
            "first_name": "Ada",
            "last_name": "Zed",
            "direct_manager": {"id": draw(managers)},
            "active": True,
        }
        for profile_id in ids
    ]


@FAST
@given(org_charts())
def test_a_first_sync_costs_one_write_per_user_plus_one_per_cycle(raw):
    plan = plan_sync(mapped(raw), Directory(), PlanOptions())
    assert [a.kind for a in plan.actions] == [ActionKind.CREATE] * len(raw)
    _, followups = apply_waves(plan.actions)
    assert len(followups) == _cycles_among_creates(plan.actions)


def _unmanaged(items: tuple[Any, ...] | list[Any] | None) -> list[Any]:
    return [i for i in items or () if str(i.get("name", "")).casefold() not in MANAGED]


@FAST
@given(st.lists(workers(), max_size=10), jumpcloud_users(), OPTIONS)
def test_unmanaged_custom_attributes_never_change(raw, users, options):
    directory = Directory(users)
    plan = plan_sync(mapped(raw), directory, options)
    for action in plan.actions:
        sent = action.payload.get("attributes")
        if action.kind is ActionKind.CREATE or sent is None:
            continue
        user = directory.get(action.user_id or "")
        assert user is not None
        before = list(user.custom_attributes or ())
        assert _unmanaged(sent) == _unmanaged(before)  # same items, same order
        assert len(sent) >= len(before)  # nothing removed
        for position, item in enumerate(before):
            if str(item["name"]).casefold() not in MANAGED:
                assert sent[position] is item  # the very object read, in its place
        assert sent != before  # no change, no `attributes` key
        assert all(item.get("value") not in (None, "") for item in sent if item not in before)
    after = apply_to_directory(plan, directory)
    for user in users:
        assert _unmanaged(after.get(user.id).custom_attributes) == _unmanaged(  # type: ignore[union-attr]
            user.custom_attributes
        )
