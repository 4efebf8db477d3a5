"""The plan file: plan_id stability, the document, loading, tampering, pin, age."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.model import ActionKind, DirectoryUser, Outcome, Plan, UserState
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.document import (
    canonical_json,
    compute_plan_id,
    plan_bytes,
    plan_document,
    write_plan,
)
from target_jumpcloud.plan.load import load_plan
from target_jumpcloud.plan.parse import read_plan_document
from target_jumpcloud.plan.schema import PLAN_SCHEMA, PLAN_SETTINGS, PlanFileError, PlanFormatError
from target_jumpcloud.settings.sync_settings import (
    ConfigError,
    parse_plan_max_age_hours,
    parse_settings,
)
from target_jumpcloud.sync.directory import Directory, compared_fields, directory_user
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record
from target_jumpcloud.sync.schedules import JobChange

from tests.target_jumpcloud.plan.test_properties import FAST

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from pathlib import Path

MAPPING = dict(DEFAULT_MAPPING)
FIELDS = compared_fields(MAPPING)
SECRET = "jc-SECRET-key-4242"
SETTINGS = parse_settings({"api_key": SECRET, "api_url": "https://console.jumpcloud.com/api"})
MADE = datetime(2026, 3, 2, 8, 30, tzinfo=UTC)


def worker(pid: str, first: str, last: str, *, active: bool = True, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": pid,
        "work_email": f"{first.lower()}.{last.lower()}@acme.example",
        "first_name": first,
        "last_name": last,
        "full_name": f"{first} {last}",
        "job_title": "Engineer",
        "department": {"name": "Engineering"},
        "work_location": "Berlin",
        "team": "Platform",
        "hiring_type": "employee",
        "client_legal_entity": {"name": "Acme GmbH"},
        "active": active,
    }
    record.update(extra)
    return record


def jc_user(
    user_id: str, like: dict[str, Any], *, state: str = "ACTIVATED", **attrs: Any
) -> DirectoryUser:
    """The JumpCloud user of worker `like`, in step with it unless `attrs` say otherwise."""
    obj: dict[str, Any] = {
        "_id": user_id,
        "username": f"{like['first_name'].lower()}.{like['last_name'].lower()}",
        "email": like["work_email"],
        "state": state,
        "suspended": state == "SUSPENDED",
        "firstname": like["first_name"],
        "lastname": like["last_name"],
        "displayname": like["full_name"],
        "jobTitle": like["job_title"],
        "department": like["department"]["name"],
        "location": like["work_location"],
        "costCenter": like["team"],
        "employeeType": like["hiring_type"],
        "company": like["client_legal_entity"]["name"],
        "employeeIdentifier": like["id"],
    }
    obj.update(attrs)
    return directory_user(obj, FIELDS)


ADA = worker("p1", "Ada", "Lovelace")
ALAN = worker("p2", "Alan", "Turing", job_title="Cryptanalyst")  # JumpCloud: Engineer
GRACE = worker("p3", "Grace", "Hopper", active=False)  # leaver
KATE = worker("p4", "Kate", "Johnson")  # new
LIN = worker("p5", "Lin", "Wei")  # unchanged
MAX = worker("p6", "Max", "Born")  # suspended by hand, active again


def directory() -> Directory:
    return Directory(
        [
            jc_user("u1", ADA),
            jc_user("u2", ALAN, jobTitle="Engineer"),
            jc_user("u3", GRACE, state="STAGED"),
            jc_user("u5", LIN),
            jc_user("u6", MAX, state="SUSPENDED"),
        ]
    )


def make_plan(
    workers: Sequence[dict[str, Any]],
    users: Directory,
    mapping: dict[str, str] | None = None,
    **options: Any,
) -> Plan:
    records = [map_record(w, mapping or MAPPING, i) for i, w in enumerate(workers)]
    return plan_sync(records, users, PlanOptions(**options))


WORKERS = [ADA, ALAN, GRACE, KATE, LIN, MAX]


def document(workers: Sequence[dict[str, Any]] = WORKERS, **options: Any) -> dict[str, Any]:
    users = directory()
    return plan_document(make_plan(workers, users, **options), users, SETTINGS, created_at=MADE)


def written(tmp_path: Path, doc: dict[str, Any], name: str = "plan.json") -> Path:
    return write_plan(tmp_path / name, doc)


def rehash(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its plan_id recomputed (a hand-made plan, not a tampered one)."""
    doc["plan_id"] = compute_plan_id(doc["actions"])
    return doc


def action_of(doc: dict[str, Any], deel_id: str) -> dict[str, Any]:
    return next(a for a in doc["actions"] if a["deel_id"] == deel_id)


# -- the document ------------------------------------------------------------------------------


def test_the_document_names_each_write_with_its_before_and_after_values() -> None:
    doc = document(reactivate_suspended_users=True)
    jsonschema.validate(doc, PLAN_SCHEMA)
    assert doc["format"] == "target-jumpcloud-plan"
    assert doc["version"] == 1
    assert doc["created_at"] == "2026-03-02T08:30:00.000Z"
    assert [(a["deel_id"], a["kind"]) for a in doc["actions"]] == [
        ("p2", "update"),
        ("p3", "suspend"),
        ("p4", "create"),
        ("p6", "reactivate"),
    ]
    update = action_of(doc, "p2")
    assert update == {
        "kind": "update",
        "deel_id": "p2",
        "jumpcloud_id": "u2",
        "username": "alan.turing",
        "email": "alan.turing@acme.example",
        "attributes": {"jobTitle": {"before": "Engineer", "after": "Cryptanalyst"}},
        "state": None,
        "reason": None,
        "warnings": [],
    }
    # The state before is the user's own: STAGED here, not a guess.
    assert action_of(doc, "p3")["state"] == {"before": "STAGED", "after": "SUSPENDED"}
    assert action_of(doc, "p6")["state"] == {"before": "SUSPENDED", "after": "ACTIVATED"}
    create = action_of(doc, "p4")
    assert create["jumpcloud_id"] is None
    assert create["username"] == "kate.johnson"
    assert create["state"] == {"before": None, "after": "STAGED"}
    assert create["name_parts"] == {"first": "Kate", "last": "Johnson"}
    assert create["attributes"]["employeeIdentifier"] == {"before": None, "after": "p4"}
    assert create["attributes"]["email"] == {"before": None, "after": "kate.johnson@acme.example"}
    assert doc["counts"] == {
        "created": 1,
        "updated": 1,
        "unchanged": 2,
        "suspended": 1,
        "reactivated": 1,
        "scheduled": 0,
        "skipped": 0,
        "conflict": 0,
        "failed": 0,
    }
    assert doc["guard"] == {
        "matched_users": 5,
        "suspensions": 1,
        "suspension_limit": 5,
        "tripped": False,
    }
    assert [r["deel_id"] for r in doc["records"]] == ["p1", "p5"]


def test_settings_are_an_allow_list_and_no_secret_reaches_the_file(tmp_path: Path) -> None:
    config = {
        "api_key": SECRET,
        "api_url": "https://console.eu.jumpcloud.com/api",
        "org_id": "org-7",
        "max_suspensions": 3,
        "dry_run": True,
    }
    # (A service account instead of the key: one way or the other, never both.)
    service_account = {
        **{k: v for k, v in config.items() if k != "api_key"},
        "client_id": "svc-plan",
        "client_secret": "SECRET-client-secret",
    }
    users = directory()
    plan = make_plan(WORKERS, users)
    sources = (config, service_account)
    for source in (*map(parse_settings, sources), *sources):
        doc = plan_document(plan, users, source, created_at=MADE)
        assert list(doc["settings"]) == list(PLAN_SETTINGS)
        text = written(tmp_path, doc).read_text(encoding="utf-8")
        assert SECRET not in text
        assert "SECRET-client-secret" not in text
        assert doc["settings"]["org_id"] == "org-7"
        assert doc["settings"]["dry_run"] is True
    assert (
        plan_document(plan, users, parse_settings(config), created_at=MADE)["settings"][
            "max_suspensions"
        ]
        == "3"
    )
    assert "api_key" not in PLAN_SETTINGS


def test_the_file_is_json_with_one_line_per_action_and_written_atomically(tmp_path: Path) -> None:
    doc = document()
    path = written(tmp_path, doc)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == doc
    action_lines = [line for line in text.splitlines() if line.startswith('    {"kind":')]
    assert len(action_lines) == len(doc["actions"])
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it
    # A name with a lone surrogate (possible in JSON input) still writes and reads back.
    odd = document([worker("p9", "Ada\udc80", "Zed")])
    assert json.loads(plan_bytes(odd).decode("utf-8")) == odd


# -- plan_id stability -------------------------------------------------------------------------


def _reordered(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _reordered(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [_reordered(item) for item in value]
    return value


def test_plan_id_is_the_sha256_of_the_canonical_actions() -> None:
    import hashlib

    doc = document()
    expected = hashlib.sha256(
        json.dumps(
            sorted(doc["actions"], key=lambda a: (a["deel_id"], a["kind"])),
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    assert doc["plan_id"] == expected
    assert canonical_json({"b": 1, "a": "é"}) == b'{"a":"\\u00e9","b":1}'


def test_plan_id_ignores_key_order_time_and_the_order_of_actions() -> None:
    doc = document()
    assert compute_plan_id(_reordered(doc["actions"])) == doc["plan_id"]
    assert compute_plan_id(list(reversed(doc["actions"]))) == doc["plan_id"]
    # Another time of day, another `created_at`, the same plan.
    users = directory()
    later = plan_document(
        make_plan(WORKERS, users), users, SETTINGS, created_at=MADE + timedelta(hours=7)
    )
    assert later["created_at"] != doc["created_at"]
    assert later["plan_id"] == doc["plan_id"]
    # The mapping's keys in another order: the payloads' key order differs, not the plan.
    shuffled = dict(reversed(list(MAPPING.items())))
    other = plan_document(make_plan(WORKERS, users, shuffled), users, SETTINGS, created_at=MADE)
    assert other["plan_id"] == doc["plan_id"]


def test_plan_id_changes_with_any_planned_write() -> None:
    doc = document()
    ids = {doc["plan_id"]}
    edits = [
        ("attributes", {"jobTitle": {"before": "Engineer", "after": "CEO"}}),
        ("reason", "something else"),
        ("jumpcloud_id", "u9"),
        ("email", "someone@else.example"),
    ]
    for key, value in edits:
        actions = json.loads(json.dumps(doc["actions"]))
        action_of({"actions": actions}, "p2")[key] = value
        ids.add(compute_plan_id(actions))
    assert len(ids) == 1 + len(edits)


UNCHANGED_WORKERS = [worker(f"q{n}", f"Same{n}", f"Person{n}") for n in range(8)]


@FAST
@given(st.permutations(range(len(UNCHANGED_WORKERS))), st.integers(min_value=0, max_value=8))
def test_plan_id_ignores_the_record_order_of_unchanged_users(
    order: list[int], insert_at: int
) -> None:
    users = Directory(
        [*directory(), *(jc_user(f"s{n}", w) for n, w in enumerate(UNCHANGED_WORKERS))]
    )
    base = [*WORKERS, *UNCHANGED_WORKERS]
    moved = [UNCHANGED_WORKERS[i] for i in order]
    stream = [*moved[:insert_at], *WORKERS, *moved[insert_at:]]
    first = plan_document(make_plan(base, users), users, SETTINGS, created_at=MADE)
    second = plan_document(make_plan(stream, users), users, SETTINGS, created_at=MADE)
    assert second["plan_id"] == first["plan_id"]
    assert second["actions"] == first["actions"]
    assert second["counts"] == first["counts"]


# -- loading: shape, integrity --------------------------------------------------------------


def test_a_written_plan_loads_back_into_the_actions_the_applier_takes(tmp_path: Path) -> None:
    users = directory()
    plan = make_plan(WORKERS, users, reactivate_suspended_users=True)
    path = written(tmp_path, plan_document(plan, users, SETTINGS, created_at=MADE))
    loaded = load_plan(path, now=MADE + timedelta(hours=1))
    assert loaded.plan_id == read_plan_document(path)["plan_id"]
    assert loaded.created_at == MADE
    assert loaded.matched_users == plan.matched_users
    assert loaded.counts["created"] == 1
    assert [a.position for a in loaded.actions] == [0, 1, 2, 3]
    original = {a.desired.profile_id: a for a in plan.actions}
    for action in loaded.model_actions():
        planned = original[action.desired.profile_id]
        assert action.kind is planned.kind
        assert action.payload == planned.payload
        assert action.user_id == planned.user_id
        assert action.username == planned.username
        assert action.changes == planned.changes
        assert action.outcome is planned.outcome
        assert action.reason == planned.reason
        assert action.desired.email == planned.desired.email
        if action.kind is ActionKind.CREATE:  # (the name is the username's source)
            assert action.desired.first_name == planned.desired.first_name
            assert action.desired.last_name == planned.desired.last_name
    assert "jobTitle" in loaded.attribute_names()


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: action_of(d, "p2")["attributes"]["jobTitle"].update(after="CEO"), "changed"),
        (lambda d: d.update(plan_id="0" * 64), "changed after it was made"),
        (lambda d: action_of(d, "p4").update(username="root"), "changed after it was made"),
        (lambda d: d["actions"].pop(), "changed after it was made"),
        (lambda d: d["actions"].append(dict(d["actions"][0], deel_id="p99")), "changed"),
    ],
)
def test_a_tampered_plan_is_refused_with_one_line(tmp_path: Path, edit: Any, says: str) -> None:
    doc = document()
    edit(doc)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE)
    message = str(caught.value)
    assert message.startswith(f"apply_plan: {path}: ")
    assert says in message
    assert "\n" not in message
    assert isinstance(caught.value, ConfigError)  # a run stops before any write


def test_actions_in_another_order_in_the_file_are_the_same_plan(tmp_path: Path) -> None:
    doc = document()
    doc["actions"].reverse()
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(_reordered(doc)), encoding="utf-8")
    loaded = load_plan(path, now=MADE)
    assert [a.deel_id for a in loaded.actions] == ["p2", "p3", "p4"]


def _hand_made(doc: dict[str, Any]) -> dict[str, Any]:
    return rehash(doc)


@pytest.mark.parametrize(
    ("edit", "says"),
    [
        (lambda d: d.update(format="something"), "not a target-jumpcloud plan file"),
        (lambda d: d.update(version=2), "version"),
        (lambda d: d.pop("guard"), "'guard' is a required property"),
        (lambda d: action_of(d, "p2").update(kind="delete"), "actions/0/kind"),
        (lambda d: action_of(d, "p3").update(state=None), "actions/1/state"),
        (
            lambda d: action_of(d, "p3").update(state={"before": "STAGED", "after": "ACTIVATED"}),
            "actions/1/state/after",
        ),
        (lambda d: action_of(d, "p2").update(state={"before": None, "after": "STAGED"}), "state"),
        (lambda d: action_of(d, "p4").update(jumpcloud_id="u1"), "actions/2/jumpcloud_id"),
        (lambda d: action_of(d, "p4").pop("name_parts"), "name_parts"),
        (
            lambda d: action_of(d, "p2").update(name_parts={"first": None, "last": None}),
            "name_parts",
        ),
        (lambda d: action_of(d, "p2").update(email=""), "actions/0/email"),
        (lambda d: action_of(d, "p2").update(extra=1), "extra"),
        (
            lambda d: action_of(d, "p2")["attributes"].update(state={"before": None, "after": "x"}),
            "'state' as an attribute",
        ),
        (
            lambda d: d["actions"].append(
                dict(
                    action_of(d, "p2"),
                    kind="suspend",
                    state={"before": "ACTIVATED", "after": "SUSPENDED"},
                )
            ),
            "two actions for profile id 'p2'",
        ),
        (
            lambda d: action_of(d, "p3").update(jumpcloud_id="u2"),
            "two actions for JumpCloud user 'u2'",
        ),
        (lambda d: d["counts"].update(created=7), "counts do not match"),
        (lambda d: d["records"].append({"outcome": "unchanged"}), "records/3"),
    ],
)
def test_a_file_that_is_not_a_valid_plan_is_refused(tmp_path: Path, edit: Any, says: str) -> None:
    doc = document()
    edit(doc)
    _hand_made(doc)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "no such file"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"format": ', "not valid JSON (line 1"),
        (b'{"format": "target-jumpcloud-plan", "format": "x"}', "'format' appears twice"),
        (b"[1, NaN]", "NaN is not a JSON value"),
        (b"[]", "not a target-jumpcloud plan file"),
        (b'{"counts": {}, "records": []}', "not a target-jumpcloud plan file"),
    ],
)
def test_a_file_that_cannot_be_read_as_a_plan_is_one_line(
    tmp_path: Path, content: bytes | None, says: str
) -> None:
    path = tmp_path / "plan.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE)
    assert says in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_folder_is_not_a_plan(tmp_path: Path) -> None:
    with pytest.raises(PlanFormatError, match="is a folder"):
        read_plan_document(tmp_path)


def test_a_plan_with_scheduled_state_changes_loads_its_lines(tmp_path: Path) -> None:
    doc = document()
    action_of(doc, "p4")["schedule"] = [
        {"state": "ACTIVATED", "at": "2026-04-01T07:00:00Z", "change": "scheduled"}
    ]
    path = written(tmp_path, rehash(doc))
    loaded = load_plan(path, now=MADE)
    (create,) = [a for a in loaded.actions if a.deel_id == "p4"]
    (line,) = create.schedule
    assert (line.state, line.at, line.change) == (
        UserState.ACTIVATED,
        datetime(2026, 4, 1, 7, 0, tzinfo=UTC),
        JobChange.SCHEDULED,
    )
    assert loaded.has_schedules
    assert create.to_action().schedule == (line,)


def test_a_schedule_line_with_no_readable_time_is_refused(tmp_path: Path) -> None:
    doc = document()
    action_of(doc, "p4")["schedule"] = [
        {"state": "ACTIVATED", "at": "next monday", "change": "scheduled"}
    ]
    path = written(tmp_path, rehash(doc))
    with pytest.raises(PlanFileError, match="schedule time 'next monday'"):
        load_plan(path, now=MADE)


# -- pin and age ---------------------------------------------------------------------------------


def test_apply_plan_id_must_be_the_plans_id(tmp_path: Path) -> None:
    doc = document()
    path = written(tmp_path, doc)
    assert load_plan(path, now=MADE, apply_plan_id=doc["plan_id"]).plan_id == doc["plan_id"]
    assert load_plan(path, now=MADE, apply_plan_id=f" {doc['plan_id'].upper()} \n").plan_id
    assert load_plan(path, now=MADE, apply_plan_id="").plan_id  # not set: no pin
    other = document([ADA, KATE])["plan_id"]
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE, apply_plan_id=other)
    message = str(caught.value)
    assert message.startswith(f"apply_plan_id: '{other}' is not the plan_id of {path}")
    assert doc["plan_id"] in message
    assert "nothing was written" in message


def test_apply_plan_id_does_not_excuse_a_tampered_file(tmp_path: Path) -> None:
    doc = document()
    pinned = doc["plan_id"]
    action_of(doc, "p2")["attributes"]["jobTitle"]["after"] = "CEO"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(PlanFileError, match="was changed after it was made"):
        load_plan(path, now=MADE, apply_plan_id=pinned)
    # Recomputing the id makes a valid plan file, but not the approved one.
    path.write_text(json.dumps(rehash(doc)), encoding="utf-8")
    with pytest.raises(PlanFileError, match=r"^apply_plan_id: "):
        load_plan(path, now=MADE, apply_plan_id=pinned)


@pytest.mark.parametrize(
    ("age", "limit", "accepted"),
    [
        (timedelta(0), None, True),
        (timedelta(hours=23, minutes=59), None, True),
        (timedelta(hours=24), None, True),
        (timedelta(hours=24, seconds=1), None, False),
        (timedelta(hours=30), 48, True),
        (timedelta(hours=30), "36", True),
        (timedelta(minutes=31), 0.5, False),
        (timedelta(minutes=-4), None, True),  # clock skew between two machines
        (timedelta(minutes=-6), None, False),  # from the future
    ],
)
def test_a_plan_older_than_plan_max_age_hours_is_refused(
    tmp_path: Path, age: timedelta, limit: object, accepted: bool
) -> None:
    path = written(tmp_path, document())
    if accepted:
        load_plan(path, now=MADE + age, max_age_hours=limit)
        return
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE + age, max_age_hours=limit)
    message = str(caught.value)
    assert message.startswith(f"apply_plan: the plan in {path}")
    assert "make" in message
    assert "\n" not in message


def test_the_age_message_names_the_hours_and_the_setting(tmp_path: Path) -> None:
    path = written(tmp_path, document())
    with pytest.raises(PlanFileError) as caught:
        load_plan(path, now=MADE + timedelta(hours=30))
    assert "30.0 hours ago, more than plan_max_age_hours (24)" in str(caught.value)


@pytest.mark.parametrize(
    ("raw", "hours"), [(None, 24.0), ("", 24.0), (12, 12.0), ("1.5", 1.5), (" 48 ", 48.0)]
)
def test_plan_max_age_hours_reads_numbers_and_their_text(raw: object, hours: float) -> None:
    assert parse_plan_max_age_hours(raw) == hours


@pytest.mark.parametrize("raw", [0, -1, "abc", True, float("inf"), "nan", [24]])
def test_plan_max_age_hours_must_be_a_positive_number(raw: object) -> None:
    with pytest.raises(ConfigError, match=r"^plan_max_age_hours: expected a positive number"):
        parse_plan_max_age_hours(raw)


def test_now_must_be_aware(tmp_path: Path) -> None:
    path = written(tmp_path, document())
    with pytest.raises(ValueError, match="aware"):
        load_plan(path, now=datetime(2026, 3, 2))
    users = directory()
    with pytest.raises(ValueError, match="aware"):
        plan_document(make_plan(WORKERS, users), users, SETTINGS, created_at=datetime(2026, 3, 2))


def test_the_item_schemas_are_checked_once_per_shape_yet_every_item_counts(tmp_path: Path) -> None:
    """Validation by shape finds a bad item however many good ones of its shape come first."""
    many = [worker(f"n{i:04d}", f"New{i}", f"Hire{i}") for i in range(300)]
    doc = document(many)
    assert len(doc["actions"]) == 300
    path = written(tmp_path, doc)
    assert len(load_plan(path, now=MADE).actions) == 300
    doc["actions"][250]["warnings"] = [7]
    path.write_text(json.dumps(rehash(doc)), encoding="utf-8")
    with pytest.raises(PlanFileError, match="actions/250/warnings/0"):
        load_plan(path, now=MADE)
    doc["actions"][250]["warnings"] = []
    doc["actions"][299]["deel_id"] = ""
    path.write_text(json.dumps(rehash(doc)), encoding="utf-8")
    with pytest.raises(PlanFileError, match="actions/299/deel_id"):
        load_plan(path, now=MADE)


def _kinds(actions: Iterable[Any]) -> list[ActionKind]:
    return [a.kind for a in actions]


def test_model_actions_keep_the_kinds_outcomes_and_states() -> None:
    users = directory()
    plan = make_plan(WORKERS, users, reactivate_suspended_users=True)
    doc = plan_document(plan, users, SETTINGS, created_at=MADE)
    from target_jumpcloud.plan.load import PlannedAction

    actions = [PlannedAction.from_document(i, a) for i, a in enumerate(doc["actions"])]
    assert _kinds(actions) == [
        ActionKind.UPDATE,
        ActionKind.SUSPEND,
        ActionKind.CREATE,
        ActionKind.REACTIVATE,
    ]
    assert [a.outcome for a in actions] == [
        Outcome.UPDATED,
        Outcome.SUSPENDED,
        Outcome.CREATED,
        Outcome.REACTIVATED,
    ]
    suspend = actions[1].to_action()
    assert suspend.payload == {"state": "SUSPENDED", "suspended": True}
    assert actions[1].state is not None
    assert actions[1].state.before is UserState.STAGED
    reactivate = actions[3].to_action()
    assert reactivate.payload == {"state": "ACTIVATED", "suspended": False}
    # Without its state, a suspension is a plain update of its attributes.
    assert actions[1].to_action([], with_state=False).kind is ActionKind.UPDATE
