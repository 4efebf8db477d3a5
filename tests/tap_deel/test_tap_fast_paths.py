"""The tap's fast paths write and parse exactly what the slow, obvious ones do.

`make bench` measures them; these tests pin that they change nothing but the speed.
"""

from __future__ import annotations

import io
import json
import math
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter
from tap_deel.output import FastSingerWriter, encode_record_bytes
from tap_deel.pagination import parse_body

WHEN = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
AWKWARD = [
    "plain",
    "José Łukasz Ærø",
    "王伟 😀 \U0001f9d1\u200d\U0001f4bb",
    'quote " backslash \\ slash / \\xe9 literally',
    "\\U0001f600 typed out, then é",
    "control \n\t\r\b\f \x01 and DEL \x7f",
    "line separators \u2028\u2029 and \u00ff\u0100",
    "",
]


def sdk_line(record: dict[str, Any], version: int | None = None) -> str:
    message = RecordMessage("people", record, version=version, time_extracted=WHEN)
    return SimpleSingerWriter().format_message(message)


@pytest.mark.parametrize("text", AWKWARD)
def test_records_are_written_as_the_sdk_writes_them(text: str) -> None:
    record = {"id": "p1", "name": text, "nested": [{"v": text}, None, 3, 7800.5, True]}
    message = RecordMessage("people", record, time_extracted=WHEN).to_dict()
    assert encode_record_bytes(message).decode("ascii") == sdk_line(record)


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False).filter(lambda f: "e" not in repr(f))
            | st.text(),
            lambda children: (
                st.lists(children, max_size=3)
                | st.dictionaries(st.text(max_size=5), children, max_size=3)
            ),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_any_json_record_is_written_as_the_sdk_writes_it(record: dict[str, Any]) -> None:
    message = RecordMessage("people", record, time_extracted=WHEN).to_dict()
    try:
        line = encode_record_bytes(message)
    except (TypeError, ValueError):  # (a lone surrogate: the SDK's own path writes it)
        return
    assert line.decode("ascii") == sdk_line(record)


def test_the_one_difference_floats_in_exponent_form_are_spelled_shorter() -> None:
    record = {"tiny": 1.5e-07, "huge": 1e16}
    message = RecordMessage("people", record, time_extracted=WHEN).to_dict()
    line = encode_record_bytes(message).decode("ascii")
    assert line != sdk_line(record)
    assert json.loads(line) == json.loads(sdk_line(record))


def test_values_json_cannot_hold_still_go_out_as_the_sdk_writes_them() -> None:
    for value in (Decimal("1.10"), math.nan, "\ud800"):
        record = {"id": "x", "v": value}
        writer = FastSingerWriter()
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout", out)
            writer.write_record("people", record, None, WHEN)
            writer.flush()
            written = out.buffer.getvalue().decode("ascii")
        assert written == sdk_line(record) + "\n"


def test_batched_lines_keep_their_order_with_other_messages() -> None:
    writer = FastSingerWriter()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", out)
        writer.write_message(StateMessage({"bookmarks": {}}))
        writer.write_record("people", {"id": "a"}, 3, WHEN)
        writer.write_message(RecordMessage("people", {"id": "b"}, time_extracted=WHEN))
        assert out.buffer.getvalue() == b'{"type":"STATE","value":{"bookmarks":{}}}\n'
        writer.write_message(StateMessage({"bookmarks": {"people": {}}}))
        lines = out.buffer.getvalue().decode().splitlines()
    assert [json.loads(line).get("record", {}).get("id") for line in lines] == [
        None,
        "a",
        "b",
        None,
    ]
    assert lines[1] == sdk_line({"id": "a"}, version=3)


def test_a_text_only_stdout_gets_the_same_lines() -> None:
    writer = FastSingerWriter()
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", out)
        writer.write_record("people", {"id": "é"}, None, WHEN)
        writer.flush()
    assert out.getvalue() == sdk_line({"id": "é"}) + "\n"


def _response(content: bytes) -> requests.Response:
    response = requests.Response()
    response.status_code = 200
    response._content = content
    return response


@pytest.mark.parametrize(
    "content",
    [
        b'{"data": [{"id": "p1", "rate": 5900.0, "big": 123456789012345678901234567890}]}',
        '{"data": [{"name": "José 王伟 😀"}], "page": {"offset": 0}}'.encode(),
        b'{"data": [], "x": "\\ud83d\\ude00 \\u00e9"}',
    ],
)
def test_pages_parse_as_the_standard_library_parses_them(content: bytes) -> None:
    assert parse_body(_response(content)) == json.loads(content)


def test_what_msgspec_refuses_the_standard_library_still_decides() -> None:
    nan = parse_body(_response(b'{"data": [{"v": NaN}]}'))
    assert math.isnan(nan["data"][0]["v"])
    utf16 = '{"data": []}'.encode("utf-16")
    assert parse_body(_response(utf16)) == {"data": []}
    with pytest.raises(ValueError, match="not JSON"):
        parse_body(_response(b"<html>Jane</html>"))
