"""The tap's fast paths write and parse what the slow, obvious ones do.

`make bench` measures them; these tests pin that they change nothing but the speed.
"""

from __future__ import annotations

import io
import json
import math
import socketserver
import threading
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.singerlib import RecordMessage, StateMessage
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter
from tap_deel.client import WholeBodyAdapter, http_session
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
    """The SDK's default writer's line (simplejson, ASCII)."""
    message = RecordMessage("people", record, version=version, time_extracted=WHEN)
    return SimpleSingerWriter().format_message(message)


def msgspec_line(record: dict[str, Any], version: int | None = None) -> bytes:
    """The SDK's msgspec writer's line, without the newline (no time_extracted: see below)."""
    message = RecordMessage("people", record, version=version)
    return bytes(MsgSpecWriter().format_message(message)).removesuffix(b"\n")


def ordered(line: str | bytes) -> Any:
    """A JSON line parsed with every object as a list of pairs (so key order counts)."""
    return json.loads(line, object_pairs_hook=list)


@pytest.mark.parametrize("text", AWKWARD)
def test_records_are_written_as_the_sdks_msgspec_writer_writes_them(text: str) -> None:
    record = {"id": "p1", "name": text, "nested": [{"v": text}, None, 3, 7800.5, True]}
    message = RecordMessage("people", record).to_dict()
    line = encode_record_bytes(message)
    assert line == msgspec_line(record)
    assert b"\n" not in line  # one line: line breaks in values are escaped
    assert ordered(line) == ordered(
        FastSingerWriter().format_message(RecordMessage("people", record))
    )


@given(
    st.dictionaries(
        st.text(max_size=8),
        st.recursive(
            st.none()
            | st.booleans()
            | st.integers()
            | st.floats(allow_nan=False, allow_infinity=False)
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
def test_any_json_record_means_what_the_sdks_default_line_means(record: dict[str, Any]) -> None:
    message = RecordMessage("people", record, time_extracted=WHEN).to_dict()
    try:
        line = encode_record_bytes(message)
    except (TypeError, ValueError):  # (a lone surrogate: the SDK's own path writes it)
        return
    assert ordered(line.decode("utf-8")) == ordered(sdk_line(record))
    assert b"\n" not in line


def test_time_extracted_and_the_version_are_spelled_as_the_sdk_spells_them() -> None:
    record = {"id": "a", "tiny": 1.5e-07, "huge": 1e16}
    written = encode_record_bytes(RecordMessage("people", record, 3, WHEN).to_dict())
    assert written.decode().endswith(
        ',"version":3,"time_extracted":"2026-01-02T03:04:05.678901+00:00"}'
    )
    assert sdk_line(record, 3).endswith(written.decode()[written.decode().index(',"version"') :])
    assert json.loads(written) == json.loads(sdk_line(record, 3))  # `1e16` there, `1e+16` here


def test_values_msgspec_cannot_write_go_out_as_the_sdk_writes_them() -> None:
    for value in ("\ud800", "a \udfff b"):  # lone surrogates: not UTF-8
        record = {"id": "x", "v": value}
        writer = FastSingerWriter()
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr("sys.stdout", out)
            writer.write_record("people", record, None, WHEN)
            writer.flush()
            written = out.buffer.getvalue().decode("utf-8")
        assert (
            written
            == SimpleSingerWriter().format_message(
                RecordMessage("people", record, time_extracted=WHEN)
            )
            + "\n"
        )


def test_batched_lines_keep_their_order_with_other_messages() -> None:
    writer = FastSingerWriter()
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8", write_through=True)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", out)
        writer.write_message(StateMessage({"bookmarks": {}}))
        writer.write_record("people", {"id": "a"}, 3, WHEN)
        writer.write_record_text("people", b'{"id": "c"}', None, WHEN)
        writer.write_message(RecordMessage("people", {"id": "b"}, time_extracted=WHEN))
        assert out.buffer.getvalue() == b'{"type":"STATE","value":{"bookmarks":{}}}\n'
        writer.write_message(StateMessage({"bookmarks": {"people": {}}}))
        lines = out.buffer.getvalue().decode().splitlines()
    assert [json.loads(line).get("record", {}).get("id") for line in lines] == [
        None,
        "a",
        "c",
        "b",
        None,
    ]
    assert lines[1] == sdk_line({"id": "a"}, version=3)
    assert lines[2] == sdk_line({"id": "c"}).replace('"record":{"id":"c"}', '"record":{"id": "c"}')


def test_a_text_only_stdout_gets_the_same_lines() -> None:
    writer = FastSingerWriter()
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdout", out)
        writer.write_record("people", {"id": "é"}, None, WHEN)
        writer.flush()
    assert ordered(out.getvalue()) == ordered(sdk_line({"id": "é"}))
    assert out.getvalue().endswith('"}\n')


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


class _CutShort(socketserver.BaseRequestHandler):
    """Answers 200 with a 1,000-byte body, sends 10 bytes of it and hangs up."""

    def handle(self) -> None:
        self.request.recv(65536)
        self.request.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"data": ['
        )


@pytest.mark.parametrize("cut_short", [False, True])
def test_bodies_read_in_one_piece_are_read_and_fail_as_requests_reads_them(
    cut_short: bool, deel_emulator: Any, deel_api_url: str
) -> None:
    ours, plain = http_session(), requests.Session()
    assert isinstance(ours.get_adapter("https://api.letsdeel.com"), WholeBodyAdapter)
    if not cut_short:
        url, headers = f"{deel_api_url}/people?limit=5", {"Authorization": "Bearer deel-test-token"}
        assert ours.get(url, headers=headers).content == plain.get(url, headers=headers).content
        return
    with socketserver.TCPServer(("127.0.0.1", 0), _CutShort) as server:
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{server.server_address[1]}/people"
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            ours.get(url, timeout=5)
        thread.join()
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            plain.get(url, timeout=5)  # (the same error without the adapter)
        thread.join()
