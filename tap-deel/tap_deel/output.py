r"""Singer message output: the SDK's writer, with a faster JSON encoder for RECORD messages.

The SDK serialises with simplejson (ASCII only, Decimal support, NaN as null), which costs more
per person than fetching and shaping the person. RECORD messages are written by msgspec (the
encoder of singer-sdk's `msgspec` extra), about six times faster, then brought to the SDK's
spelling:

- msgspec writes UTF-8; every non-ASCII character (in JSON text it can only be inside a
  string) is escaped as the SDK escapes it (`\u00e9`, surrogate pairs above U+FFFF), so the
  output stays plain ASCII and reads the same in any locale;
- `time_extracted` is written with `isoformat`, as the SDK does.

The only difference left: a float below 1e-4 or from 1e16 up is spelled the shorter way
(`1e16` where Python writes `1e+16`), the same number. Everything else, and any message that
is not a RECORD, is written exactly as before (the standard library's C encoder, or the
SDK's own serialiser for values JSON cannot hold).
"""

from __future__ import annotations

import codecs
import datetime
import json
import os
import stat
import sys
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, TextIO

import msgspec
from singer_sdk.singerlib.encoding.simple import RecordMessage, SimpleSingerWriter
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.singerlib import Message


def _default(value: object) -> str:
    """Datetimes as the SDK writes them (`time_extracted`); anything else is not ours."""
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep="T")
    raise TypeError(type(value).__name__)


_encode = json.JSONEncoder(
    ensure_ascii=True, allow_nan=False, separators=(",", ":"), default=_default
).encode
# NaN and infinities become null, as the SDK writes them; Decimals are written as numbers.
_encode_fast = msgspec.json.Encoder(decimal_format="number").encode
_ESCAPE = "tap_deel_json_escape"


def _json_escape(error: UnicodeError) -> tuple[str, int]:
    r"""Codec error handler: a run of non-ASCII characters as JSON `\u` escapes."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    escaped: str = encode_basestring_ascii(error.object[error.start : error.end])
    return escaped[1:-1], error.end  # without the quotes


codecs.register_error(_ESCAPE, _json_escape)


def encode_record(message: dict[str, object]) -> str:
    """A RECORD message (its `to_dict()`) as one line of ASCII JSON, without the newline.

    Raises:
        TypeError: A value that is not JSON (the caller falls back to the SDK's serialiser).
    """
    return encode_record_bytes(message).decode("ascii")


def encode_record_bytes(message: dict[str, object]) -> bytes:
    """`encode_record`, as bytes (what goes to stdout)."""
    extracted = message.get("time_extracted")
    if isinstance(extracted, datetime.datetime):
        message["time_extracted"] = extracted.isoformat(sep="T")
    try:
        raw = _encode_fast(message)
    except msgspec.EncodeError as exc:  # (an unsupported type raises TypeError itself)
        raise TypeError(str(exc)) from None
    if b"\x7f" in raw:  # DEL: ASCII, but the SDK escapes it
        return _encode(message).encode("ascii")
    if raw.isascii():
        return raw
    return _escape_non_ascii(raw)


def _escape_non_ascii(raw: bytes) -> bytes:
    r"""UTF-8 JSON text with every character above `~` escaped as the SDK escapes it.

    Python's own `backslashreplace` does most of it in C: it writes `\u4e2d` as JSON does,
    but `\xe9` for the first 256 characters (made `\u00e9` here) and `\U0001f600` above
    U+FFFF (JSON wants a surrogate pair: those lines take the exact, slower way). A `\x`
    can only be ours when the text has no escaped backslash, which is checked first.
    """
    text = raw.decode("utf-8")
    if b"\\\\" not in raw:
        escaped = text.encode("ascii", "backslashreplace")
        if b"\\U" not in escaped:
            return escaped.replace(b"\\x", b"\\u00")
    return text.encode("ascii", _ESCAPE)


#: RECORD lines are written to stdout in batches of about this many bytes.
BATCH_BYTES = 1 << 18
#: The pipe buffer asked for when stdout is a pipe (Linux's default ceiling for a process).
PIPE_BYTES = 1 << 20


def _widen_pipe(stream: TextIO) -> None:
    """Make stdout's pipe hold 1 MB instead of 64 kB (Linux only; anything else is left).

    With 64 kB (some 20 people) the tap and the target take turns instead of working side by
    side: every hiccup of one stalls the other.
    """
    try:
        import fcntl  # noqa: PLC0415 - POSIX only

        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)
    except (ImportError, OSError, ValueError, AttributeError):  # not a pipe, not Linux...
        pass


class FastSingerWriter(SimpleSingerWriter):
    """Writes Singer messages to stdout, one JSON line each.

    RECORD lines are written in batches (a few hundred kB), every other message at once with
    what came before it; `flush` writes what is pending (the tap calls it after each page, so
    no record waits for the network). The SDK's writer flushes after every line: 100,000
    system calls for 100,000 people, each waking the target for one record. Lines go to
    stdout's byte stream as they were encoded, with no round trip through text.
    """

    def __init__(self) -> None:
        super().__init__()
        self._pending: list[bytes] = []
        self._pending_size = 0
        self._widened = False

    @override
    def write_message(self, message: Message) -> None:
        """Queue a RECORD line; write anything else at once, after what is queued."""
        line = self._line(message)
        self._pending.append(line)
        self._pending_size += len(line)
        if not isinstance(message, RecordMessage) or self._pending_size >= BATCH_BYTES:
            self.flush()

    def write_record(
        self,
        stream: str,
        record: dict[str, Any],
        version: int | None,
        time_extracted: datetime.datetime,
    ) -> None:
        """Queue the RECORD message `RecordMessage(...)` would make, without making it.

        Args:
            stream: The stream name.
            record: The record.
            version: The stream version, if any.
            time_extracted: When the record was extracted (an aware datetime, in UTC).
        """
        message: dict[str, Any] = {"type": "RECORD", "stream": stream, "record": record}
        if version is not None:
            message["version"] = version
        message["time_extracted"] = time_extracted
        try:
            line = encode_record_bytes(message)
        except (TypeError, ValueError):  # Decimal, NaN...: as the SDK writes it
            line = self._line(RecordMessage(stream, record, version, time_extracted))
        self._pending.append(line)
        self._pending_size += len(line)
        if self._pending_size >= BATCH_BYTES:
            self.flush()

    def _line(self, message: Message) -> bytes:
        if isinstance(message, RecordMessage):
            try:
                return encode_record_bytes(message.to_dict())
            except (TypeError, ValueError):  # Decimal, datetime, NaN...
                pass
        return self.format_message(message).encode("utf-8")

    def flush(self) -> None:
        """Write the queued lines to stdout."""
        stream = sys.stdout
        if not self._widened:
            self._widened = True
            _widen_pipe(stream)
        if not self._pending:
            stream.flush()
            return
        data = b"\n".join(self._pending) + b"\n"
        self._pending.clear()
        self._pending_size = 0
        buffer = getattr(stream, "buffer", None)
        if buffer is None:  # a text-only stream (tests that capture stdout)
            stream.write(data.decode("utf-8"))
            stream.flush()
            return
        stream.flush()  # whatever went through the text layer first
        buffer.write(data)
        buffer.flush()

    @override
    def serialize_message(self, message: Message) -> str:
        """Serialise a message; falls back to the SDK's encoder for non-JSON-native values."""
        try:
            if isinstance(message, RecordMessage):
                return encode_record(message.to_dict())
            return _encode(message.to_dict())
        except (TypeError, ValueError):  # Decimal, datetime, NaN...
            return super().serialize_message(message)
