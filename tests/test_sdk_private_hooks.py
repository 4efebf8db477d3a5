"""The private singer-sdk methods we still override: they exist, are called, and do our job.

singer-sdk offers no public hook for these (docs/development.md, "Private singer-sdk methods
we override, and why"). A private method can change in any release without notice, so each
one is pinned twice: its signature against ours (a rename or a new parameter fails here with
the method's name), and its effect seen end to end (an override the SDK stopped calling
fails here too, not silently in production).
"""

from __future__ import annotations

import inspect
import json
import os
import signal
import subprocess
import sys
import time
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest
from singer_sdk import Stream, Target
from singer_sdk.exceptions import ConfigValidationError
from singer_sdk.plugin_base import PluginBase
from singer_sdk.streams.rest import RESTStream
from tap_deel.client import DeelStream
from tap_deel.output import FastSingerWriter
from tap_deel.streams import PeopleStream
from target_jumpcloud.engine import EXIT_INTERRUPTED
from target_jumpcloud.singer.reader import STREAM_END_KEYWORD
from target_jumpcloud.target import TargetJumpCloud

from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import run_tap, tap_config
from tests.target_jumpcloud.target_io_helpers import (
    config_for,
    person,
    record_message,
    schema_message,
)

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

WHY = "see docs/development.md, 'Private singer-sdk methods we override, and why'"

#: (the SDK class that defines it, the method, our class that overrides it, its parameters).
OVERRIDDEN = [
    (PluginBase, "_validate_config", TargetJumpCloud, ["self", "raise_errors"]),
    (Target, "_handle_termination", TargetJumpCloud, ["self", "signum", "frame"]),
    (Stream, "_generate_schema_messages", PeopleStream, ["self"]),
    (
        Stream,
        "_process_record",
        DeelStream,
        ["self", "record", "child_context", "partition_context"],
    ),
    (Stream, "_write_record_message", DeelStream, ["self", "record"]),
    (Stream, "_sync_records", DeelStream, ["self", "context", "write_messages"]),
]
#: Private SDK methods the tap's `request_records` calls (not overridden): their parameters.
CALLED = [
    (RESTStream, "_request", ["self", "prepared_request", "context"]),
    (RESTStream, "_prepare_request", ["self", "context", "page"]),
]


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


@pytest.mark.parametrize(
    ("sdk_class", "name", "ours", "parameters"),
    OVERRIDDEN,
    ids=[f"{row[0].__name__}.{row[1]}" for row in OVERRIDDEN],
)
def test_each_private_method_we_override_is_still_the_sdks(
    sdk_class: type, name: str, ours: type, parameters: list[str]
) -> None:
    where = f"{sdk_class.__module__}.{sdk_class.__name__}.{name}"
    sdk_method = getattr(sdk_class, name, None)
    assert sdk_method is not None, f"singer-sdk no longer has {where}: our override is dead; {WHY}"
    assert _parameters(sdk_method) == parameters, (
        f"singer-sdk changed the parameters of {where} to {_parameters(sdk_method)}; "
        f"our override expects {parameters}; {WHY}"
    )
    own = getattr(ours, name)
    assert own is not sdk_method, f"{ours.__name__} no longer overrides {name}"
    assert _parameters(own) == parameters, f"{ours.__name__}.{name} differs from the SDK's"


@pytest.mark.parametrize(
    ("sdk_class", "name", "parameters"),
    CALLED,
    ids=[f"{row[0].__name__}.{row[1]}" for row in CALLED],
)
def test_each_private_method_we_call_still_takes_what_we_pass(
    sdk_class: type, name: str, parameters: list[str]
) -> None:
    where = f"{sdk_class.__module__}.{sdk_class.__name__}.{name}"
    sdk_method = getattr(sdk_class, name, None)
    assert sdk_method is not None, f"singer-sdk no longer has {where} (tap-deel's client calls it)"
    assert _parameters(sdk_method) == parameters, (
        f"singer-sdk changed {where} to {_parameters(sdk_method)}; tap-deel's "
        f"`request_records` passes {parameters}; {WHY}"
    )


def test_the_sdk_still_reads_the_drain_age_we_turn_off() -> None:
    # `_MAX_RECORD_AGE_IN_MINUTES = inf`: never drain (and emit STATE) in the middle of the
    # input. The SDK must still compare against the class attribute.
    source = inspect.getsource(Target)
    assert "self._MAX_RECORD_AGE_IN_MINUTES" in source, (
        f"singer-sdk's Target no longer reads _MAX_RECORD_AGE_IN_MINUTES; {WHY}"
    )
    assert float("inf") == TargetJumpCloud._MAX_RECORD_AGE_IN_MINUTES


# -- the target: _validate_config, _handle_termination ----------------------------------------


def test_validate_config_reports_the_schemas_and_the_parsers_problems_together(
    jumpcloud_api_url: str,
) -> None:
    # The SDK's constructor calls `_validate_config`; ours adds the settings parser's
    # problems to the schema's, naming each setting once.
    config = {
        **config_for(jumpcloud_api_url),
        "max_suspensions": "lots",  # the parser's (the schema takes any string)
        "user_state_on_create": "ACTIVE",  # the schema's and the parser's
    }
    with pytest.raises(ConfigValidationError) as caught:
        TargetJumpCloud(config=config, parse_env_config=False)
    errors = caught.value.errors
    assert any(e.startswith("max_suspensions: expected an integer") for e in errors), errors
    assert sum("user_state_on_create" in e for e in errors) == 1, errors


def test_the_sdk_installs_our_termination_handler(jumpcloud_api_url: str) -> None:
    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        target = TargetJumpCloud(config=config_for(jumpcloud_api_url), parse_env_config=False)
        assert signal.getsignal(signal.SIGTERM) == target._handle_termination, (
            f"singer-sdk no longer installs Target._handle_termination for SIGTERM; {WHY}"
        )
        assert signal.getsignal(signal.SIGINT) == target._handle_termination
        run = target.sync_run
        with pytest.raises(SystemExit) as caught:
            target._handle_termination(signal.SIGTERM, None)
        assert caught.value.code == EXIT_INTERRUPTED
        assert run.stop_event.is_set()  # no new write starts
    finally:
        for number, handler in before.items():
            signal.signal(number, handler)


def test_sigterm_stops_the_target_with_exit_130_and_no_state(
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator], tmp_path: Path
) -> None:
    app = jumpcloud_emulator.app
    config = tmp_path / "config.json"
    config.write_text(json.dumps(config_for(f"{jumpcloud_emulator.url}/api")), encoding="utf-8")
    lines = [schema_message(), record_message(person("p1", "Ada", "Lovelace"))]
    process = subprocess.Popen(
        [sys.executable, "-m", "target_jumpcloud", "--config", str(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdin is not None
        process.stdin.write("".join(json.dumps(m) + "\n" for m in lines).encode())
        process.stdin.flush()  # (the input stays open: the target waits for more)
        deadline = time.monotonic() + 30
        while not app.requests("GET") and time.monotonic() < deadline:
            time.sleep(0.05)  # the key check: the target is built, its handlers installed
        assert app.requests("GET"), "the target never checked its key"
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == EXIT_INTERRUPTED, stderr.decode()
    assert stdout == b"", "no STATE may follow a SIGTERM"
    assert b"Received signal 15" in stderr
    assert app.write_count == 0


# -- the tap: the SCHEMA's closing-STATE mark, and the record fast path -----------------------


@pytest.fixture
def deel(deel_emulator: EmulatorServer[DeelEmulator], deel_api_url: str) -> str:
    deel_emulator.app.rate_limit_enabled = False
    deel_emulator.app.set_workforce(generate_workforce(12, seed=3))
    return deel_api_url


def test_the_people_schema_announces_its_closing_state(deel: str) -> None:
    result = run_tap(tap_config(deel), ["people"])
    assert result.schemas["people"][STREAM_END_KEYWORD] == "STATE", (
        f"the SDK did not send PeopleStream._generate_schema_messages' SCHEMA; {WHY}"
    )
    assert result.states, "no closing STATE"


def test_the_sdk_hands_each_record_to_our_record_steps(deel: str) -> None:
    # The SDK's `_sync_records` loop must still call `_process_record` (with the child and
    # partition contexts) and `_write_record_message` once per record, and ours must pass
    # the records through as Deel's text.
    calls: dict[str, list[Any]] = {"process": [], "write": [], "text": []}
    process, write = DeelStream._process_record, DeelStream._write_record_message
    write_text = FastSingerWriter.write_record_text

    def spy_process(stream: DeelStream, record: dict[str, Any], *args: Any, **kw: Any) -> None:
        calls["process"].append((args, kw))
        process(stream, record, *args, **kw)

    def spy_write(stream: DeelStream, record: dict[str, Any]) -> None:
        calls["write"].append(record)
        write(stream, record)

    def spy_text(writer: FastSingerWriter, *args: Any, **kw: Any) -> None:
        calls["text"].append(args)
        write_text(writer, *args, **kw)

    with (
        mock.patch.object(DeelStream, "_process_record", spy_process),
        mock.patch.object(DeelStream, "_write_record_message", spy_write),
        mock.patch.object(FastSingerWriter, "write_record_text", spy_text),
    ):
        result = run_tap(tap_config(deel), ["people"])
    people = len(result.records["people"])
    assert people == 12
    assert len(calls["write"]) == people, f"Stream._write_record_message was not called; {WHY}"
    assert len(calls["process"]) == people, f"Stream._process_record was not called; {WHY}"
    assert all(set(kw) == {"child_context", "partition_context"} for _, kw in calls["process"])
    assert len(calls["text"]) == people, "the records were not passed through as text"
