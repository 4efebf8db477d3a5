"""The whole target in process (listen → plan → guard → apply → report) against the emulator."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from target_jumpcloud.engine import DirectoryUnavailable, GuardTripped, RecordsFailed
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.singer.reader import InputStreamError, RecordBeforeSchemaError
from target_jumpcloud.target import TargetJumpCloud

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.target_jumpcloud.target_io_helpers import (
    KEY,
    PEOPLE_SCHEMA,
    config_for,
    list_requests,
    make_target,
    person,
    record_message,
    run_target,
    schema_message,
    seed_user,
    singer_text,
    writes,
)

ADA = person("p1", "Ada", "Lovelace")
ALAN = person("p2", "Alan", "Turing", job_title="Cryptanalyst")
GRACE = person("p3", "Grace", "Hopper")


@pytest.fixture
def app(jumpcloud_emulator):
    emulator: JumpCloudEmulator = jumpcloud_emulator.app
    emulator.log_bodies = True
    return emulator


def _user(app: JumpCloudEmulator, profile_id: str) -> dict[str, Any]:
    (user,) = app.find_users(employeeIdentifier=profile_id)
    return user


def test_first_sync_creates_users_with_the_mapped_payload(app, jumpcloud_api_url, capsys):
    target = run_target(jumpcloud_api_url, singer_text([ADA, ALAN], state={"bookmark": 1}))
    posts = app.requests("POST", "/api/systemusers")
    # Writes run concurrently, so the order in which they arrive is not fixed.
    assert sorted((p.body for p in posts), key=lambda body: body["username"]) == [
        {
            "username": "ada.lovelace",
            "email": "ada.lovelace@acme.example",
            "firstname": "Ada",
            "lastname": "Lovelace",
            "displayname": "Ada Lovelace",
            "jobTitle": "Engineer",
            "department": "Engineering",
            "location": "Berlin",
            "costCenter": "Platform",
            "employeeType": "contractor",
            "company": "Acme GmbH",
            "employeeIdentifier": "p1",
            "state": "STAGED",
            "suspended": False,
        },
        {
            "username": "alan.turing",
            "email": "alan.turing@acme.example",
            "firstname": "Alan",
            "lastname": "Turing",
            "displayname": "Alan Turing",
            "jobTitle": "Cryptanalyst",
            "department": "Engineering",
            "location": "Berlin",
            "costCenter": "Platform",
            "employeeType": "contractor",
            "company": "Acme GmbH",
            "employeeIdentifier": "p2",
            "state": "STAGED",
            "suspended": False,
        },
    ]
    assert _user(app, "p1")["state"] == "STAGED"
    assert target.sync_run.report is not None
    assert target.sync_run.report.counts["created"] == 2
    assert capsys.readouterr().out == '{"bookmark": 1}\n'  # STATE after the writes


def test_users_can_be_created_activated(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text([ADA]), user_state_on_create="ACTIVATED")
    user = _user(app, "p1")
    assert (user["state"], user["suspended"]) == ("ACTIVATED", False)


def test_a_second_identical_sync_writes_nothing(app, jumpcloud_api_url):
    text = singer_text([ADA, ALAN, GRACE])
    run_target(jumpcloud_api_url, text)
    app.reset_log()
    target = run_target(jumpcloud_api_url, text)
    assert writes(app) == []
    assert app.write_count == 0
    assert target.sync_run.report is not None
    assert target.sync_run.report.counts["unchanged"] == 3


def test_an_update_sends_only_the_changed_attributes(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text([ADA, ALAN]))
    app.reset_log()
    promoted = {**ADA, "job_title": "Principal Engineer", "team": "Core"}
    target = run_target(jumpcloud_api_url, singer_text([promoted, ALAN]))
    (put,) = app.requests("PUT")
    assert put.body == {"jobTitle": "Principal Engineer", "costCenter": "Core"}
    assert put.path == f"/api/systemusers/{_user(app, 'p1')['_id']}"
    assert target.sync_run.report is not None
    entry = target.sync_run.report.to_json()["records"][0]
    assert entry["outcome"] == "updated"
    assert entry["changes"] == {
        "jobTitle": ["Engineer", "Principal Engineer"],
        "costCenter": ["Platform", "Core"],
    }


def test_a_leaver_is_suspended_with_the_state_pair(app, jumpcloud_api_url):
    run_target(jumpcloud_api_url, singer_text([ADA, ALAN]))
    app.reset_log()
    gone = {**ALAN, "active": False, "hiring_status": "inactive"}
    target = run_target(jumpcloud_api_url, singer_text([ADA, gone]))
    (put,) = app.requests("PUT")
    assert put.body == {"state": "SUSPENDED", "suspended": True}
    user = _user(app, "p2")
    assert (user["state"], user["suspended"]) == ("SUSPENDED", True)
    assert target.sync_run.report is not None
    assert target.sync_run.report.counts["suspended"] == 1


def test_an_unlinked_user_is_adopted_by_email(app, jumpcloud_api_url):
    seed_user(
        app,
        "alovelace",
        "Ada.Lovelace@acme.example",
        firstname="Ada",
        lastname="Lovelace",
        state="ACTIVATED",
    )
    target = run_target(jumpcloud_api_url, singer_text([ADA]))
    (put,) = app.requests("PUT")
    assert put.body["employeeIdentifier"] == "p1"
    assert "username" not in put.body
    assert app.requests("POST", "/api/systemusers") == []
    assert target.sync_run.report is not None
    (entry,) = target.sync_run.report.to_json()["records"]
    assert (entry["outcome"], entry["reason"]) == ("updated", "adopted by email")
    assert entry["username"] == "alovelace"


def test_an_email_held_by_another_linked_user_is_a_conflict(app, jumpcloud_api_url):
    seed_user(app, "someone", "ada.lovelace@acme.example", employeeIdentifier="other-id")
    target = run_target(jumpcloud_api_url, singer_text([ADA, ALAN]))
    assert target.sync_run.report is not None
    records = target.sync_run.report.to_json()["records"]
    assert records[0]["outcome"] == "conflict"
    assert "other-id" in records[0]["reason"]
    assert records[1]["outcome"] == "created"
    assert [e.body["email"] for e in app.requests("POST", "/api/systemusers")] == [
        "alan.turing@acme.example"
    ]


def test_dry_run_writes_nothing_and_reports_the_plan(app, jumpcloud_api_url, tmp_path, capsys):
    seed_user(app, "grace", "grace.hopper@acme.example", employeeIdentifier="p3")
    report_path = tmp_path / "report.json"
    gone = {**GRACE, "active": False}
    target = run_target(
        jumpcloud_api_url,
        singer_text([ADA, gone], state={"b": 2}),
        dry_run=True,
        report_path=str(report_path),
    )
    assert writes(app) == []
    assert target.sync_run.report is not None
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["dry_run"] is True
    assert data["applied"] is False
    assert data["status"] == "dry_run"
    assert [r["outcome"] for r in data["records"]] == ["created", "suspended"]
    assert data["records"][0]["username"] == "ada.lovelace"
    assert capsys.readouterr().out == ""  # no STATE: nothing was written


def test_guard_trip_writes_nothing_and_names_count_limit_and_setting(
    app, jumpcloud_api_url, tmp_path, capsys
):
    for i in range(3):
        seed_user(app, f"u{i}", f"u{i}@acme.example", employeeIdentifier=f"g{i}")
    leavers = [
        person(f"g{i}", "U", str(i), email=f"u{i}@acme.example", active=False) for i in range(3)
    ]
    report_path = tmp_path / "report.json"
    target = make_target(jumpcloud_api_url, max_suspensions=2, report_path=str(report_path))
    with pytest.raises(GuardTripped) as caught:
        target.listen(io.StringIO(singer_text([*leavers, ADA], state={"b": 1})))
    message = str(caught.value)
    assert "suspends 3 users" in message
    assert "limit of 2" in message
    assert "max_suspensions" in message
    assert writes(app) == []
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["status"] == "guard_tripped"
    assert data["message"] == message
    assert data["counts"]["suspended"] == 3
    assert capsys.readouterr().out == ""


def test_guard_allows_exactly_the_limit(app, jumpcloud_api_url):
    for i in range(2):
        seed_user(app, f"u{i}", f"u{i}@acme.example", employeeIdentifier=f"g{i}")
    leavers = [
        person(f"g{i}", "U", str(i), email=f"u{i}@acme.example", active=False) for i in range(2)
    ]
    run_target(jumpcloud_api_url, singer_text(leavers), max_suspensions=2)
    assert [u["state"] for u in app.users()] == ["SUSPENDED", "SUSPENDED"]


def test_dry_run_with_a_tripped_guard_still_exits_normally(app, jumpcloud_api_url, caplog):
    seed_user(app, "u0", "u0@acme.example", employeeIdentifier="g0")
    caplog.set_level(logging.WARNING, logger="target-jumpcloud")
    target = run_target(
        jumpcloud_api_url,
        singer_text([person("g0", "U", "0", email="u0@acme.example", active=False)]),
        dry_run=True,
        max_suspensions=0,
    )
    assert writes(app) == []
    assert target.sync_run.report is not None
    assert target.sync_run.report.message is not None
    assert "guard tripped" in target.sync_run.report.message
    assert any("Dry run: Suspension guard tripped" in m for m in caplog.messages)


def test_the_directory_is_read_once_with_exact_paging(app, jumpcloud_api_url):
    app.set_users([{"username": f"x{i}", "email": f"x{i}@acme.example"} for i in range(251)])
    app.reset_log()
    run_target(jumpcloud_api_url, singer_text([ADA]))
    assert list_requests(app) == 3
    fields = {
        tuple(e.query.get("fields", [""])[0].split())
        for e in app.requests("GET", "/api/systemusers")
        if e.query.get("limit") == ["100"]
    }
    (projection,) = fields
    assert {
        "_id",
        "username",
        "email",
        "state",
        "suspended",
        "employeeIdentifier",
        "jobTitle",
    } <= set(projection)


def test_org_id_header_is_sent(jumpcloud_api_url):
    org = "5f1e0c0ffee0c0ffee0000aa"
    with EmulatorServer(JumpCloudEmulator(api_key=KEY, org_id=org)) as server:
        api = f"{server.url}/api"
        with pytest.raises(AuthenticationError, match="org_id"):
            run_target(api, singer_text([ADA]))
        run_target(api, singer_text([ADA]), org_id=org)
        assert len(server.app.requests("POST", "/api/systemusers")) == 1


def test_a_rejected_key_stops_before_reading(jumpcloud_api_url):
    target = TargetJumpCloud(
        config=config_for(jumpcloud_api_url, api_key="wrong-key"), parse_env_config=False
    )
    with pytest.raises(AuthenticationError) as caught:
        target.start()
    assert "wrong-key" not in str(caught.value)
    assert target.sync_run.records == []


def test_other_streams_are_ignored_with_one_line_each(app, jumpcloud_api_url, caplog):
    caplog.set_level(logging.INFO, logger="target-jumpcloud")
    other = [
        schema_message("contracts", {"type": "object", "properties": {"id": {}}}, ["id"]),
        *(record_message({"x": i}, "contracts") for i in range(3)),
        schema_message("contracts", {"type": "object", "properties": {"id": {}}}, ["id"]),
    ]
    target = run_target(jumpcloud_api_url, singer_text([ADA], extra=other))
    ignoring = [m for m in caplog.messages if m.startswith("Ignoring stream 'contracts'")]
    assert len(ignoring) == 1
    assert target.ignored_streams.counts == {"contracts": 3}
    assert app.user_count == 1


def test_invalid_records_are_skipped_and_the_others_synced(app, jumpcloud_api_url):
    bad_schema = {**GRACE, "id": "p3", "active": "yes"}
    records = [
        ADA,
        {**ALAN, "work_email": None},
        bad_schema,
        {**ALAN, "id": None},
        person("p5", "Eve", "E", department="Sales"),
    ]
    target = run_target(jumpcloud_api_url, singer_text(records))
    assert target.sync_run.report is not None
    outcomes = [(r["outcome"], r["reason"]) for r in target.sync_run.report.to_json()["records"]]
    assert outcomes[0] == ("created", None)
    assert outcomes[1][0] == "skipped"
    assert "no work email" in outcomes[1][1]
    expected = (
        "does not match the stream schema: active is string, the schema says boolean; "
        "active flag 'yes' (active) is not true or false"
    )
    assert outcomes[2] == ("skipped", expected)
    assert outcomes[3][0] == "skipped"
    assert outcomes[4][0] == "skipped"
    assert "department is string, the schema says null or object" in outcomes[4][1]
    assert app.user_count == 1


def test_with_validate_records_off_only_the_mapping_judges(app, jumpcloud_api_url):
    odd = {**person("p5", "Eve", "E"), "active": "TRUE"}
    target = run_target(jumpcloud_api_url, singer_text([odd]), validate_records=False)
    assert target.sync_run.report is not None
    assert target.sync_run.report.counts["created"] == 1


def test_failed_records_raise_after_the_others_were_applied(
    app, jumpcloud_api_url, tmp_path, capsys
):
    run_target(jumpcloud_api_url, singer_text([ADA, ALAN]))
    app.reset_log()
    ada_id = _user(app, "p1")["_id"]
    app.faults.script("500", method="PUT", path=f"/api/systemusers/{ada_id}", count=100)
    changed = [{**ADA, "job_title": "CTO"}, {**ALAN, "job_title": "CTO"}, GRACE]
    report_path = tmp_path / "r.json"
    target = make_target(jumpcloud_api_url, report_path=str(report_path))
    with pytest.raises(RecordsFailed, match="1 record"):
        target.listen(io.StringIO(singer_text(changed, state={"b": 3})))
    assert _user(app, "p2")["jobTitle"] == "CTO"
    assert _user(app, "p3")["username"] == "grace.hopper"
    assert "jobTitle" not in _user(app, "p1") or _user(app, "p1")["jobTitle"] != "CTO"
    data = json.loads(report_path.read_text(encoding="utf-8"))
    assert data["counts"]["failed"] == 1
    assert data["status"] == "completed_with_failures"
    assert data["records"][0]["outcome"] == "failed"
    assert "HTTP 500" in data["records"][0]["reason"]
    assert capsys.readouterr().out == ""  # no STATE when a record failed


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_a_lost_create_answer_never_duplicates_through_the_target(app, jumpcloud_api_url, kind):
    app.faults.script(kind, method="POST", path="/api/systemusers", count=2)
    target = run_target(jumpcloud_api_url, singer_text([ADA, ALAN, GRACE]))
    assert app.user_count == 3
    assert target.sync_run.report is not None
    assert target.sync_run.report.counts["created"] == 3


def test_a_username_taken_while_the_input_is_read_gets_the_next_number(app, jumpcloud_api_url):
    target = make_target(jumpcloud_api_url)
    target.start()
    target.sync_run.wait_for_directory()  # the snapshot is taken ...
    seed_user(app, "ada.lovelace", "admin.made.this@acme.example")  # ... then an admin acts
    target.listen(io.StringIO(singer_text([ADA])))
    assert _user(app, "p1")["username"] == "ada.lovelace1"
    assert target.sync_run.report is not None
    (entry,) = target.sync_run.report.to_json()["records"]
    assert entry["outcome"] == "created"
    assert "taken meanwhile" in entry["reason"]


class _ListingFails(JumpCloudClient):
    """A client whose directory listing gives up, as after exhausted retries."""

    def iter_user_pages(self, reader, fields=None, *, concurrency=1):
        raise JumpCloudError("GET /systemusers: HTTP 503 (gave up after 6 attempts)", status=503)


def test_the_directory_load_failing_stops_before_planning(app, jumpcloud_api_url):
    client = _ListingFails(jumpcloud_api_url, KEY)
    target = TargetJumpCloud(
        config=config_for(jumpcloud_api_url), parse_env_config=False, client=client
    )
    with pytest.raises(DirectoryUnavailable, match="nothing was planned or written") as caught:
        target.listen(io.StringIO(singer_text([ADA])))
    assert "HTTP 503" in str(caught.value)
    assert app.user_count == 0
    assert writes(app) == []


def test_broken_input_names_the_line_and_applies_nothing(app, jumpcloud_api_url):
    text = singer_text([ADA]) + '{"type": "RECORD", "stream": "people", "record": {"id": \n'
    target = make_target(jumpcloud_api_url)
    with pytest.raises(InputStreamError, match="input line 3: not valid JSON") as caught:
        target.listen(io.StringIO(text))
    assert "Ada" not in str(caught.value)
    assert app.user_count == 0


def test_a_record_before_its_schema_names_the_line(app, jumpcloud_api_url):
    text = json.dumps(record_message(ADA)) + "\n" + singer_text([ALAN])
    with pytest.raises(RecordBeforeSchemaError, match="input line 1: a RECORD for stream 'people'"):
        run_target(jumpcloud_api_url, text)
    assert app.user_count == 0


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("[1, 2]", "not a Singer message"),
        ('{"type": "RECORD", "stream": "people"}', "RECORD message without record"),
        (
            '{"type": "SCHEMA", "stream": "people", "schema": {"type": "object"}}',
            "has no properties",
        ),
        ('{"type": "BATCH", "stream": "people"}', "'BATCH' messages are not supported"),
        ('{"type": "NOPE"}', "'NOPE' messages are not supported"),
    ],
)
def test_malformed_messages_are_refused_with_the_line_number(jumpcloud_api_url, line, why):
    text = json.dumps(schema_message()) + "\n\n" + line + "\n"
    with pytest.raises(InputStreamError, match=f"input line 3: .*{why}"):
        run_target(jumpcloud_api_url, text)


def test_record_metadata_is_stripped_and_sdk_settings_are_handled(app, jumpcloud_api_url, caplog):
    caplog.set_level(logging.WARNING, logger="target-jumpcloud")
    mapping = {"description": "_sdc_received_at"}
    run_target(
        jumpcloud_api_url,
        singer_text([ADA]),
        add_record_metadata=True,
        batch_size_rows=1,
        load_method="upsert",
        mapping=mapping,
    )
    (post,) = app.requests("POST", "/api/systemusers")
    assert "description" not in post.body
    assert not any(key.startswith("_sdc_") for key in post.body)
    assert any("batch_size_rows is ignored" in m for m in caplog.messages)
    assert any("add_record_metadata is ignored" in m for m in caplog.messages)


def test_load_method_other_than_upsert_is_refused(jumpcloud_api_url):
    with pytest.raises(ConfigValidationError) as refused:
        make_target(jumpcloud_api_url, load_method="overwrite")
    assert [e for e in refused.value.errors if e.startswith("load_method: ")]


def test_date_strings_reach_the_mapping_as_the_tap_sent_them(app, jumpcloud_api_url):
    # Not a real date: the SDK must not parse it (a bad date must not stop the run); as the
    # username-order key it is treated as missing, with a warning on the record
    # (docs/directory-attributes.md).
    record = {**ADA, "start_date": "2024-02-30"}
    mapping = {"description": "start_date"}
    target = run_target(jumpcloud_api_url, singer_text([record]), mapping=mapping)
    assert _user(app, "p1")["description"] == "2024-02-30"
    assert PEOPLE_SCHEMA["properties"]["start_date"]["format"] == "date"
    assert target.sync_run.report is not None
    (entry,) = target.sync_run.report.to_json()["records"]
    assert entry["warnings"] == [
        "start_date ignored: start_date is '2024-02-30', not a date (YYYY-MM-DD)"
    ]
