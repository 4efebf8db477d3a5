"""Singer message output: the SDK's writer, with RECORD lines made by msgspec, in batches.

The SDK's default writer serialises with simplejson (ASCII only, Decimal support, NaN as
null), which cost more per person than fetching and shaping the person. RECORD lines are
written as singer-sdk's own msgspec writer (its `msgspec` extra) writes them: compact UTF-8
JSON, about six times faster. A record already in JSON text (see `passthrough.py`) is
wrapped as it is. The text differs from the default writer's only in spelling (`é` where it
writes `\u00e9`, `1e16` for `1e+16`), never in the values it holds. Every other message, and
a record msgspec cannot write, is written exactly as the SDK writes it.
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import sys
from typing import TYPE_CHECKING, Any, TextIO

import msgspec
from singer_sdk.singerlib.encoding.simple import RecordMessage, SimpleSingerWriter
from typing_extensions import override

if TYPE_CHECKING:
    from singer_sdk.singerlib import Message

_encode = json.JSONEncoder(ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode
# NaN and infinities become null, as the SDK writes them; Decimals are written as numbers.
_encode_fast = msgspec.json.Encoder(decimal_format="number").encode


def record_frame(stream: str, version: int | None, time_extracted: object) -> tuple[bytes, bytes]:
    """The text before and after the record in a RECORD line, keys in the SDK's order.

    Args:
        stream: The stream name.
        version: The stream version, if any.
        time_extracted: When it was extracted (a datetime or its text), or None.

    Returns:
        `(head, tail)`: a line is `head + record JSON text + tail` (UTF-8, no newline).
    """
    head = b'{"type":"RECORD","stream":' + _encode_fast(stream) + b',"record":'
    tail = [] if version is None else [b',"version":', _encode_fast(version)]
    if isinstance(time_extracted, datetime.datetime):
        time_extracted = time_extracted.isoformat(sep="T")  # (as the SDK writes it)
    if time_extracted is not None:
        tail += (b',"time_extracted":', _encode_fast(time_extracted))
    tail.append(b"}")
    return head, b"".join(tail)


def encode_record_bytes(message: dict[str, Any]) -> bytes:
    """A RECORD message (its `to_dict()`) as one line of UTF-8 JSON, without the newline.

    Raises:
        TypeError: A value msgspec cannot write (the caller falls back to the SDK's writer).
    """
    try:
        text = _encode_fast(message["record"])
    except msgspec.EncodeError as exc:  # (an unsupported type raises TypeError itself)
        raise TypeError(str(exc)) from None
    head, tail = record_frame(
        message["stream"], message.get("version"), message.get("time_extracted")
    )
    return head + text + tail


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
        # The text around a record for the last (stream, version, time_extracted) written.
        self._frame_key: tuple[str, int | None, datetime.datetime] | None = None
        self._frame = (b"", b"")

    @override
    def write_message(self, message: Message) -> None:
        """Queue a RECORD line; write anything else at once, after what is queued."""
        self._queue(self._line(message))
        if not isinstance(message, RecordMessage):
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
        try:
            text = _encode_fast(record)
        except (msgspec.EncodeError, TypeError, ValueError):  # (a lone surrogate...): as the SDK
            self._queue(self._line(RecordMessage(stream, record, version, time_extracted)))
            return
        self.write_record_text(stream, text, version, time_extracted)

    def write_record_text(
        self,
        stream: str,
        record_text: bytes,
        version: int | None,
        time_extracted: datetime.datetime,
    ) -> None:
        """Queue a RECORD message for a record already in JSON text (one line of it).

        Args:
            stream: The stream name.
            record_text: The record as a JSON object, UTF-8, without line breaks.
            version: The stream version, if any.
            time_extracted: When the record was extracted (an aware datetime, in UTC).
        """
        key = (stream, version, time_extracted)
        if key != self._frame_key:  # (the records of a page share all three: see the tap)
            self._frame_key, self._frame = key, record_frame(stream, version, time_extracted)
        head, tail = self._frame
        self._queue(head + record_text + tail)

    def _queue(self, line: bytes) -> None:
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
        data = b"\n".join(self._pending) + b"\n" if self._pending else b""
        self._pending.clear()
        self._pending_size = 0
        self._emit(data)

    def _emit(self, data: bytes) -> None:
        """Write whole lines to stdout (nothing: flush it)."""
        stream = sys.stdout
        if not self._widened:
            self._widened = True
            _widen_pipe(stream)
        if not data:
            stream.flush()
            return
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
                return encode_record_bytes(message.to_dict()).decode("utf-8")
            return _encode(message.to_dict())
        except (TypeError, ValueError):  # Decimal, datetime, NaN...
            return super().serialize_message(message)
