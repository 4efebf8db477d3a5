"""Reading the Singer input: the worker sink, the ignoring sink and a line-numbering reader.

The worker sink does not write anything. The sync must see the whole worker stream before
it writes (the suspension guard and the dry run need the complete plan), so each record is
mapped and validated on arrival, only the small mapped result is kept on the target, and
the target plans and applies at the end of the input. That is also why a `RecordSink` fits:
it never batches, so the SDK never drains (and never emits STATE) on its own mid-stream.
"""

from __future__ import annotations

import functools
import gc
import io
import json
import keyword
import operator
import os
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import msgspec
from singer_sdk import RecordSink
from singer_sdk.exceptions import RecordsWithoutSchemaException
from singer_sdk.singerlib.encoding.simple import SimpleSingerReader
from singer_sdk.singerlib.exceptions import InvalidInputLine
from singer_sdk.singerlib.json import deserialize_json

from target_jumpcloud.mapping import record_mapper
from target_jumpcloud.model import DesiredUser, RejectedRecord

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping, Sequence
    from typing import IO

    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_jumpcloud.target import TargetJumpCloud


# The sinks' working schema as the SDK sees it (belt and braces with the `_validate_and_parse`
# overrides): with no property declared, the SDK neither parses date strings into datetime
# objects (the mapping wants the text the tap sent, and a bad date in a field we never read
# must not stop the run) nor warns about every field.
def _pass_through_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": True}


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

    exit_code = 5  # target.EXIT_INPUT (that module imports this one)


class RecordBeforeSchemaError(InputStreamError, RecordsWithoutSchemaException):
    """A RECORD arrived for a stream whose SCHEMA had not been seen."""


class NumberedSingerReader(SimpleSingerReader):
    """The SDK's reader, but every error names the input line and none quotes it.

    The stock reader logs a bad line in full with a traceback; a worker record would end up
    in the logs. This one raises `InputStreamError("input line N: …")` instead, skips blank
    lines, and refuses BATCH messages (files the target cannot plan from safely).

    `record_shortcut`, when set, is offered each RECORD first; it returns True when it has
    handled the record (the target's fast path for worker records, see `TargetJumpCloud`).
    """

    record_shortcut: Callable[[dict[str, Any]], bool] | None = None
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

# The JSON types msgspec checks for `MappedFieldsChecker.decoder_types`, as msgspec types.
_DECODABLE: Final[dict[str, Any]] = {"string": str, "boolean": bool, "null": None}

_PY_TYPES: Final[dict[str, tuple[type, ...]]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float, Decimal),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _kind(value: object) -> str:
    """The JSON type name of a value, for a reason."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    for name in ("string", "integer", "number", "object", "array"):
        if isinstance(value, _PY_TYPES[name]):
            return name
    return type(value).__name__


@dataclass(frozen=True, slots=True)
class _Allowed:
    """The Python side of a set of JSON types, for one `isinstance` per value."""

    names: frozenset[str]
    types: tuple[type, ...]
    reject_bool: bool  # bool is an int to Python, not an integer or number to JSON

    @classmethod
    def of(cls, names: frozenset[str]) -> _Allowed:
        types = tuple(t for name in sorted(names) for t in _PY_TYPES.get(name, ()))
        return cls(names, types, "boolean" not in names)

    def accepts(self, value: object) -> bool:
        return isinstance(value, self.types) and not (self.reject_bool and value.__class__ is bool)


@dataclass(frozen=True, slots=True)
class _PathCheck:
    """The declared types along one mapped path: `steps[i]` may hold `types[i]`."""

    steps: tuple[str, ...]
    types: tuple[_Allowed | None, ...]  # None: the schema does not say
    required: bool  # the first step is in the schema's `required`


class MappedFieldsChecker:
    """Checks the values the mapping reads against the types the stream's SCHEMA declares.

    Only those values matter to the sync: a schema quirk in any other field must not hold a
    worker back (a skipped leaver is a suspension that does not happen). Far cheaper than a
    full JSON Schema validation of a 3 kB person record, which would dominate the run time.
    """

    def __init__(self, schema: Mapping[str, Any], paths: Sequence[str]) -> None:
        self._root = schema
        required = schema.get("required")
        required_names = set(required) if isinstance(required, list) else set()
        checks = []
        for path in dict.fromkeys(paths):
            steps = tuple(path.split("."))
            types = self._types_along(steps)
            if any(t is not None for t in types) or steps[0] in required_names:
                checks.append(_PathCheck(steps, types, steps[0] in required_names))
        self.checks = tuple(checks)
        # The top-level fields msgspec can check while it parses (`decoder_types`): strings,
        # booleans and nulls, which it tells apart exactly as `problem` does.
        self.decoder_types: dict[str, tuple[Any, bool]] = {}
        for check in checks:
            allowed = check.types[0]
            if len(check.steps) == 1 and allowed is not None and allowed.names <= _DECODABLE.keys():
                kinds = tuple(_DECODABLE[name] for name in sorted(allowed.names))
                self.decoder_types[check.steps[0]] = (
                    functools.reduce(operator.or_, kinds),
                    check.required,
                )
        # The same checks flattened for `problem`, which runs for every record: per step its
        # index, name and allowed types (None: any), the types unpacked for one `isinstance`.
        self._compiled = tuple(
            (
                check,
                tuple(
                    (index, step, allowed, allowed.types, allowed.reject_bool)
                    if allowed is not None
                    else (index, step, None, (), False)
                    for index, (step, allowed) in enumerate(
                        zip(check.steps, check.types, strict=True)
                    )
                ),
            )
            for check in checks
        )
        # What is left to check in a record whose decoder checked `decoder_types`.
        self._compiled_after_decoder = tuple(
            (check, steps)
            for check, steps in self._compiled
            if not (len(check.steps) == 1 and check.steps[0] in self.decoder_types)
        )

    def _resolve(self, node: object) -> Mapping[str, Any] | None:
        """Follow a local `$ref` (`#/$defs/x`, `#/definitions/x`); None when unknown."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 10:  # noqa: PLR2004
            ref = node["$ref"]
            if not ref.startswith("#/"):
                return None
            target: object = self._root
            for part in ref[2:].split("/"):
                target = target.get(part) if isinstance(target, dict) else None
            node = target
            seen += 1
        return node if isinstance(node, dict) else None

    def _declared(self, node: Mapping[str, Any]) -> frozenset[str] | None:
        """The JSON types a schema node allows (`type`, or the union of an `anyOf`)."""
        kind = node.get("type")
        if isinstance(kind, str):
            return frozenset({kind})
        if isinstance(kind, list) and all(isinstance(k, str) for k in kind):
            return frozenset(kind)
        options = node.get("anyOf") or node.get("oneOf")
        if isinstance(options, list):
            union: set[str] = set()
            for option in options:
                resolved = self._resolve(option)
                declared = self._declared(resolved) if resolved is not None else None
                if declared is None:
                    return None
                union |= declared
            return frozenset(union)
        return None

    def _child(self, node: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
        properties = node.get("properties")
        if isinstance(properties, dict) and name in properties:
            return self._resolve(properties[name])
        for key in ("anyOf", "oneOf"):
            for option in node.get(key) or ():
                resolved = self._resolve(option)
                if resolved is not None:
                    found = self._child(resolved, name)
                    if found is not None:
                        return found
        return None

    def _types_along(self, steps: tuple[str, ...]) -> tuple[_Allowed | None, ...]:
        types: list[_Allowed | None] = []
        node: Mapping[str, Any] | None = self._resolve(self._root)
        for step in steps:
            node = self._child(node, step) if node is not None else None
            declared = self._declared(node) if node is not None else None
            # An unknown type name (a typo in the tap's schema) makes the check meaningless.
            usable = declared is not None and declared <= _PY_TYPES.keys()
            types.append(_Allowed.of(declared) if usable and declared else None)
        return tuple(types)

    def problem(self, record: Mapping[str, Any], *, types_checked: bool = False) -> str | None:
        """Why the record does not match its schema in a mapped field, or None.

        With `types_checked`, the record comes from a `RecordDecoder` given `decoder_types`,
        which has checked those fields already.
        """
        flat = isinstance(record, dict)
        for check, steps in self._compiled_after_decoder if types_checked else self._compiled:
            if flat and len(steps) == 1:  # a top-level field: the common case, unrolled
                _, step, allowed, types, reject_bool = steps[0]
                if step not in record:
                    if check.required:
                        return f"does not match the stream schema: {step} is required"
                    continue
                value: object = record[step]
                if allowed is not None and (
                    not isinstance(value, types) or (reject_bool and value.__class__ is bool)
                ):
                    return (
                        f"does not match the stream schema: {step} is {_kind(value)}, "
                        f"the schema says {' or '.join(sorted(allowed.names))}"
                    )
                continue
            value = record
            for index, step, allowed, types, reject_bool in steps:
                if not isinstance(value, dict):
                    break
                if step not in value:
                    if index == 0 and check.required:
                        return f"does not match the stream schema: {step} is required"
                    break
                value = value[step]
                if allowed is not None and (
                    not isinstance(value, types) or (reject_bool and value.__class__ is bool)
                ):
                    where = ".".join(check.steps[: index + 1])
                    return (
                        f"does not match the stream schema: {where} is {_kind(value)}, "
                        f"the schema says {' or '.join(sorted(allowed.names))}"
                    )
        return None


class WorkerSink(RecordSink):
    """The worker stream: map and validate each record as it arrives, keep only the result.

    SDK record validation is replaced by our own check of the fields the mapping reads
    (setting `validate_records`), so an invalid record becomes a `skipped` outcome with a
    reason instead of stopping the run.
    """

    def __init__(
        self,
        target: TargetJumpCloud,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        self.sync_target = target  # the SDK's Sink keeps no reference to its target
        super().__init__(target, stream_name, schema, key_properties)
        self.stream_schema = self.original_schema
        self.schema = _pass_through_schema()
        checker = None
        if self.validate_schema:
            checker = MappedFieldsChecker(
                self.stream_schema, list(target.settings.mapping.values())
            )
        self._checker = checker if checker is not None and checker.checks else None
        self._mapper = record_mapper(target.settings.mapping)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """No SDK validation: it stops the run (or logs whole records) on a bad record."""
        return None

    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        """Pass the record through untouched (see `_pass_through_schema`).

        The SDK would walk every field to parse date strings: wasted time on a 3 kB person
        record, and a bad date in a field we never read would stop the run.
        """
        return record

    def setup(self) -> None:
        """Make sure the key check and the directory load have started (direct `listen`)."""
        super().setup()
        self.sync_target.start()

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Map one worker record and hand the result to the target."""
        del context
        self.sync_target.collect(self._map(record))

    def take(self, record: dict[str, Any], *, types_checked: bool = False) -> None:
        """The fast path: what the SDK's record handling does here, minus the no-ops.

        Used only when no stream map, flattening or record metadata applies to the stream,
        so the record would reach `process_record` unchanged anyway. `types_checked`: the
        record's `decoder_types` fields were checked while it was parsed.
        """
        self.tally_record_read()
        self.sync_target.collect(self._map(record, types_checked=types_checked))
        self.record_counter_metric.increment()

    def decoder(self, fields: Iterable[str]) -> RecordDecoder:
        """A `RecordDecoder` for this stream that also checks the fields it can type."""
        types = self._checker.decoder_types if self._checker is not None else None
        return RecordDecoder(self.stream_name, fields, types)

    def _map(
        self, record: dict[str, Any], *, types_checked: bool = False
    ) -> DesiredUser | RejectedRecord:
        position = self.sync_target.next_position()
        if self.include_sdc_metadata_properties:
            for key in [key for key in record if key.startswith("_sdc_")]:
                del record[key]
        mapped = self._mapper(record, position)
        if self._checker is not None:
            problem = self._checker.problem(record, types_checked=types_checked)
            if problem is not None:
                reason = (
                    problem if isinstance(mapped, DesiredUser) else (f"{problem}; {mapped.reason}")
                )
                return RejectedRecord(
                    position=position,
                    profile_id=mapped.profile_id,
                    email=mapped.email,
                    reason=reason,
                )
        return mapped


class IgnoredStreamSink(RecordSink):
    """Any stream other than the worker stream: dropped, with one log line per stream."""

    def __init__(
        self,
        target: TargetJumpCloud,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        self.sync_target = target
        super().__init__(target, stream_name, schema, key_properties)
        self.schema = _pass_through_schema()
        target.note_ignored_stream(stream_name)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Records we drop are not worth validating (and must not stop the run)."""
        return None

    def _validate_and_parse(self, record: dict[str, Any]) -> dict[str, Any]:
        """Dropped records are not parsed either (a bad date must not stop the run)."""
        return record

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Drop the record (counted, for the end-of-input line)."""
        del record, context
        self.sync_target.count_ignored(self.stream_name)
