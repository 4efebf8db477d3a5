"""The target's fast paths give exactly what the slow, obvious ones give.

`make bench` measures them; these tests pin that they change nothing but the speed.
"""

from __future__ import annotations

import io
import json
import math
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.model import DirectoryUser, UserState
from target_jumpcloud.output.report import _report_bytes, _report_chunks
from target_jumpcloud.settings.mapping_table import synced_attributes
from target_jumpcloud.singer.reader import TYPES_CHECKED, NumberedSingerReader, RecordDecoder
from target_jumpcloud.singer.sinks import MappedFieldsChecker
from target_jumpcloud.sync.directory import UserReader, _text
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record

from tests.target_jumpcloud.target_io_helpers import PEOPLE_SCHEMA, person

FIELDS = [path.split(".", 1)[0] for path in DEFAULT_MAPPING.values()]


def line(record: Any, stream: str = "people", kind: str = "RECORD") -> str:
    return json.dumps({"type": kind, "stream": stream, "record": record, "version": 1})


def test_a_worker_line_keeps_exactly_the_mapped_fields_and_their_values() -> None:
    record = person("p1", "José", "Łukasz", extra_field={"deep": [1, 2]}, rate=5900.25)
    decoded = RecordDecoder("people", FIELDS)(line(record))
    assert decoded is not None
    assert decoded["type"] == "RECORD"
    assert decoded["stream"] == "people"
    assert decoded["record"] == {k: v for k, v in record.items() if k in FIELDS}
    assert map_record(decoded["record"], DEFAULT_MAPPING, 0) == map_record(
        record, DEFAULT_MAPPING, 0
    )


def test_missing_fields_stay_missing_and_floats_are_decimals() -> None:
    decoder = RecordDecoder("people", [*FIELDS, "rate", "class"])  # (not a Python name)
    decoded = decoder(line({"id": "p1", "rate": 1.10, "class": 2}))
    assert decoded is not None
    assert decoded["record"] == {"id": "p1", "rate": Decimal("1.10"), "class": 2}


@pytest.mark.parametrize(
    "text",
    [
        line({"id": "p1"}, stream="contracts"),
        json.dumps({"type": "STATE", "value": {}}),
        json.dumps({"type": "SCHEMA", "stream": "people", "schema": {}}),
        line(["not", "an", "object"]),
        line({"id": 1, "bad": float("nan")}),  # NaN: msgspec refuses it
        line({"id": "p1"})[:-3],
        '{"type": "RECORD", "stream": 5, "record": {}}',
    ],
)
def test_anything_else_is_left_to_the_full_parse(text: str) -> None:
    assert RecordDecoder("people", FIELDS)(text) is None


def test_the_reader_parses_what_the_quick_parse_declines() -> None:
    reader = NumberedSingerReader()
    reader.quick_parse = RecordDecoder("people", FIELDS)
    seen: list[dict[str, Any]] = []
    text = "\n".join(
        [
            json.dumps({"type": "SCHEMA", "stream": "people", "schema": {"properties": {}}}),
            line({"id": "p1", "unmapped": 1}),
            line({"id": "c1"}, stream="contracts"),
        ]
    )
    reader.process_lines(
        io.StringIO(text),
        {"SCHEMA": seen.append, "RECORD": seen.append, "STATE": seen.append},
    )
    assert [m["type"] for m in seen] == ["SCHEMA", "RECORD", "RECORD"]
    assert seen[1]["record"] == {"id": "p1"}
    assert seen[2]["record"] == {"id": "c1"}  # parsed in full


def test_the_report_bytes_are_json_dumps_with_indent_2() -> None:
    data = {
        "counts": {"created": 1},
        "records": [
            {"deel_id": "p1", "email": "é@x.io", "changes": {"a": [None, "王伟 😀\n\u2028"]}},
            {"deel_id": None, "warnings": [], "x": {}},
        ],
    }
    expected = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert _report_bytes(data) == expected.encode()


@pytest.mark.parametrize("count", [0, 1, 999, 1000, 2501])
def test_the_report_written_in_batches_is_json_dumps_with_indent_2(count: int) -> None:
    lines = [{"group": "Dept - R&D", "id": "a" * 24, "change": "kept"}, {"group": "\u2028"}]
    records = [
        {"deel_id": f"p{i}", "groups": lines if i % 2 else [], "changes": {"x": [i, None]}}
        for i in range(count)
    ]
    data = {"counts": {"created": count}, "message": "a\nb", "records": records}
    expected = (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode()
    assert _report_bytes(data) == expected
    assert b"".join(_report_chunks({k: v for k, v in data.items() if k != "records"}, records)) == (
        expected
    )


def test_a_report_with_a_lone_surrogate_is_still_written() -> None:
    data = {"records": [{"email": "x\ud800y"}]}
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    assert _report_bytes(data) == text.encode("utf-8", errors="backslashreplace")


@pytest.mark.parametrize(
    "obj",
    [
        {"_id": "u1", "username": " ada ", "email": "ada@x.io", "state": "suspended"},
        {"id": 7, "suspended": True, "jobTitle": "  ", "department": 12, "company": 1.5},
        {"_id": "u2", "state": "STAGED", "costCenter": ["x"], "location": {"a": 1}},
        {},
    ],
)
def test_directory_users_are_read_as_before(obj: dict[str, Any]) -> None:
    attributes = synced_attributes(DEFAULT_MAPPING)
    state = UserState.SUSPENDED if obj.get("suspended") is True else UserState.ACTIVATED
    raw_state = obj.get("state")
    if state is UserState.ACTIVATED and isinstance(raw_state, str):
        state = {s.value: s for s in UserState}.get(raw_state.strip().upper(), state)
    expected = DirectoryUser(
        id=_text(obj.get("_id")) or _text(obj.get("id")) or "",
        username=_text(obj.get("username")) or "",
        email=_text(obj.get("email")) or "",
        state=state,
        attributes={
            name: _text(obj.get(name))
            for name in attributes
            if name not in {"_id", "id", "username", "state", "suspended"}
        },
    )
    reader = UserReader(attributes)
    assert reader(obj) == expected
    assert reader(obj) == expected  # (again, with its values shared now)


def test_the_first_page_is_the_key_check_and_is_not_asked_for_twice(
    jumpcloud_emulator: Any,
    jumpcloud_api_url: str,
) -> None:
    app = jumpcloud_emulator.app
    for index in range(250):
        app.add_user(username=f"user{index}", email=f"user{index}@x.io")
    client = JumpCloudClient(jumpcloud_api_url, "jc-test-key")
    client.start_user_listing(["_id", "email"])
    assert len(app.requests("GET", "/api/systemusers")) == 1
    users = list(client.iter_users(["_id", "email"], concurrency=4))
    assert len(users) == 250
    assert [u["email"] for u in users] == [f"user{i}@x.io" for i in range(250)]
    assert len(app.requests("GET", "/api/systemusers")) == math.ceil(250 / 100)
    # Another listing (other fields, or a second one) asks for its own first page.
    assert len(list(client.iter_users(["_id", "email"]))) == 250
    assert len(app.requests("GET", "/api/systemusers")) == 2 * math.ceil(250 / 100)


CHECKER = MappedFieldsChecker(
    {**PEOPLE_SCHEMA, "required": ["id", "active"]}, list(DEFAULT_MAPPING.values())
)
TYPED = RecordDecoder("people", FIELDS, CHECKER.decoder_types)
ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.sampled_from(["name", "id"]), st.none() | st.text(max_size=3), max_size=2),
)


def test_the_checker_gives_the_decoder_the_plain_top_level_types() -> None:
    assert CHECKER.decoder_types["id"] == (str, True)
    assert CHECKER.decoder_types["active"] == (bool, True)
    assert CHECKER.decoder_types["first_name"] == (str | None, False)
    assert "department" not in CHECKER.decoder_types  # (a nested path: checked by `problem`)


TEXT_FIELDS = [key for key in FIELDS if key not in {"id", "active", "department"}]
VALID = st.fixed_dictionaries(
    {"id": st.text(max_size=4), "active": st.booleans()},
    optional={
        **{key: st.none() | st.text(max_size=4) for key in TEXT_FIELDS},
        "department": st.none() | st.fixed_dictionaries({}, optional={"name": st.text()}),
    },
)


@st.composite
def records(draw: st.DrawFn) -> dict[str, Any]:
    """A record as the schema says, then maybe one field set to anything (or dropped)."""
    record: dict[str, Any] = draw(VALID)
    key = draw(st.none() | st.sampled_from([*FIELDS, "department", "other"]))
    if key is not None:
        if draw(st.booleans()):
            record[key] = draw(ODD_VALUES)
        else:
            record.pop(key, None)
    return record


@settings(max_examples=300, deadline=None, derandomize=True)
@given(records())
def test_a_typed_parse_leaves_the_checker_the_same_verdict(record: dict[str, Any]) -> None:
    quick = TYPED(line(record).encode())
    verdict = CHECKER.problem(record)
    if quick is None:  # refused: the line is parsed in full, and the checker says why
        assert verdict is not None
        return
    assert quick[TYPES_CHECKED] is True
    assert CHECKER.problem(quick["record"], types_checked=True) == verdict
    parsed = json.loads(line(record), parse_float=Decimal)["record"]  # (as the reader parses)
    assert quick["record"] == {key: parsed[key] for key in FIELDS if key in parsed}
