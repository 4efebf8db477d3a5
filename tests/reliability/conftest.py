"""Fixtures of the reliability suites, and the figures printed at the end of the session."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tests.emulators.base import FAULT_KINDS
from tests.reliability.harness import STATS

if TYPE_CHECKING:
    from pathlib import Path

    from _pytest.terminal import TerminalReporter

#: The figures, in the order the summary prints them (zeros included).
FIGURES = (
    ("pipeline runs", "tap-deel | target-jumpcloud runs (both CLIs, piped)"),
    ("target runs", "target-jumpcloud runs fed directly"),
    ("tap runs", "tap-deel runs on their own"),
    ("faults injected", "faults the emulators injected"),
    ("fault seeds", "seeded fault runs (first sync + changed-state sync)"),
    ("retries exhausted", "runs that ran out of retries (then recovered)"),
    ("crash points", "programs killed mid-run (SIGKILL or SIGTERM)"),
    ("bad input cases", "bad-input corpus cases"),
    ("config cases", "auth and config cases"),
    ("guard cases", "guard and dry-run cases"),
    ("directories compared", "directories compared with a clean run's"),
    ("duplicates found", "duplicate users found"),
    ("changes lost", "changes lost"),
    ("unexpected writes", "unexpected users or attribute values"),
    ("wrong writes", "wrong writes by interrupted runs"),
    ("token grants", "access tokens granted in the service-account fault runs"),
    ("faults on the token endpoint", "faults served by the token endpoint in those runs"),
    ("files scanned for keys", "files scanned for the sentinel keys"),
    ("leaks found", "key leaks found"),
    ("tracebacks", "tracebacks printed"),
)


#: The figures that count cases tried (a seed, a crash point, a corpus entry, a setting...).
CASE_FIGURES = (
    "fault seeds",
    "crash points",
    "bad input cases",
    "config cases",
    "guard cases",
)


@pytest.fixture(scope="session")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A session directory for the clean reference runs."""
    return tmp_path_factory.mktemp("references")


def pytest_terminal_summary(terminalreporter: TerminalReporter) -> None:
    """Print the reliability figures when any reliability test ran."""
    if not STATS:
        return
    terminalreporter.section("reliability figures")
    width = max(len(text) for _, text in FIGURES)
    runs = sum(STATS.get(key, 0) for key in ("pipeline runs", "target runs", "tap runs"))
    cases = sum(STATS.get(key, 0) for key in CASE_FIGURES)
    terminalreporter.write_line(f"{'program runs in all':<{width}}  {runs:>7}")
    terminalreporter.write_line(f"{'cases tried in all':<{width}}  {cases:>7}")
    for key, text in FIGURES:
        terminalreporter.write_line(f"{text:<{width}}  {STATS.get(key, 0):>7}")
        if key == "faults injected":
            for kind in FAULT_KINDS:
                label = f"  of which {kind}"
                terminalreporter.write_line(f"{label:<{width}}  {STATS.get(f'fault {kind}', 0):>7}")
