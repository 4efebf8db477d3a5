"""Property tests: usernames are unique and well-formed, plans are deterministic, cover every
record once, and a plan applied to the directory leaves nothing to do."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

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
from target_jumpcloud.settings.sync_settings import SuspensionLimit
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.mapping import (
    DEFAULT_MAPPING,
    RecordMapper,
    _required_values,
    map_record,
)
from target_jumpcloud.sync.usernames import UsernameAllocator, base_username, clean

from tests.target_jumpcloud.directory_helpers import apply_to_directory

if TYPE_CHECKING:
    from collections.abc import Callable

MAPPING = dict(DEFAULT_MAPPING)
FIELDS = compared_fields(MAPPING)

# Derandomised: the same examples on every run, so the suite is deterministic.
FAST = settings(
    max_examples=300,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)

# One clean part: a-z0-9 and inner '-'; a base is one part or two joined by '.', starting with a
# letter; a collision adds digits.
PART = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
USERNAME_RE = re.compile(rf"[a-z](?:[a-z0-9-]*[a-z0-9])?(?:\.{PART})?[0-9]*")

NAMES = st.one_of(
    st.sampled_from(
        ["Alpha", "Zed", "José", "Łukasz", "王伟", "O'Brien", "Anne-Marie", "42", "-", "😀", ""]
    ),
    st.none(),
    st.text(max_size=12),
)
PROFILE_IDS = st.sampled_from(["P1", "P2", "P3", "P4", "P5", "P6", "P7", "C-1", "E-2"])
LOCALS = st.sampled_from(["ada", "bob", "alpha.zed", "cy", "dee", "eve", "fay", "gus", "hal"])
EMAILS = st.builds(
    lambda local, upper: (local.upper() if upper == 0 else local) + "@x.io",
    LOCALS,
    st.integers(min_value=0, max_value=4),
)
TITLES = st.sampled_from(["Engineer", "Lead", " Lead ", "", None])
ACTIVE = st.sampled_from([True, False, True, False, True, "true", "FALSE", "bad"])


@st.composite
def workers(draw: st.DrawFn) -> dict[str, Any]:
    return {
        # mostly valid: one record in about fifteen lacks a profile id or a plausible email
        "id": None if draw(st.integers(min_value=0, max_value=14)) == 0 else draw(PROFILE_IDS),
        "work_email": (
            "not an email" if draw(st.integers(min_value=0, max_value=14)) == 0 else draw(EMAILS)
        ),
        "first_name": draw(NAMES),
        "last_name": draw(NAMES),
        "full_name": draw(st.sampled_from(["Alpha Zed", None])),
        "job_title": draw(TITLES),
        "department": {"name": draw(TITLES)},
        "active": draw(ACTIVE),
    }


USERNAMES = st.one_of(
    st.sampled_from(
        ["alpha.zed", "Alpha.Zed1", "alpha.zed2", "ada", "u", "u42.zed", "jose.wang", "zed1"]
    ),
    st.text(alphabet="abcxyz.-019", min_size=1, max_size=8),
)


@st.composite
def jumpcloud_users(draw: st.DrawFn) -> list[DirectoryUser]:
    count = draw(st.integers(min_value=0, max_value=10))
    users = []
    for n in range(count):
        obj = {
            "_id": f"u{n}",
            "username": draw(USERNAMES),
            "email": draw(EMAILS) if draw(st.booleans()) else f"other{n}@x.io",
            "state": draw(st.sampled_from(["STAGED", "ACTIVATED", "SUSPENDED"])),
            "employeeIdentifier": draw(st.one_of(st.none(), PROFILE_IDS, st.just("X-9"))),
            "jobTitle": draw(TITLES),
            "department": draw(TITLES),
        }
        obj["suspended"] = obj["state"] == "SUSPENDED"
        users.append(directory_user(obj, FIELDS))
    return users


OPTIONS = st.builds(
    PlanOptions,
    user_state_on_create=st.sampled_from([UserState.STAGED, UserState.ACTIVATED]),
    reactivate_suspended_users=st.booleans(),
    max_suspensions=st.sampled_from(
        [SuspensionLimit(20, percent=True), SuspensionLimit(0, percent=False)]
    ),
)


def mapped(raw_workers: list[dict[str, Any]]) -> list[DesiredUser | RejectedRecord]:
    return [map_record(w, MAPPING, i) for i, w in enumerate(raw_workers)]


# -- usernames


@FAST
@given(st.text())
def test_clean_keeps_only_the_allowed_characters(text):
    cleaned = clean(text)
    assert re.fullmatch(r"(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)?", cleaned)
    assert clean(cleaned) == cleaned


@FAST
@given(NAMES, NAMES, st.text(max_size=20))
def test_base_username_has_the_documented_form(first, last, email):
    base = base_username(first, last, email)
    assert USERNAME_RE.fullmatch(base), base
    assert base_username(first, last, email) == base


@FAST
@given(st.lists(USERNAMES, max_size=20), st.lists(st.tuples(NAMES, NAMES), max_size=30))
def test_allocated_usernames_are_unique_against_taken_and_each_other(taken, people):
    allocator = UsernameAllocator(taken)
    given_out = [allocator.allocate(base_username(fn, ln, "x@y.io")) for fn, ln in people]
    lowered = [name.lower() for name in given_out]
    assert len(set(lowered)) == len(lowered)
    assert not set(lowered) & {name.lower() for name in taken}
    for name in given_out:
        assert USERNAME_RE.fullmatch(name), name
        assert allocator.is_taken(name.upper())


# -- plans


@FAST
@given(st.lists(workers(), max_size=12), jumpcloud_users(), OPTIONS)
def test_plan_covers_every_record_once_in_stream_order(raw, users, options):
    recs = mapped(raw)
    plan = plan_sync(recs, Directory(users), options)
    action_positions = [a.desired.position for a in plan.actions]
    result_positions = [r.position for r in plan.results]
    assert sorted(action_positions + result_positions) == list(range(len(recs)))
    assert action_positions == sorted(action_positions)
    assert result_positions == sorted(result_positions)


@FAST
@given(st.lists(workers(), max_size=12), jumpcloud_users(), OPTIONS)
def test_planning_is_deterministic(raw, users, options):
    first = plan_sync(mapped(raw), Directory(users), options)
    second = plan_sync(mapped(raw), Directory(list(users)), options)
    assert first == second


@FAST
@given(st.lists(workers(), max_size=12), jumpcloud_users(), OPTIONS)
def test_plan_respects_the_never_rules(raw, users, options):
    directory = Directory(users)
    plan = plan_sync(mapped(raw), directory, options)
    taken = {user.username.lower() for user in users}
    created = [str(a.username).lower() for a in plan.actions if a.kind is ActionKind.CREATE]
    assert len(set(created)) == len(created)
    assert not set(created) & taken
    for action in plan.actions:
        if action.kind is ActionKind.CREATE:
            assert USERNAME_RE.fullmatch(action.username or ""), action.username
    touched = [a.user_id for a in plan.actions if a.kind is not ActionKind.CREATE]
    assert len(set(touched)) == len(touched)  # no user is written twice
    for action in plan.actions:
        payload = action.payload
        if action.kind is ActionKind.CREATE:
            assert payload["state"] == options.user_state_on_create.value
            assert payload["suspended"] is False
            assert action.desired.active
            continue
        assert action.user_id in directory
        assert "username" not in payload
        assert payload.get("state") != "STAGED"
        assert payload, "no change, no request"
        expected_state = {
            ActionKind.UPDATE: None,
            ActionKind.SUSPEND: ("SUSPENDED", True),
            ActionKind.REACTIVATE: ("ACTIVATED", False),
        }[action.kind]
        if expected_state is None:
            assert "state" not in payload
            assert "suspended" not in payload
        else:
            assert (payload["state"], payload["suspended"]) == expected_state
        assert {k: v for k, v in payload.items() if k not in {"state", "suspended"}} == {
            k: new for k, (_, new) in action.changes.items()
        }
    assert plan.suspensions == sum(a.kind is ActionKind.SUSPEND for a in plan.actions)
    assert plan.suspension_limit == options.max_suspensions.limit_for(plan.matched_users)
    assert plan.matched_users <= len(directory)


def ids_for_round(round_: int) -> Callable[[Action], str]:
    """Ids for users created in one simulated run, unique across runs."""

    def new_id(action: Action) -> str:
        return f"r{round_}-{action.desired.position}"

    return new_id


def changes_an_email(plan: Plan) -> bool:
    """True when an update moves an email: the address it frees goes to someone next run."""
    return any("email" in a.changes for a in plan.actions if a.kind is not ActionKind.CREATE)


def settled_plan(
    records: list[DesiredUser | RejectedRecord],
    directory: Directory,
    options: PlanOptions,
    new_ids: Callable[[int], Callable[[Action], str]],
) -> Plan:
    """Plan, apply in memory, plan again until nothing is left; the last (empty) plan.

    The second plan must be empty unless the first freed an address (`changes_an_email`),
    and every chain must settle within one run per record.
    """
    plan = plan_sync(records, directory, options)
    frees_addresses = changes_an_email(plan)
    rounds = 0
    while plan.actions:
        rounds += 1
        assert rounds <= len(records) + 1, "the sync does not settle"
        directory = apply_to_directory(plan, directory, new_id=new_ids(rounds))
        plan = plan_sync(records, directory, options)
        if rounds == 1 and not frees_addresses:
            assert plan.actions == [], [(a.desired.profile_id, a.changes) for a in plan.actions]
    return plan


@FAST
@given(st.lists(workers(), max_size=12), jumpcloud_users(), OPTIONS)
def test_a_applied_plan_leaves_nothing_to_do(raw, users, options):
    """Plan, apply in memory, plan again: no actions.

    One exception is inherent: an address freed by an email change can only be given to
    someone else (a create or adoption that was a conflict) on the next run, because the
    writes of one run are not ordered. Such chains still settle, one step per run.
    """
    plan = settled_plan(mapped(raw), Directory(users), options, ids_for_round)
    outcomes = {r.outcome.value for r in plan.results}
    assert outcomes <= {"unchanged", "skipped", "conflict"}


JSON = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10)
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=8,
)


@FAST
@given(
    st.dictionaries(
        st.sampled_from(["id", "work_email", "active", "first_name", "department", "team"]), JSON
    )
)
def test_map_record_never_raises(record):
    result = map_record(record, MAPPING, 0)
    if isinstance(result, DesiredUser):
        assert result.profile_id
        assert result.email
        assert set(result.attributes) == {k for k in MAPPING if k != "state"}
    else:
        assert result.reason


def _mapped_the_general_way(record: dict[str, Any], position: int) -> DesiredUser | RejectedRecord:
    """`RecordMapper` without its shortcut for the common case: every check, every reason."""
    mapper = RecordMapper(MAPPING)
    problems: list[str] = []
    email, profile_id, active = _required_values(record, MAPPING, problems)
    if problems or email is None or profile_id is None or active is None:
        return RejectedRecord(
            position=position, profile_id=profile_id, email=email, reason="; ".join(problems)
        )
    return mapper._desired(record, position, email=email, profile_id=profile_id, active=active)


REQUIRED_VALUES = st.one_of(
    JSON,
    st.sampled_from(["ada@x.io", " ada@x.io ", "ADA@X.IO", "a b@x.io", "é@x.io", "x" * 1030, ""]),
    st.sampled_from(["P1", " P1", "p" * 257, "Ü-1", " "]),
)


@FAST
@given(
    st.fixed_dictionaries(
        {"id": REQUIRED_VALUES, "work_email": REQUIRED_VALUES, "active": ACTIVE | JSON},
        optional={"first_name": NAMES, "department": JSON, "team": TITLES},
    )
)
def test_the_mappers_shortcut_decides_as_the_general_checks_do(record):
    assert map_record(record, MAPPING, 3) == _mapped_the_general_way(record, 3)
