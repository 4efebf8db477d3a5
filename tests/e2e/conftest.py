"""Fixtures of the end-to-end runs: a seeded Deel emulator and one Meltano run's environment."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import pytest

from tests.conftest import DEEL_TOKEN, JUMPCLOUD_KEY
from tests.emulators.workforce import generate_workforce

if TYPE_CHECKING:
    from pathlib import Path

    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

WORKERS = 60


@pytest.fixture
def deel(deel_emulator: EmulatorServer[DeelEmulator]) -> EmulatorServer[DeelEmulator]:
    """A Deel emulator with a seeded workforce; the rate limit off keeps the suite fast."""
    deel_emulator.app.set_workforce(generate_workforce(WORKERS, seed=11))
    deel_emulator.app.rate_limit_enabled = False
    return deel_emulator


@pytest.fixture
def env(
    tmp_path: Path,
    deel: EmulatorServer[DeelEmulator],
    jumpcloud_emulator: EmulatorServer[JumpCloudEmulator],
) -> dict[str, str]:
    """The environment of one Meltano run: emulator URLs and keys, and private state files."""
    return {
        **os.environ,
        "MELTANO_ENVIRONMENT": "dev",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": f"{deel.url}/rest/v2",
        "TARGET_JUMPCLOUD_API_KEY": JUMPCLOUD_KEY,
        "TARGET_JUMPCLOUD_API_URL": f"{jumpcloud_emulator.url}/api",
        "TARGET_JUMPCLOUD_REPORT_PATH": str(tmp_path / "report.json"),
        "TARGET_JUMPCLOUD_METRICS_PATH": str(tmp_path / "target-jumpcloud.prom"),
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path / "jsonl"),
        "TARGET_JSONL_DO_TIMESTAMP_FILE": "false",
    }
