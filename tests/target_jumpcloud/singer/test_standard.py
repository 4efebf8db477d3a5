"""singer-sdk's standard target tests that make sense for an API target, against the emulator.

Chosen: CLI prints; a RECORD before its SCHEMA and an invalid SCHEMA (both must stop the run);
and a handful of the generic-stream files, which this target must ignore without error and
without a single write. Left out on purpose: `TargetRecordMissingKeyProperty` (a worker
without its key is skipped, not fatal, and other streams are ignored), and
`TargetMultipleStateMessages` (STATE is emitted once, after the plan has been applied).
Our own template runs a worker stream through the SDK's runner and checks what JumpCloud got.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetArrayData,
    TargetCamelcaseTest,
    TargetCliPrintsTest,
    TargetEncodedStringData,
    TargetInvalidSchemaTest,
    TargetOptionalAttributes,
    TargetRecordBeforeSchemaTest,
    TargetSchemaNoProperties,
    TargetSchemaUpdates,
    TargetSpecialCharsInAttributes,
)
from singer_sdk.testing.templates import TargetTestTemplate
from target_jumpcloud.target import TargetJumpCloud

from tests.target_jumpcloud.target_io_helpers import (
    FAST_CLIENT,
    config_for,
    person,
    singer_text,
    writes,
)

if TYPE_CHECKING:
    from tests.emulators.jumpcloud import JumpCloudEmulator


class _NothingWritten:
    """Validate that JumpCloud saw no write at all."""

    resource: JumpCloudEmulator

    def validate(self) -> None:
        assert writes(self.resource) == []


class IgnoredArrayData(_NothingWritten, TargetArrayData):
    pass


class IgnoredCamelcase(_NothingWritten, TargetCamelcaseTest):
    pass


class IgnoredEncodedStrings(_NothingWritten, TargetEncodedStringData):
    pass


class IgnoredOptionalAttributes(_NothingWritten, TargetOptionalAttributes):
    pass


class IgnoredSchemaNoProperties(_NothingWritten, TargetSchemaNoProperties):
    pass


class IgnoredSchemaUpdates(_NothingWritten, TargetSchemaUpdates):
    pass


class IgnoredSpecialChars(_NothingWritten, TargetSpecialCharsInAttributes):
    pass


class RecordBeforeSchemaWritesNothing(_NothingWritten, TargetRecordBeforeSchemaTest):
    pass


class InvalidSchemaWritesNothing(_NothingWritten, TargetInvalidSchemaTest):
    pass


class TargetWorkerSync(TargetTestTemplate):
    """A worker stream through the SDK runner: users created, STATE relayed once at the end."""

    name = "worker_sync"
    resource: JumpCloudEmulator

    def test(self) -> None:
        workers = [person("p1", "Ada", "Lovelace"), person("p2", "Alan", "Turing")]
        text = singer_text(workers, state={"people": 1})
        text += json.dumps({"type": "STATE", "value": {"people": 2}}) + "\n"
        self.runner.target_input = io.StringIO(text)
        self.runner.sync_all()

    def validate(self) -> None:
        users = self.resource.users()
        assert sorted(u["username"] for u in users) == ["ada.lovelace", "alan.turing"]
        assert self.runner.state_messages == [{"people": 2}]


_Standard = get_target_test_class(
    TargetJumpCloud,
    config=config_for("https://jumpcloud.invalid/api"),  # replaced by the runner fixture
    include_target_tests=False,
    custom_suites=[
        SingerTestSuite(
            kind="target",
            tests=[
                TargetCliPrintsTest,
                RecordBeforeSchemaWritesNothing,
                InvalidSchemaWritesNothing,
                IgnoredArrayData,
                IgnoredCamelcase,
                IgnoredEncodedStrings,
                IgnoredOptionalAttributes,
                IgnoredSchemaNoProperties,
                IgnoredSchemaUpdates,
                IgnoredSpecialChars,
                TargetWorkerSync,
            ],
        )
    ],
)


class _FastTarget(TargetJumpCloud):
    """The target with millisecond backoff (the runner builds targets from a class)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("client_options", FAST_CLIENT)
        super().__init__(**kwargs)


class TestTargetJumpCloudStandard(_Standard):  # type: ignore[misc, valid-type]
    """The curated standard suite, each test against a fresh emulator."""

    @pytest.fixture
    def resource(self, jumpcloud_emulator):
        return jumpcloud_emulator.app

    @pytest.fixture
    def runner(self, jumpcloud_api_url):
        return TargetTestRunner(
            _FastTarget, config=config_for(jumpcloud_api_url), parse_env_config=False
        )
