"""Reading the Singer input fast and safely: a line-numbering reader and the worker fast path.

Every error names the input line and never quotes it (a line may hold a person's data).
For a large worker stream the SDK's generic per-line and per-record handling costs about as
much as the sync itself, so worker RECORD lines are parsed for the fields the mapping reads
only (`RecordDecoder`) and handed straight to the worker sink when the SDK would pass them on
unchanged anyway (`WorkerShortcut`).
"""

from __future__ import annotations

import gc
import io
import json
import keyword
import os
from collections import Counter
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Protocol

import msgspec
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

from target_jumpcloud.engine import EXIT_INPUT

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import IO

#: A keyword in a stream's JSON schema: "STATE" means the producer writes a STATE message after
#: the stream's last record (tap-deel does for `people`), so a stream without it was cut short.
STREAM_END_KEYWORD: Final = "x-singer-stream-end"

# The SDK's JSON parsing (floats as Decimal) by msgspec, the decoder of singer-sdk's `msgspec`
# extra: the same values, in less than half the time per 3 kB person record. A line it refuses
# (a `NaN`, a lone surrogate...) goes to the SDK's parser, which has the last word.
_decode_fast = msgspec.json.Decoder(float_hook=Decimal).decode
UNSET: Final = msgspec.UNSET

READ_CHUNK: Final = 1 << 20  # bytes the reader asks for at a time

_REQUIRED_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "RECORD": ("stream", "record"),
    "SCHEMA": ("stream", "schema"),
    "STATE": ("value",),
    "ACTIVATE_VERSION": ("stream", "version"),
}


class InputStreamError(Exception):
    """The Singer input itself is broken (bad JSON, a RECORD before its SCHEMA, …).

    Raised while reading, so nothing has been applied yet. The message names the input line
    and never quotes it: the line may hold a person's data.
    """

    exit_code = EXIT_INPUT


class RecordBeforeSchemaError(InputStreamError, RecordsWithoutSchemaException):
    """A RECORD arrived for a stream whose SCHEMA had not been seen."""


class NumberedSingerReader(SimpleSingerReader):
    """The SDK's reader, but every error names the input line and none quotes it.

    The stock reader logs a bad line in full with a traceback; a worker record would end up
    in the logs. This one raises `InputStreamError("input line N: …")` instead, skips blank
    lines, and refuses BATCH messages (files the target cannot plan from safely).

    `record_shortcut`, when set, is offered each RECORD first; it returns True when it has
    handled the record (the target's fast path for worker records, see `TargetJumpCloud`).
    `on_state`, when set, is told of each STATE message before the SDK handles it (the
    target's `StreamEndWatch`: a STATE closes the worker stream).
    """

    record_shortcut: Callable[[dict[str, Any]], bool] | None = None
    on_state: Callable[[], None] | None = None
    #: When set, tried on each line (as UTF-8 bytes) before the full parse: a message dict,
    #: or None to parse the line as usual (the target's lighter parse of worker records, see
    #: `RecordDecoder`).
    quick_parse: Callable[[bytes], dict[str, Any] | None] | None = None

    def process_lines(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, Any]], None]],
    ) -> Counter[str]:
        """Deserialize each line and hand it to its callback, naming the line on any error.

        The cyclic garbage collector is paused while reading: the run keeps a small object per
        worker, and with 100,000 of them the collector's repeated full passes cost a fifth of
        the read time, to find nothing (parsed records are freed by reference counting).
        """
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._read(file_input, callbacks)
        finally:
            if collecting:
                gc.enable()

    def _read(
        self,
        file_input: IO[str] | None,
        callbacks: dict[str, Callable[[dict[str, Any]], None]],
    ) -> Counter[str]:
        stats: Counter[str] = Counter()
        shortcut = self.record_shortcut
        quick_parse = self.quick_parse
        lines, binary = self._lines(file_input)
        for number, line in enumerate(lines, start=1):
            if isinstance(line, bytes):
                data = line
            else:
                self._current_message = line
                data = _utf8(line, number)
            message = quick_parse(data) if quick_parse is not None else None
            if message is None:
                message = self._parse(data, number)
                if message is None:  # a blank line
                    continue
            elif binary and not data.isascii():
                _text_of(data, number)  # (the quick parse skips fields without reading them)
            kind = message["type"]
            callback = callbacks.get(kind) if kind != "BATCH" else None
            if callback is None:
                raise InputStreamError(
                    f"input line {number}: {kind!r} messages are not supported "
                    "(expected SCHEMA, RECORD, STATE or ACTIVATE_VERSION)"
                )
            self._check_shape(message, number)
            if kind == "RECORD" and shortcut is not None and shortcut(message):
                stats[kind] += 1
                continue
            if kind == "STATE" and self.on_state is not None:
                self.on_state()
            try:
                callback(message)
            except RecordsWithoutSchemaException:
                raise RecordBeforeSchemaError(
                    f"input line {number}: a RECORD for stream {message.get('stream')!r} "
                    "came before that stream's SCHEMA; the input stream is broken"
                ) from None
            except InvalidInputLine:
                raise InputStreamError(f"input line {number}: invalid {kind} message") from None
            stats[kind] += 1
        return stats

    def _lines(self, file_input: IO[str] | None) -> tuple[Iterable[str | bytes], bool]:
        """The input's lines, and whether they are bytes (the standard input) or text."""
        source = file_input or self.default_input
        reconfigure = getattr(source, "reconfigure", None)
        if reconfigure is not None:
            # Singer is UTF-8 whatever the locale. Bytes that are not UTF-8 become lone
            # surrogates (caught per line) instead of an error from the decoder, which reads
            # ahead and cannot name the line.
            try:
                reconfigure(encoding="utf-8", errors="surrogateescape")
            except ValueError:  # data was read already: leave it be
                pass
            else:
                buffer = _stdin_buffer(source) if file_input is None else None
                if buffer is not None:
                    return _binary_lines(buffer), True
        if isinstance(source, io.TextIOWrapper):
            # Read up to 1 MB per system call, not 8 kB: each call lets the directory threads
            # take the interpreter, and the reader waits up to 5 ms to get it back.
            source._CHUNK_SIZE = READ_CHUNK  # type: ignore[attr-defined]
        return source, False

    def _parse(self, line: bytes, number: int) -> dict[str, Any] | None:
        """The message on a line (UTF-8 bytes), or None for a blank line."""
        try:
            message: object = _decode_fast(line)
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            text = _text_of(line, number)
            if not text or text.isspace():  # (no strip: it would copy every 3 kB line)
                return None
            try:  # whatever msgspec refuses, the SDK's parser has the last word
                message = deserialize_json(text)  # typed dict, but any JSON value parses
            except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
                raise InputStreamError(
                    f"input line {number}: not valid JSON; the input stream is broken"
                ) from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise InputStreamError(f"input line {number}: not a Singer message (no `type`)")
        return message

    @staticmethod
    def _check_shape(message: Mapping[str, Any], number: int) -> None:
        """Name the missing keys instead of the SDK's message, which quotes the whole line."""
        kind = message["type"]
        missing = [key for key in _REQUIRED_KEYS.get(kind, ()) if key not in message]
        if missing:
            raise InputStreamError(
                f"input line {number}: {kind} message without {', '.join(missing)}"
            )
        if kind == "SCHEMA" and (
            not isinstance(message["schema"], dict)
            or not isinstance(message["schema"].get("properties"), dict)
        ):
            raise InputStreamError(
                f"input line {number}: SCHEMA for stream {message['stream']!r} has no properties"
            )
        if kind == "RECORD" and not isinstance(message["record"], dict):
            raise InputStreamError(f"input line {number}: RECORD whose record is not an object")


def _not_utf8(number: int) -> InputStreamError:
    return InputStreamError(
        f"input line {number}: not valid UTF-8 text; the input stream is broken"
    )


def _utf8(line: str, number: int) -> bytes:
    """A text line as UTF-8 for msgspec, which parses bytes in half the time of a str.

    A lone surrogate (a byte that was not UTF-8, see `_read`) cannot be encoded: the line
    is refused, as the bytes reader refuses it.
    """
    try:
        return line.encode("utf-8")
    except UnicodeEncodeError:
        raise _not_utf8(number) from None


def _text_of(line: bytes, number: int) -> str:
    """A line read as bytes, as text: the same check the text reader's decoding makes."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        raise _not_utf8(number) from None


def _stdin_buffer(source: object) -> io.BufferedIOBase | None:
    """The bytes under the standard input, to read it as bytes; None to read it as text.

    Only where Python's standard input ends lines at line feeds only (POSIX), as the bytes
    reader does: a universal-newline stream would also end one at a lone carriage return.
    """
    if os.name != "posix" or not isinstance(source, io.TextIOWrapper):
        return None
    buffer = getattr(source, "buffer", None)
    return buffer if isinstance(buffer, io.BufferedIOBase) else None


def _binary_lines(buffer: io.BufferedIOBase) -> Iterable[bytes]:
    """The lines of a byte stream (each with its line feed), read 1 MB per system call at most.

    Reading bytes takes the text decoding off every line, and msgspec parses bytes in half
    the time of a str (measured on 3 kB person records: 5.7 against 10.3 µs, and the text
    reader's lone-surrogate search cost 17 µs more on each non-ASCII line). The lines come
    from a buffered reader of 1 MB over the same file (nothing was read from it yet: see
    `_lines`) instead of the standard 8 kB one: each read lets the directory threads take the
    interpreter, and the reader then waits up to 5 ms to get it back.
    """
    raw = getattr(buffer, "raw", None)
    if isinstance(raw, io.RawIOBase):
        return io.BufferedReader(raw, READ_CHUNK)
    return buffer


class RecordDecoder:
    """Parses a RECORD line of one stream keeping only the named record fields, or says no.

    A worker record is a 3 kB person of which the mapping reads a dozen fields. msgspec skips
    the rest of the line without building it (still checking that it is valid JSON), which
    takes two thirds off the parse. Anything else (another message type or stream, a record
    that is not an object, a line msgspec refuses) gives None: the reader then parses the line
    in full, as it would have anyway.
    """

    def __init__(
        self,
        stream: str,
        fields: Iterable[str],
        types: Mapping[str, tuple[Any, bool]] | None = None,
    ) -> None:
        """Prepare for one stream's records.

        Args:
            stream: The stream whose records it reads.
            fields: The top-level record fields to keep.
            types: For some of those fields, the msgspec type they must have and whether
                they are required (`MappedFieldsChecker.decoder_types`): a record whose
                value does not fit, or that lacks a required one, is parsed in full
                instead, and the checker then says why. Its messages carry `TYPES_CHECKED`.
        """
        self.stream = stream
        self._types = dict(types or {})
        names = list(dict.fromkeys(fields))
        # Fields named as in the record (then `asdict` gives the record at C speed), unless
        # a name cannot be a Python attribute.
        self._as_named = all(
            name.isidentifier() and not keyword.iskeyword(name) and not name.startswith("__")
            for name in names
        )
        self._fields = tuple(
            (name if self._as_named else f"f{index}", name) for index, name in enumerate(names)
        )
        record = msgspec.defstruct(
            "WorkerFields",
            [(attribute, *self._declared(name)) for attribute, name in self._fields],
            kw_only=True,
        )
        message = msgspec.defstruct(
            "WorkerRecordMessage", [("type", str), ("stream", str), ("record", record)]
        )
        self._decode = msgspec.json.Decoder(message, float_hook=Decimal).decode

    def _declared(self, name: str) -> tuple[Any, Any]:
        """A field's type and its `msgspec.field`: a required field has no default."""
        kind, required = self._types.get(name, (Any, False))
        if required:
            return kind, msgspec.field(name=name)
        return kind, msgspec.field(default=msgspec.UNSET, name=name)

    def __call__(self, line: bytes | str) -> dict[str, Any] | None:
        """The RECORD message with only the named fields, or None (parse it in full).

        Bytes are not checked for UTF-8 in the fields skipped: the reader checks the line.
        """
        try:
            message: Any = self._decode(line)  # (a struct type made at run time)
        except (msgspec.DecodeError, UnicodeError, RecursionError):
            return None
        if message.type != "RECORD" or message.stream != self.stream:
            return None
        fields = message.record
        if self._as_named:
            record = msgspec.structs.asdict(fields)
            if msgspec.UNSET in record.values():  # fields the line does not have
                record = {name: value for name, value in record.items() if value is not UNSET}
        else:
            record = {}
            for attribute, name in self._fields:
                value = getattr(fields, attribute)
                if value is not UNSET:
                    record[name] = value
        result: dict[str, Any] = {"type": "RECORD", "stream": self.stream, "record": record}
        if self._types:
            result[TYPES_CHECKED] = True
        return result


#: In a message from `RecordDecoder`: its record's top-level fields have the decoder's types.
TYPES_CHECKED: Final = "types_checked"


class FastSink(Protocol):
    """A sink that takes worker records straight from the reader (the worker sink)."""

    def take(self, record: dict[str, Any], *, types_checked: bool = False) -> None:
        """Handle one record as the SDK's record path would, minus its no-ops."""

    def decoder(self, fields: Iterable[str]) -> RecordDecoder:
        """A `RecordDecoder` for the sink's stream."""


class WorkerShortcut:
    """Worker RECORDs straight to their sink, when the SDK would hand them over unchanged.

    The SDK's generic per-record path (copying, mapping, metadata, validation hooks) costs
    about as much as mapping the record; for 100,000 workers that matters. `find_sink` says
    whether the shortcut applies (no stream map, no flattening, no record metadata: it gives
    the sink, else None); it is asked again after every SCHEMA (`reset`), which may bring a
    new sink, a stream map or new types to check.
    """

    def __init__(
        self, stream: str, find_sink: Callable[[], FastSink | None], fields: Iterable[str]
    ) -> None:
        self.stream = stream
        self._find_sink = find_sink
        self._fields = tuple(dict.fromkeys(fields))
        self._checked = False
        self._sink: FastSink | None = None
        self._decoder: RecordDecoder | None = None

    def attach(self, reader: NumberedSingerReader) -> None:
        """Let `reader` offer its lines and records here first."""
        reader.record_shortcut = self.offer
        reader.quick_parse = self.quick_parse

    def reset(self) -> None:
        """A SCHEMA arrived: decide again whether the shortcut applies."""
        self._checked = False
        self._decoder = None

    def offer(self, message: dict[str, Any]) -> bool:
        """Hand a worker RECORD to its sink; False when the SDK's path must take it."""
        if message["stream"] != self.stream:
            return False
        if not self._checked:
            self._sink = self._find_sink()
            self._checked = True
        if self._sink is None:
            return False
        self._sink.take(message["record"], types_checked=TYPES_CHECKED in message)
        return True

    def quick_parse(self, line: bytes) -> dict[str, Any] | None:
        """A worker RECORD line parsed for the fields the mapping reads only, or None.

        Only while the shortcut takes worker records as they are: the worker sink then reads
        nothing but those fields (the mapping and its type check read the same paths).
        """
        if not self._checked or self._sink is None:
            return None
        if self._decoder is None:
            self._decoder = self._sink.decoder(self._fields)
        return self._decoder(line)


class StreamEndWatch:
    """Tells a worker stream that was cut short from one that ended.

    A SCHEMA may announce a STATE after the stream's last record (`STREAM_END_KEYWORD`;
    tap-deel's does). The stream is open from its SCHEMA or a record until the next STATE; an
    input that ends while it is open lost the end of the list. The plan needs the whole list:
    on a partial one, a leaver's old profile can be read without the new profile that
    supersedes it, and be suspended.
    """

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self._announced = False
        self._open = False

    def schema(self, schema: Mapping[str, Any]) -> None:
        """The stream's SCHEMA: does it announce a closing STATE?"""
        self._announced = schema.get(STREAM_END_KEYWORD) == "STATE"
        self._open = True

    def record(self) -> None:
        """A record of the stream."""
        self._open = True

    def state(self) -> None:
        """A STATE message: the producer got past the records before it."""
        self._open = False

    def check(self, records: int) -> None:
        """At the end of the input.

        Raises:
            InputStreamError: The input ended inside an announced stream.
        """
        if self._announced and self._open:
            raise InputStreamError(
                f"the input ended inside the '{self.stream}' stream after {records} "
                "record(s), without the STATE message its SCHEMA announced: the tap stopped "
                "before the end of the list (it crashed, was killed or ran out of retries), "
                "so nothing was planned or written. Run the sync again."
            )


class ListingWatch:
    """Tells a complete listing of the worker stream from a partial one (docs/leavers.md).

    The Singer way to say "these records are the whole table" is an ACTIVATE_VERSION message
    after a stream's last record. The input is complete only when one for the worker stream
    came and no record of that stream followed it: a tap that announces the version before
    its records (singer-sdk's default) and is then killed, a listing cut short, a targeted
    read (tap-deel's `person_ids`) or a tap that never sends the message all leave it
    incomplete, and then no user is ever taken for gone.
    """

    def __init__(self, stream: str) -> None:
        self.stream = stream
        self.complete = False
        self.version: int | None = None

    def record(self) -> None:
        """A record of the worker stream: any earlier ACTIVATE_VERSION no longer ends it."""
        self.complete = False

    def activate_version(self, version: object) -> None:
        """An ACTIVATE_VERSION for the worker stream, after the records so far."""
        self.complete = True
        self.version = version if isinstance(version, int) else None
