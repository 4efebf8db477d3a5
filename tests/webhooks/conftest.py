"""Fixtures of the receiver tests (both emulators, a people-only catalog), and the figures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.workforce import generate_workforce
from tests.webhooks.harness import (
    DEEL_TOKEN,
    JC_KEY,
    STATS,
    Ledger,
    ledger_command,
    people_catalog,
    pipeline,
    plugin_env,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from _pytest.terminal import TerminalReporter

FIGURES = (
    ("receivers started", "receiver processes started"),
    ("deliveries sent", "deliveries sent"),
    ("deliveries accepted", "accepted (stored, 200)"),
    ("deliveries duplicate", "repeats of a stored event (200, not queued)"),
    ("deliveries rejected", "rejected (401, 400, 413)"),
    ("slowest answer ms", "slowest answer to a delivery, ms"),
    ("events judged", "events checked end to end"),
    ("events lost", "events lost (must be 0)"),
    ("syncs run", "syncs run"),
    ("duplicated syncs", "duplicated syncs (must be 0)"),
    ("files scanned for secrets", "log files and folders scanned for keys"),
    ("leaks found", "key leaks found (must be 0)"),
)


@dataclass
class World:
    """Both emulators on loopback, a people-only catalog, and the pipeline command."""

    deel: DeelEmulator
    jc: JumpCloudEmulator
    deel_api_url: str
    jc_api_url: str
    catalog: Path
    tmp: Path

    @property
    def env(self) -> dict[str, str]:
        """What the sync command needs to reach the emulators."""
        return plugin_env(self.deel_api_url, self.jc_api_url)

    def pipeline(self) -> str:
        return pipeline(self.catalog)

    def ledger(self, name: str = "ledger.jsonl") -> Ledger:
        return Ledger(self.tmp / name)

    def sync_command(self, ledger: Ledger, inner: str | None = None) -> str:
        return ledger_command(ledger.path, inner if inner is not None else self.pipeline())


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    """Deel (60 people, rate limit off) and an empty JumpCloud, both on ephemeral ports."""
    deel = DeelEmulator(token=DEEL_TOKEN, workforce=generate_workforce(60, 16), rate_limit=False)
    deel.webhooks.retry_base = 0.05
    jc = JumpCloudEmulator(api_key=JC_KEY)
    with EmulatorServer(deel) as deel_server, EmulatorServer(jc) as jc_server:
        yield World(
            deel,
            jc,
            f"{deel_server.url}/rest/v2",
            f"{jc_server.url}/api",
            people_catalog(tmp_path / "catalog.json"),
            tmp_path,
        )


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """Print the receiver figures when any receiver test ran."""
    if not STATS:
        return
    terminalreporter.section("webhook receiver figures")
    width = max(len(text) for _, text in FIGURES)
    for key, text in FIGURES:
        terminalreporter.write_line(f"{text:<{width}}  {STATS.get(key, 0):>7}")
