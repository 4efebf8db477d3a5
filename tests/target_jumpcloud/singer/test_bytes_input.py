"""The standard input is read as bytes: exactly the messages and errors of the text reader.

The CLI reads its standard input as bytes (no text decoding, msgspec parses bytes faster);
any other input is read as text. Both must see the same lines, parse them to the same
messages and refuse the same lines with the same message.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest
import requests
from target_jumpcloud.jumpcloud.session import ApiSession as _Session
from target_jumpcloud.singer.reader import (
    READ_CHUNK,
    InputStreamError,
    NumberedSingerReader,
    RecordDecoder,
)
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, RecordMapper

from tests.target_jumpcloud.target_io_helpers import person

if TYPE_CHECKING:
    from collections.abc import Callable

FIELDS = [path.split(".", 1)[0] for path in DEFAULT_MAPPING.values()]
SCHEMA = json.dumps({"type": "SCHEMA", "stream": "people", "schema": {"properties": {}}})
STATE = json.dumps({"type": "STATE", "value": {"bookmark": "é"}})


def record_line(record: Any, stream: str = "people") -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": record}, ensure_ascii=False)


def read(source: io.TextIOBase | bytes) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, int]]:
    """Every message with its callback, and the counts: bytes as the CLI's standard input."""
    reader = NumberedSingerReader()
    reader.quick_parse = RecordDecoder("people", FIELDS)
    seen: list[tuple[str, dict[str, Any]]] = []

    def keep(kind: str) -> Callable[[dict[str, Any]], None]:
        return lambda message: seen.append((kind, message))

    callbacks = {kind: keep(kind) for kind in ("SCHEMA", "RECORD", "STATE", "ACTIVATE_VERSION")}
    if isinstance(source, bytes):
        reader.default_input = io.TextIOWrapper(io.BytesIO(source), newline="\n")
        stats = reader.process_lines(None, callbacks)
    else:
        stats = reader.process_lines(source, callbacks)  # type: ignore[arg-type]
    return seen, dict(stats)


def error(source: io.TextIOBase | bytes) -> str:
    with pytest.raises(InputStreamError) as caught:
        read(source)
    return str(caught.value)


def test_the_bytes_reader_takes_the_standard_input_buffer() -> None:
    reader = NumberedSingerReader()
    text = io.TextIOWrapper(io.BytesIO(SCHEMA.encode()), newline="\n")
    reader.default_input = text
    lines, binary = reader._lines(None)
    assert binary
    assert list(lines) == [SCHEMA.encode()]
    # An input given by the caller is read as text, as before.
    given = io.TextIOWrapper(io.BytesIO(SCHEMA.encode()), newline="\n")
    lines, binary = reader._lines(given)
    assert not binary
    assert list(lines) == [SCHEMA]


def test_odd_but_valid_lines_give_the_same_messages_as_the_text_reader() -> None:
    huge = "ü" * (READ_CHUNK // 2 + 1000)  # one line over two and more chunks
    lines = [
        SCHEMA,
        "",
        "   \t",
        "\u00a0\u2003",  # only Unicode whitespace: a blank line too
        record_line(person("p1", "José", "Łukasz", extra={"王": ["伟", 1.5]})),
        record_line({"id": "p2", "first_name": "Zoë", "note": huge}),
        json.dumps({"type": "RECORD", "stream": "people", "record": {"id": "p3", "x": "\ud800"}}),
        record_line({"id": "c1", "name": huge}, stream="contracts"),
        record_line(person("p4", "Ada", "Lovelace")) + "\r",  # a CRLF line
        STATE,
        record_line(person("p5", "Émile", "Zola")),  # no line feed at the end
    ]
    text = "\n".join(lines)
    from_bytes = read(text.encode())
    assert from_bytes == read(io.StringIO(text))
    messages, stats = from_bytes
    assert stats == {"SCHEMA": 1, "RECORD": 6, "STATE": 1}
    assert [m["record"]["id"] for kind, m in messages if kind == "RECORD"] == [
        "p1",
        "p2",
        "p3",
        "c1",
        "p4",
        "p5",
    ]
    assert messages[2][1]["record"] == {"id": "p2", "first_name": "Zoë"}  # (mapped fields)
    assert messages[3][1]["record"] == {"id": "p3", "x": "\ud800"}  # (by the SDK's parser)
    assert messages[4][1]["record"]["name"] == huge  # (another stream: parsed in full)


@pytest.mark.parametrize(
    ("line", "where"),
    [
        (b'{"type":"RECORD","stream":"people","record":{"id":"p9","x":"\xff"}}', "skipped field"),
        (b'{"type":"RECORD","stream":"people","record":{"id":"p9","\xc3(":1}}', "skipped key"),
        (b'{"type":"RECORD","stream":"people","record":{"id":"p\xed\xa0\x80"}}', "mapped field"),
        (b'{"type":"RECORD","stream":"people","record":{"id":"p9","x":"\xc0\xaf"}}', "overlong"),
        (b'{"type":"STATE","value":{"a":"\xe2\x82"}}', "another message"),
        (b'{"type":"RECORD", \xff', "broken JSON too"),
        (b"\xef\xbb\xbf\xff", "a byte order mark then garbage"),
    ],
)
def test_a_line_that_is_not_utf8_is_named(line: bytes, where: str) -> None:
    del where
    good = record_line(person("p1", "José", "Łukasz")).encode()
    data = b"\n".join([SCHEMA.encode(), good, b"", line, good])
    expected = "input line 4: not valid UTF-8 text; the input stream is broken"
    assert error(data) == expected
    # The text reader (any other input) says the same.
    assert error(io.TextIOWrapper(io.BytesIO(data), newline="\n")) == expected


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("\ufeff" + SCHEMA, "input line 2: not valid JSON; the input stream is broken"),
        ('{"type": "STATE", "value": {}} tail', "input line 2: not valid JSON; the input"),
        ("[1, 2]", "input line 2: not a Singer message (no `type`)"),
        ('{"type": "BATCH", "stream": "people"}', "input line 2: 'BATCH' messages are not"),
        ('{"type": "RECORD", "stream": "people", "record": 1}', "input line 2: RECORD whose"),
    ],
)
def test_broken_lines_are_refused_as_by_the_text_reader(line: str, message: str) -> None:
    text = f"{SCHEMA}\r\n{line}\n"
    assert error(text.encode()).startswith(message)
    assert error(io.StringIO(text)).startswith(message)


def test_a_shared_value_is_checked_as_a_new_one_would_be() -> None:
    mapper = RecordMapper(DEFAULT_MAPPING)
    first = mapper(person("p1", "José", "Łukasz", job_title="Ingénieur"), 0)
    again = mapper(person("p2", "José", "Łukasz", job_title="Ingénieur"), 1)
    broken = mapper(person("p3", "José", "Łukasz", job_title="Ingé\ud800nieur"), 2)
    assert first.attributes["jobTitle"] == again.attributes["jobTitle"] == "Ingénieur"  # type: ignore[union-attr]
    assert broken.attributes["jobTitle"] is None  # type: ignore[union-attr]
    assert broken.warnings == (  # type: ignore[union-attr]
        "jobTitle not synced: job_title is invalid Unicode (a lone surrogate), not text",
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://console.jumpcloud.com/api/systemusers?skip=100",
        "https://console.jumpcloud.com/api/systemusers?skip=200",
        "http://127.0.0.1:8080/api/systemusers",
        "https://direct.example/api",
    ],
)
def test_the_session_merges_the_environment_as_requests_does(
    monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3129")
    monkeypatch.setenv("NO_PROXY", "direct.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/our-ca.pem")
    session, plain = _Session(), requests.Session()
    for _ in range(2):  # the first time reads the environment, the second uses it
        merged = session.merge_environment_settings(url, {}, None, None, None)
        assert merged == plain.merge_environment_settings(url, {}, None, None, None)
        merged["proxies"]["https"] = "changed by the caller"
    own = session.merge_environment_settings(url, {}, None, False, None)
    assert own == plain.merge_environment_settings(url, {}, None, False, None)
    assert own["verify"] is False
