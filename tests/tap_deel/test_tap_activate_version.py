"""ACTIVATE_VERSION (singer-sdk's `emit_activate_version_messages`): only after a complete list.

The message tells a consumer "the records before me are the whole table". singer-sdk writes it
as a stream starts; the tap holds it back to after the stream's last message, and writes it only
when the listing ended normally. Against the Deel emulator over loopback: its place and version,
both writers (the tap's pass-through and the SDK's), the setting off, `person_ids`, a listing
that failed midway or on its first page, one cut short by a record limit, a killed process,
BATCH messages, and a stream map's alias.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import RetriableAPIError
from tap_deel.streams import STREAM_END_KEYWORD
from tap_deel.tap import TapDeel

from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import CollectingWriter, SyncResult, run_tap, tap_config

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator

PEOPLE = "/rest/v2/people"
WORKFORCE = generate_workforce(450, seed=31)
ON = {"emit_activate_version_messages": True, "page_size": 100}


@pytest.fixture
def deel(deel_emulator: EmulatorServer[DeelEmulator]) -> DeelEmulator:
    app = deel_emulator.app
    app.set_workforce(WORKFORCE)
    app.rate_limit_enabled = False
    return app


def kinds(lines: list[dict[str, Any]], stream: str = "people") -> list[str]:
    """The message types of one stream (STATE belongs to every stream)."""
    return [m["type"] for m in lines if m.get("stream", stream) == stream]


def activations(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in lines if m["type"] == "ACTIVATE_VERSION"]


def run_until_it_fails(config: dict[str, Any]) -> tuple[list[dict[str, Any]], BaseException]:
    """Sync people; the run must fail. What was written before it failed, and the error."""
    writer = CollectingWriter()
    tap = TapDeel(config=config, parse_env_config=False, message_writer=writer)
    for name, stream in tap.streams.items():
        stream.selected = name == "people"
    with pytest.raises(Exception) as failure:  # noqa: PT011 - the type is checked by the caller
        tap.sync_all()
    writer.flush()
    return writer.lines, failure.value


@pytest.mark.parametrize("sdk_writer", [False, True], ids=["tap writer", "sdk writer"])
def test_it_follows_the_last_record_and_names_the_records_version(
    deel: DeelEmulator, deel_api_url: str, *, sdk_writer: bool
) -> None:
    result = run_tap(tap_config(deel_api_url, **ON), ["people"], sdk_writer=sdk_writer)
    assert len(result.ids("people")) == 450
    (activation,) = activations(result.lines)
    assert activation == {
        "type": "ACTIVATE_VERSION",
        "stream": "people",
        "version": activation["version"],
    }
    version = activation["version"]
    assert isinstance(version, int)
    assert version > 1_700_000_000  # the SDK's: when the tap started, in epoch seconds
    assert abs(version - time.time()) < 600
    # Every record of this run carries that version, and the message comes after the last of
    # them (and after the closing STATE): it is the stream's last message.
    records = [m for m in result.lines if m["type"] == "RECORD"]
    assert {m["version"] for m in records} == {version}
    people = kinds(result.lines)
    last_record = max(i for i, kind in enumerate(people) if kind == "RECORD")
    after = people[last_record + 1 :]
    assert after[0] == "STATE"  # the end mark, first
    assert after[-1] == "ACTIVATE_VERSION"
    assert set(after[:-1]) == {"STATE"}
    assert result.schemas["people"][STREAM_END_KEYWORD] == "STATE"  # the end mark stays


def test_the_tap_writer_says_the_same_as_the_sdk_writer(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    ours = run_tap(tap_config(deel_api_url, **ON), ["people"])
    sdks = run_tap(tap_config(deel_api_url, **ON), ["people"], sdk_writer=True)
    assert kinds(ours.lines) == kinds(sdks.lines)
    assert [m.get("version") is not None for m in ours.lines] == [
        m.get("version") is not None for m in sdks.lines
    ]


@pytest.mark.parametrize("setting", [{}, {"emit_activate_version_messages": False}])
def test_off_by_default_and_when_off(
    deel: DeelEmulator, deel_api_url: str, setting: dict[str, Any]
) -> None:
    result = run_tap(tap_config(deel_api_url, page_size=100, **setting), ["people"])
    assert len(result.ids("people")) == 450
    assert activations(result.lines) == []
    assert not any("version" in m for m in result.lines if m["type"] == "RECORD")


def test_never_with_person_ids(deel: DeelEmulator, deel_api_url: str) -> None:
    ids = [p["id"] for p in deel.people[3:9]]
    result = run_tap(tap_config(deel_api_url, person_ids=ids, **ON), ["people"])
    assert result.ids("people")[: len(ids)] == ids
    assert activations(result.lines) == []
    # A partial read is no table version: its records carry none either.
    assert not any("version" in m for m in result.lines if m["type"] == "RECORD")
    assert kinds(result.lines)[-1] == "STATE"  # the stream's end mark is still written


def test_not_after_a_listing_that_failed_midway(deel: DeelEmulator, deel_api_url: str) -> None:
    deel.faults.script("latency", path=PEOPLE, count=1, seconds=0)  # the first page is served
    deel.faults.script("503", path=PEOPLE, count=10_000)  # then every retry of the next fails
    lines, error = run_until_it_fails(tap_config(deel_api_url, **ON))
    assert isinstance(error, RetriableAPIError)
    assert len([m for m in lines if m["type"] == "RECORD"]) == 100  # the first page went out
    assert activations(lines) == []
    assert [e.status for e in deel.requests("GET", PEOPLE)][:2] == [200, 503]


def test_not_after_a_listing_that_failed_on_its_first_page(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    # singer-sdk alone would have announced the version before this first request.
    deel.faults.script("500", path=PEOPLE, count=10_000)
    lines, error = run_until_it_fails(tap_config(deel_api_url, **ON))
    assert isinstance(error, RetriableAPIError)
    assert [m["type"] for m in lines] == ["SCHEMA"]


def test_not_after_a_listing_cut_short_by_a_record_limit(
    deel: DeelEmulator, deel_api_url: str
) -> None:
    writer = CollectingWriter()
    tap = TapDeel(config=tap_config(deel_api_url, **ON), parse_env_config=False,
                  message_writer=writer)  # fmt: skip
    tap.run_sync_dry_run(dry_run_record_limit=150, streams=[tap.streams["people"]])
    writer.flush()
    assert 0 < len(SyncResult.of(writer.lines).ids("people")) < 450
    assert activations(writer.lines) == []


def test_not_before_a_kill(deel: DeelEmulator, deel_api_url: str, tmp_path: Path) -> None:
    """The real CLI, killed while it waits for the second page: nothing it wrote says done."""
    deel.faults.script("latency", path=PEOPLE, count=1, seconds=0)
    deel.faults.script("latency", path=PEOPLE, count=1, seconds=3)  # the second page hangs
    config = tmp_path / "config.json"
    config.write_text(json.dumps(tap_config(deel_api_url, **ON)))
    with subprocess.Popen(
        [sys.executable, "-m", "tap_deel", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=tmp_path,
    ) as tap:
        assert tap.stdout is not None
        lines: list[dict[str, Any]] = []
        while sum(m["type"] == "RECORD" for m in lines) < 100:  # the first page is out
            line = tap.stdout.readline()
            assert line, "the tap ended before its first page"
            lines.append(json.loads(line))
        tap.kill()
        lines.extend(json.loads(line) for line in tap.stdout.read().splitlines())
    assert tap.returncode != 0
    assert 100 <= sum(m["type"] == "RECORD" for m in lines) < 450
    assert activations(lines) == []


def test_after_the_last_batch_message(
    deel: DeelEmulator, deel_api_url: str, tmp_path: Path
) -> None:
    batch_config = {
        "encoding": {"format": "jsonl", "compression": "none"},
        "storage": {"root": f"file://{tmp_path}", "prefix": "people-"},
    }
    result = run_tap(tap_config(deel_api_url, batch_config=batch_config, **ON), ["people"])
    people = kinds(result.lines)
    assert "BATCH" in people
    assert people[-1] == "ACTIVATE_VERSION"
    assert max(i for i, kind in enumerate(people) if kind == "BATCH") < len(people) - 1
    assert len(activations(result.lines)) == 1


def test_under_a_stream_maps_alias(deel: DeelEmulator, deel_api_url: str) -> None:
    maps = {"stream_maps": {"people": {"__alias__": "workers"}}}
    result = run_tap(tap_config(deel_api_url, **ON, **maps), ["people"])
    assert len(result.ids("workers")) == 450
    (activation,) = activations(result.lines)
    assert activation["stream"] == "workers"
    assert {m["version"] for m in result.lines if m["type"] == "RECORD"} == {activation["version"]}


def test_every_stream_of_a_complete_run_gets_its_own(deel: DeelEmulator, deel_api_url: str) -> None:
    result = run_tap(tap_config(deel_api_url, **ON))
    streams = [m["stream"] for m in activations(result.lines)]
    assert sorted(streams) == sorted(result.schemas)  # each once
    for stream in streams:
        positions = [i for i, m in enumerate(result.lines) if m.get("stream") == stream]
        assert result.lines[positions[-1]]["type"] == "ACTIVATE_VERSION"  # its last message


def test_declared_in_about(deel_api_url: str) -> None:
    about = subprocess.run(
        [sys.executable, "-m", "tap_deel", "--about", "--format=json"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    setting = json.loads(about.stdout)["settings"]["properties"]["emit_activate_version_messages"]
    assert "boolean" in setting["type"]
    assert setting["default"] is False
    assert "activate-version" in json.loads(about.stdout)["capabilities"]
