"""singer-sdk's standard tap tests, against the Deel emulator over loopback.

The SDK's test factory needs the config, and so the emulator's URL, when the module is
collected. The server is therefore *created* at import: `EmulatorServer(...)` binds and listens
on an ephemeral loopback port right away, so the port is reserved with no race (nothing else
can take it between collection and the run). It only *serves* (its thread runs) while this test
class runs, started by a class-scoped autouse fixture, which pytest sets up before the SDK's
class-scoped `runner` fixture, and stopped (port released) when the class is done. A request
made before `start()` would simply wait in the listen backlog. When the class is deselected the
socket is closed at exit, never left to the garbage collector.
"""

from __future__ import annotations

import atexit
from typing import TYPE_CHECKING

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class
from tap_deel.tap import TapDeel

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.workforce import generate_workforce
from tests.tap_deel.tap_helpers import DEEL_TOKEN, tap_config

if TYPE_CHECKING:
    from collections.abc import Iterator

_SERVER = EmulatorServer(
    DeelEmulator(token=DEEL_TOKEN, workforce=generate_workforce(60, seed=19), rate_limit=False)
)
atexit.register(_SERVER.httpd.server_close)

_BaseTapDeelTests = get_tap_test_class(
    TapDeel,
    config=tap_config(f"{_SERVER.url}/rest/v2", page_size=25),
    parse_env_config=False,
    suite_config=SuiteConfig(max_records_limit=None),
)


class TestTapDeelStandard(_BaseTapDeelTests):  # type: ignore[misc,valid-type]
    """The SDK's standard suite: CLI, discovery, sync, schemas, primary keys, attributes."""

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _serve_emulator(cls) -> Iterator[None]:
        _SERVER.start()
        yield
        _SERVER.stop()
