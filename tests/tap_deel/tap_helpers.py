"""Helpers for the tap-deel tests: run the tap in process and collect what it emits."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jsonschema
from singer_sdk.singerlib.encoding.simple import SimpleSingerWriter
from tap_deel.output import FastSingerWriter
from tap_deel.tap import TapDeel

if TYPE_CHECKING:
    from collections.abc import Iterable

    from singer_sdk.singerlib import Message

    from tests.emulators.base import LogEntry

DEEL_TOKEN = "deel-test-token"
API_PREFIX = "/rest/v2"
# Every stream the tap must offer, written out here (not read from the tap) so a stream that
# goes missing fails the tests.
ALL_STREAMS = (
    "people",
    "contracts",
    "legal_entities",
    "groups",
    "managers",
    "teams",
    "departments",
    "working_locations",
    "organizations",
)


class CollectingWriter(FastSingerWriter):
    """The tap's own writer (records passed through as Deel's text included), keeping the
    lines it would write to stdout, parsed."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []
        self.raw: list[bytes] = []

    def _emit(self, data: bytes) -> None:
        for line in data.splitlines():  # (a record whose text spans lines would fail here)
            self.raw.append(line)
            self.lines.append(json.loads(line))


class SdkCollectingWriter(SimpleSingerWriter):
    """The SDK's default writer: every record parsed and shaped (no pass-through), as a
    reference for what the tap's writer must mean."""

    def __init__(self) -> None:
        self.lines: list[dict[str, Any]] = []

    def write_message(self, message: Message) -> None:
        self.lines.append(json.loads(self.format_message(message)))


@dataclass
class SyncResult:
    """What one tap run emitted."""

    lines: list[dict[str, Any]]
    records: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    states: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, lines: list[dict[str, Any]]) -> SyncResult:
        result = cls(lines)
        for line in lines:
            if line["type"] == "RECORD":
                result.records.setdefault(line["stream"], []).append(line["record"])
            elif line["type"] == "SCHEMA":
                result.schemas[line["stream"]] = line["schema"]
            elif line["type"] == "STATE":
                result.states.append(line["value"])
        return result

    def ids(self, stream: str) -> list[Any]:
        return [record["id"] for record in self.records.get(stream, [])]


def tap_config(api_url: str, **overrides: Any) -> dict[str, Any]:
    """A config for the emulator; pacing is effectively off unless overridden."""
    config: dict[str, Any] = {
        "api_token": DEEL_TOKEN,
        "api_url": api_url,
        "max_requests_per_second": 1000,
    }
    config.update(overrides)
    return config


def run_tap(
    config: dict[str, Any], streams: Iterable[str] | None = None, *, sdk_writer: bool = False
) -> SyncResult:
    """Sync the given streams (all when None) in process and return what was emitted.

    With `sdk_writer`, through the SDK's default writer (so no record is passed through).
    """
    writer: CollectingWriter | SdkCollectingWriter
    writer = SdkCollectingWriter() if sdk_writer else CollectingWriter()
    tap = TapDeel(config=config, parse_env_config=False, message_writer=writer)
    wanted = set(streams) if streams is not None else None
    for name, stream in tap.streams.items():
        stream.selected = wanted is None or name in wanted
    tap.sync_all()
    return SyncResult.of(writer.lines)


def validate_records(result: SyncResult) -> int:
    """Validate every record against the SCHEMA message of its stream; return the count."""
    count = 0
    for stream, records in result.records.items():
        validator = jsonschema.Draft202012Validator(result.schemas[stream])
        for record in records:
            validator.validate(record)
            count += 1
    return count


def expected_pages(n: int, page_size: int) -> int:
    """Requests an offset-paged endpoint needs for n rows: ceil(n / page_size), at least 1."""
    return max(1, math.ceil(n / page_size))


def busiest_window(entries: list[LogEntry], window: float = 1.0) -> int:
    """The most requests the log holds in any `window`-second span (closed interval)."""
    times = sorted(entry.at for entry in entries)
    best = 0
    start = 0
    for end, at in enumerate(times):
        while at - times[start] > window:
            start += 1
        best = max(best, end - start + 1)
    return best
