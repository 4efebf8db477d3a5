"""Shared fixtures: the two API emulators on ephemeral loopback ports."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

DEEL_TOKEN = "deel-test-token"
JUMPCLOUD_KEY = "jc-test-key"


@pytest.fixture
def deel_emulator() -> Iterator[EmulatorServer[DeelEmulator]]:
    """A Deel emulator with no people, the rate limit on; `.app` is the `DeelEmulator`."""
    with EmulatorServer(DeelEmulator(token=DEEL_TOKEN)) as server:
        yield server


@pytest.fixture
def jumpcloud_emulator() -> Iterator[EmulatorServer[JumpCloudEmulator]]:
    """An empty JumpCloud directory; `.app` is the `JumpCloudEmulator`."""
    with EmulatorServer(JumpCloudEmulator(api_key=JUMPCLOUD_KEY)) as server:
        yield server


@pytest.fixture
def deel_api_url(deel_emulator: EmulatorServer[DeelEmulator]) -> str:
    """The tap's `api_url` for the Deel emulator."""
    return f"{deel_emulator.url}/rest/v2"


@pytest.fixture
def jumpcloud_api_url(jumpcloud_emulator: EmulatorServer[JumpCloudEmulator]) -> str:
    """The target's `api_url` for the JumpCloud emulator."""
    return f"{jumpcloud_emulator.url}/api"
