"""Faults survived (429 storms, 5xx bursts, dropped connections) and faults that stop the run."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

import pytest
from singer_sdk.exceptions import FatalAPIError, RetriableAPIError
from tap_deel.errors import DeelAccessError

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import DEEL_TOKEN, run_tap, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_deel.retries import BackoffPolicy

PEOPLE = r"/rest/v2/people"
WORKFORCE = generate_workforce(450, seed=31)
PERSON_IDS = Counter(p["id"] for p in WORKFORCE.people)


@pytest.fixture
def server(deel_emulator: EmulatorServer) -> EmulatorServer:
    deel_emulator.app.rate_limit_enabled = False
    deel_emulator.app.set_workforce(WORKFORCE)
    return deel_emulator


def people_config(server: EmulatorServer, **overrides: object) -> dict[str, object]:
    return tap_config(f"{server.url}/rest/v2", page_size=100, **overrides)


def assert_everyone_once(server: EmulatorServer, **overrides: object) -> None:
    result = run_tap(people_config(server, **overrides), ["people"])
    assert Counter(result.ids("people")) == PERSON_IDS


def test_429_storm_without_retry_after(server: EmulatorServer) -> None:
    server.app.faults.script("429", path=PEOPLE, count=4)
    assert_everyone_once(server)
    statuses = [e.status for e in server.app.requests("GET", PEOPLE)]
    assert statuses == [429] * 4 + [200] * 5


def test_retry_after_is_honoured(server: EmulatorServer) -> None:
    server.app.faults.script("429_retry_after", path=PEOPLE, count=2, seconds=0.4)
    assert_everyone_once(server)
    log = server.app.requests("GET", PEOPLE)
    assert [e.status for e in log[:3]] == [429, 429, 200]
    # The fast test backoff would retry after ~10 ms; Retry-After says 0.4 s.
    assert log[1].at - log[0].at >= 0.35
    assert log[2].at - log[1].at >= 0.35


def test_retry_after_as_an_http_date_is_honoured(server: EmulatorServer, monkeypatch) -> None:
    import time
    from email.utils import formatdate

    from tests.emulators.base import Fault, Response

    original = server.app.fault_response

    def dated(fault: Fault) -> Response:
        response = original(fault)
        # Two seconds ahead; HTTP dates have whole seconds, so the wait is between 1 and 2 s.
        response.headers["Retry-After"] = formatdate(time.time() + 2, usegmt=True)
        return response

    monkeypatch.setattr(server.app, "fault_response", dated)
    server.app.faults.script("429_retry_after", path=PEOPLE, count=1)
    assert_everyone_once(server)
    log = server.app.requests("GET", PEOPLE)
    assert [e.status for e in log[:2]] == [429, 200]
    assert log[1].at - log[0].at >= 0.9


def test_5xx_burst_survived(server: EmulatorServer) -> None:
    for kind in ("500", "502", "503"):
        server.app.faults.script(kind, path=PEOPLE, count=1)
    assert_everyone_once(server)
    statuses = [e.status for e in server.app.requests("GET", PEOPLE)]
    assert statuses[:4] == [500, 502, 503, 200]


def test_dropped_connections_survived(server: EmulatorServer) -> None:
    server.app.faults.script("drop", path=PEOPLE, count=3)
    assert_everyone_once(server)
    faults = [e.fault for e in server.app.requests("GET", PEOPLE)]
    assert faults.count("drop") == 3


def test_random_faults_on_every_page_of_every_stream(server: EmulatorServer) -> None:
    server.app.faults.randomize(
        0.3, ("429", "429_retry_after", "500", "502", "503", "drop"), seed=7, retry_after=0.05
    )
    result = run_tap(tap_config(f"{server.url}/rest/v2", page_size=40))
    server.app.faults.clear()
    assert Counter(result.ids("people")) == PERSON_IDS
    assert len(result.ids("contracts")) == len(WORKFORCE.contracts)
    assert len(set(result.ids("contracts"))) == len(WORKFORCE.contracts)
    assert sum(server.app.faults.injected.values()) >= 10


def test_retries_give_up_after_max_tries_without_the_body(
    server: EmulatorServer, fast_backoff: BackoffPolicy
) -> None:
    server.app.faults.script("503", path=PEOPLE, count=1000)
    with pytest.raises(RetriableAPIError) as info:
        run_tap(people_config(server), ["people"])
    assert len(server.app.requests("GET", PEOPLE)) == fast_backoff.max_tries
    message = str(info.value)
    assert "503" in message
    assert "/rest/v2/people" in message
    assert "service_unavailable" not in message  # the body is never quoted


# -- fatal answers ---------------------------------------------------------------------------------


def test_bad_token_stops_at_once_naming_the_setting(server: EmulatorServer) -> None:
    config = people_config(server, api_token="not-the-token-0123456789")
    with pytest.raises(DeelAccessError) as info:
        run_tap(config, ["people"])
    message = str(info.value)
    assert "api_token" in message
    assert "401" in message
    assert "not-the-token-0123456789" not in message
    assert "Invalid or expired token" not in message  # no body
    assert len(server.app.requests()) == 1  # not retried


@pytest.fixture
def people_only_server() -> Iterator[EmulatorServer]:
    app = DeelEmulator(
        token=DEEL_TOKEN,
        workforce=generate_workforce(20, seed=1),
        rate_limit=False,
        scopes={"people:read"},
    )
    with EmulatorServer(app) as server:
        yield server


@pytest.mark.parametrize(
    ("stream", "scope"),
    [
        ("contracts", "contracts:read"),
        ("groups", "groups:read"),
        ("legal_entities", "organizations:read"),
        ("managers", "organizations:read"),
        ("teams", "organizations:read"),
        ("working_locations", "organizations:read"),
    ],
)
def test_missing_scope_names_the_scope(
    people_only_server: EmulatorServer, stream: str, scope: str
) -> None:
    config = tap_config(f"{people_only_server.url}/rest/v2")
    with pytest.raises(DeelAccessError) as info:
        run_tap(config, [stream])
    message = str(info.value)
    assert scope in message
    assert f"'{stream}'" in message
    assert "403" in message
    assert "Insufficient scope" not in message  # no body
    assert len(people_only_server.app.requests()) == 1


def test_people_only_token_still_syncs_people(people_only_server: EmulatorServer) -> None:
    result = run_tap(tap_config(f"{people_only_server.url}/rest/v2"), ["people"])
    assert len(result.ids("people")) == 20


def test_other_4xx_is_fatal_without_retry(server: EmulatorServer, monkeypatch) -> None:
    from tap_deel.streams import ManagersStream

    monkeypatch.setattr(ManagersStream, "max_page_size", 200)  # Deel allows at most 100 there
    with pytest.raises(FatalAPIError) as info:
        run_tap(tap_config(f"{server.url}/rest/v2", page_size=150), ["managers"])
    assert not isinstance(info.value, DeelAccessError)
    message = str(info.value)
    assert "400" in message
    assert "/rest/v2/managers" in message
    assert "between" not in message  # the body's words never reach the message
    assert len(server.app.requests()) == 1


def test_redirects_are_not_followed(server: EmulatorServer, monkeypatch) -> None:
    from tests.emulators.base import Response

    def redirect(request: object) -> Response:
        return Response(302, None, {"Location": "http://127.0.0.1:9/elsewhere"})

    monkeypatch.setattr(
        server.app,
        "routes",
        [
            (m, p, redirect if p.pattern.endswith("/teams/?") else h)
            for m, p, h in server.app.routes
        ],
    )
    with pytest.raises(FatalAPIError, match="302"):
        run_tap(tap_config(f"{server.url}/rest/v2"), ["teams"])
    assert len(server.app.requests()) == 1
