"""The sinks: the worker stream is mapped and collected, every other stream is ignored.

The worker sink does not write anything. The sync must see the whole worker stream before
it writes (the suspension guard and the dry run need the complete plan), so each record is
mapped and validated on arrival, only the small mapped result is handed to the target, and
the sync engine plans and applies at the end of the input. That is also why a `RecordSink`
fits: it never batches, so the SDK never drains (and never emits STATE) on its own.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from singer_sdk import RecordSink
from singer_sdk.mapper import SameRecordTransform

from target_jumpcloud.model import DesiredUser, RejectedRecord
from target_jumpcloud.singer.reader import RecordDecoder
from target_jumpcloud.sync.mapping import record_mapper

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable, Mapping, Sequence

    from singer_sdk import Target
    from singer_sdk.sinks.core import BaseJSONSchemaValidator

    from target_jumpcloud.settings.sync_settings import SyncSettings


@runtime_checkable
class SyncTarget(Protocol):
    """What the sinks need of their target (the Singer target implements it)."""

    settings: SyncSettings

    def start(self) -> None:
        """Make sure the key check and the directory load have started."""

    def next_position(self) -> int:
        """The stream position of the next worker record (0-based)."""

    def collect(self, mapped: DesiredUser | RejectedRecord) -> None:
        """Keep one mapped worker record for the plan."""

    def activate_version(self, version: object) -> None:
        """An ACTIVATE_VERSION for the worker stream (docs/leavers.md)."""

    @property
    def ignored_streams(self) -> IgnoredStreams:
        """The bookkeeping of the streams that are not the worker stream."""


class IgnoredStreams:
    """Streams other than the worker stream: one log line each when first seen, a count."""

    def __init__(self, logger: logging.Logger, plugin: str, worker_stream: str) -> None:
        self.logger = logger
        self.plugin = plugin
        self.worker_stream = worker_stream
        self.counts: dict[str, int] = {}

    def note(self, stream: str) -> None:
        """Say once that `stream` is ignored."""
        if stream not in self.counts:
            self.counts[stream] = 0
            self.logger.info(
                "Ignoring stream '%s': %s reads only the worker stream '%s' (setting "
                "worker_stream)",
                stream,
                self.plugin,
                self.worker_stream,
            )

    def count(self, stream: str) -> None:
        """One dropped record of `stream`."""
        self.counts[stream] = self.counts.get(stream, 0) + 1

    def log_totals(self) -> None:
        """At the end of the input: how many records each ignored stream had."""
        for stream, count in self.counts.items():
            self.logger.info("Ignored %d records of stream '%s'", count, stream)


def _sync_target(target: Target) -> SyncTarget:
    if not isinstance(target, SyncTarget):  # pragma: no cover - a wiring mistake
        raise TypeError(f"{type(target).__name__} cannot collect worker records")
    return target


# The sinks' working schema as the SDK sees it: with no property declared, the SDK neither
# parses date strings into datetime objects (the mapping wants the text the tap sent, and a
# bad date in a field we never read must not stop the run) nor warns about every field. With
# `get_validator` returning None, these two public hooks leave the SDK's record step nothing
# to do.
def _pass_through_schema() -> dict[str, Any]:
    return {"type": "object", "properties": {}, "additionalProperties": True}


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
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        self.sync_target = _sync_target(target)  # the SDK's Sink keeps no reference to it
        super().__init__(target, stream_name, schema, key_properties)
        self.stream_schema = self.original_schema
        self.schema = _pass_through_schema()
        checker = None
        if self.validate_schema:
            checker = MappedFieldsChecker(
                self.stream_schema, list(self.sync_target.settings.mapping.values())
            )
        self._checker = checker if checker is not None and checker.checks else None
        self._mapper = record_mapper(self.sync_target.settings.mapping)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """No SDK validation: it stops the run (or logs whole records) on a bad record."""
        return None

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

    def activate_version(self, new_version: int) -> None:
        """ACTIVATE_VERSION: the records so far are the source's whole list (docs/leavers.md).

        Nothing to bump here: the target only notes it, and the run takes its input as
        complete when no worker record follows.
        """
        self.sync_target.activate_version(new_version)

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
        target: Target,
        stream_name: str,
        schema: dict[str, Any],
        key_properties: Sequence[str] | None,
    ) -> None:
        self.sync_target = _sync_target(target)
        super().__init__(target, stream_name, schema, key_properties)
        self.schema = _pass_through_schema()
        self.sync_target.ignored_streams.note(stream_name)

    def get_validator(self) -> BaseJSONSchemaValidator | None:
        """Records we drop are not worth validating (and must not stop the run)."""
        return None

    def process_record(self, record: dict[str, Any], context: dict[str, Any]) -> None:
        """Drop the record (counted, for the end-of-input line)."""
        del record, context
        self.sync_target.ignored_streams.count(self.stream_name)


def plain_worker_sink(target: Target) -> WorkerSink | None:
    """The worker sink, if records reach it untransformed; else None (the SDK's path).

    Untransformed: no stream map, no alias, no flattening and no `_sdc_*` metadata, so a
    record the reader hands straight to the sink is the record the SDK would have handed.
    """
    stream = _sync_target(target).settings.worker_stream
    maps = target.mapper.stream_maps.get(stream)
    if not target.sink_exists(stream) or not maps or len(maps) != 1:
        return None
    stream_map = maps[0]
    if (
        type(stream_map) is not SameRecordTransform
        or stream_map.stream_alias != stream
        or stream_map.flattening_enabled
    ):
        return None
    sink = target.get_sink(stream)
    if not isinstance(sink, WorkerSink) or sink.include_sdc_metadata_properties:
        return None
    return sink
