"""The tap's command line: clean failures, no network while building or discovering."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.exceptions import ConfigValidationError
from tap_deel.client import DeelStream
from tap_deel.settings import ApiUrlError
from tap_deel.tap import TapDeel

from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import ALL_STREAMS, DEEL_TOKEN, CollectingWriter, tap_config

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer

SECRET = "wrong-token-SECRET-4242"
STREAMS = set(ALL_STREAMS)


def run_cli(tmp_path: Path, config: dict[str, Any], *args: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    return subprocess.run(
        [sys.executable, "-m", "tap_deel", "--config", str(path), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_bad_token_one_clear_line_and_non_zero_exit(
    deel_emulator: EmulatorServer, deel_api_url: str, tmp_path: Path
) -> None:
    done = run_cli(tmp_path, tap_config(deel_api_url, api_token=SECRET))
    assert done.returncode != 0
    assert "api_token" in done.stderr
    assert "401" in done.stderr
    assert SECRET not in done.stderr
    assert SECRET not in done.stdout
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "api_token" in line]
    assert len(errors) == 1
    assert '"type":"RECORD"' not in done.stdout
    assert len(deel_emulator.app.requests()) == 1  # refused once, never retried


def test_missing_scope_one_clear_line(tmp_path: Path) -> None:
    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator

    app = DeelEmulator(token=DEEL_TOKEN, rate_limit=False, scopes={"people:read"})
    with EmulatorServer(app) as server:
        done = run_cli(tmp_path, tap_config(f"{server.url}/rest/v2"))
    assert done.returncode != 0
    assert "contracts:read" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_good_run_exits_zero(
    deel_emulator: EmulatorServer, deel_api_url: str, tmp_path: Path
) -> None:
    deel_emulator.app.rate_limit_enabled = False
    deel_emulator.app.set_workforce(generate_workforce(30, seed=3))
    done = run_cli(tmp_path, tap_config(deel_api_url))
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    people = [m for m in lines if m["type"] == "RECORD" and m["stream"] == "people"]
    assert len(people) == 30
    assert lines[-1]["type"] == "STATE"


def test_plain_http_to_a_remote_host_is_refused_before_any_connection(
    deel_emulator: EmulatorServer, tmp_path: Path
) -> None:
    # 127.0.0.1 and this name point at the same machine, but the name is not loopback by the
    # rule; the emulator must never see a request.
    url = f"http://deel-emulator.invalid:{deel_emulator.port}/rest/v2"
    done = run_cli(tmp_path, tap_config(url))
    assert done.returncode != 0
    assert "api_url" in done.stderr
    assert "HTTPS" in done.stderr
    assert "Traceback" not in done.stderr
    assert deel_emulator.app.requests() == []


def test_plain_http_refused_in_process_without_touching_the_network(no_network: list) -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapDeel(config=tap_config("http://10.1.2.3/rest/v2"))
    assert "api_url" in str(info.value)
    # Built without validation (as --discover does), the check still runs before any request.
    tap = TapDeel(config=tap_config("http://10.1.2.3/rest/v2"), validate_config=False)
    with pytest.raises(ApiUrlError, match="api_url"):
        tap.sync_all()
    assert no_network == []


def test_about_and_discover_are_offline(
    deel_emulator: EmulatorServer, deel_api_url: str, tmp_path: Path
) -> None:
    config = tap_config(deel_api_url)
    about = run_cli(tmp_path, config, "--about", "--format=json")
    assert about.returncode == 0, about.stderr
    info = json.loads(about.stdout)
    assert info["name"] == "tap-deel"
    assert info["settings"]["properties"]["api_token"]["secret"] is True

    discover = run_cli(tmp_path, config, "--discover")
    assert discover.returncode == 0, discover.stderr
    catalog = json.loads(discover.stdout)
    assert {s["tap_stream_id"] for s in catalog["streams"]} == STREAMS
    for stream in catalog["streams"]:
        assert stream["key_properties"] == ["id"]
        assert stream["replication_method"] == "FULL_TABLE"

    assert deel_emulator.app.requests() == []


def test_building_and_discovering_in_process_never_opens_a_socket(no_network: list) -> None:
    tap = TapDeel(config=tap_config("https://api.letsdeel.com/rest/v2"))
    catalog = tap.catalog_dict
    assert {s["tap_stream_id"] for s in catalog["streams"]} == STREAMS
    writer = CollectingWriter()
    TapDeel(config=tap_config("https://api.letsdeel.com/rest/v2"), message_writer=writer)
    assert no_network == []


def test_settings_schema() -> None:
    schema = TapDeel.config_jsonschema
    assert schema["required"] == ["api_token"]
    props = schema["properties"]
    assert props["api_token"]["secret"] is True
    assert props["api_url"]["default"] == "https://api.letsdeel.com/rest/v2"
    assert props["max_requests_per_second"]["default"] == 5
    assert props["page_size"]["default"] == 200
    assert props["page_size"]["minimum"] == 1
    assert props["page_size"]["maximum"] == 200
    assert props["active_hiring_statuses"]["default"] == [
        "active",
        "onboarding",
        "onboarding_at_risk",
        "onboarding_overdue",
        "onboarded",
        "offboarding",
    ]
    assert "default" not in props["hiring_types"]


@pytest.mark.parametrize(
    "bad",
    [
        {"page_size": 0},
        {"page_size": 201},
        {"max_requests_per_second": 0},
        {"hiring_types": ["eor", "nonsense"]},
        {"active_hiring_statuses": []},
        {"active_hiring_statuses": ["Active"]},
        {"api_token": None},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ConfigValidationError):
        TapDeel(config=tap_config("https://api.letsdeel.com/rest/v2", **bad))


def test_one_session_with_tls_verification_shared_by_all_streams() -> None:
    tap = TapDeel(config=tap_config("https://api.letsdeel.com/rest/v2"))
    streams = [stream for stream in tap.streams.values() if isinstance(stream, DeelStream)]
    assert len(streams) == len(STREAMS)
    assert {id(stream.requests_session) for stream in streams} == {id(tap.shared_http.session)}
    assert {id(stream.shared.throttle) for stream in streams} == {id(tap.shared_http.throttle)}
    assert tap.shared_http.session.verify is True
