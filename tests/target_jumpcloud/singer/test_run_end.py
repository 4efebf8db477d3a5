"""`run_with_exit_code` reports every run's end exactly once: built or not, stopped or not."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from target_jumpcloud.engine import EXIT_CONFIG, EXIT_GUARD, EXIT_INTERRUPTED, EXIT_OK, GuardTripped
from target_jumpcloud.settings.sync_settings import ConfigError
from target_jumpcloud.singer.exits import (
    Scrubber,
    alert_config,
    outcome_of,
    run_with_exit_code,
)

SECRET = "hook-secret-token-0042"


class _Target:
    def __init__(self) -> None:
        self.closed = 0

    def abort(self, message: str) -> None:
        del message

    def close(self) -> None:
        self.closed += 1


def _ends(build: Any, run: Any) -> tuple[int, list[tuple[Any, int, str | None]]]:
    ends: list[tuple[Any, int, str | None]] = []
    code = run_with_exit_code(
        build,
        run,
        logger=logging.getLogger("test-run-end"),
        scrub=Scrubber([SECRET]),
        secret_names=frozenset({"notify"}),
        on_end=lambda target, code, message: ends.append((target, code, message)),
    )
    return code, ends


def test_a_completed_run_ends_once_with_its_target():
    target = _Target()
    code, ends = _ends(lambda: target, lambda t: None)
    assert code == EXIT_OK
    assert ends == [(target, EXIT_OK, None)]
    assert target.closed == 1


def test_a_config_refused_before_the_target_exists_ends_once_without_it():
    def build() -> _Target:
        raise ConfigError(f"notify: URL #1 is bad ({SECRET})", "dry_run: expected true or false")

    code, ends = _ends(build, lambda t: None)
    assert code == EXIT_CONFIG
    ((target, ended, message),) = ends
    assert target is None
    assert ended == EXIT_CONFIG
    assert message == (
        "Bad config: notify: URL #1 is bad (***)\nBad config: dry_run: expected true or false"
    )


def test_a_guard_trip_ends_once_with_its_message():
    def run(target: _Target) -> None:
        raise GuardTripped("the plan suspends 9 users")

    code, ends = _ends(_Target, run)
    assert code == EXIT_GUARD
    assert [(c, m) for _, c, m in ends] == [(EXIT_GUARD, "the plan suspends 9 users")]


def test_an_interrupt_ends_once_and_still_exits():
    def run(target: _Target) -> None:
        raise SystemExit(EXIT_INTERRUPTED)

    ends: list[int] = []
    with pytest.raises(SystemExit):
        run_with_exit_code(
            _Target,
            run,
            logger=logging.getLogger("test-run-end"),
            scrub=Scrubber([]),
            secret_names=frozenset(),
            on_end=lambda target, code, message: ends.append(code),
        )
    assert ends == [EXIT_INTERRUPTED]


def test_the_outcome_names_and_the_alert_settings_of_a_refused_config(monkeypatch):
    assert outcome_of(EXIT_GUARD, None) == "guard_tripped"
    assert outcome_of(3, None) == "bad_key"
    assert outcome_of(99, None) == "internal_error"
    monkeypatch.setenv("TARGET_JUMPCLOUD_NOTIFY", '["json://127.0.0.1/hooks/x"]')
    monkeypatch.setenv("TARGET_JUMPCLOUD_METRICS_PATH", "env.prom")
    config = {"metrics_path": "file.prom", "api_key": "k", "notify_state_path": "s.json"}
    assert alert_config(config, parse_env=False, prefix="TARGET_JUMPCLOUD_") == {
        "metrics_path": "file.prom",
        "notify_state_path": "s.json",
    }
    assert alert_config(config, parse_env=True, prefix="TARGET_JUMPCLOUD_") == {
        "metrics_path": "env.prom",
        "notify_state_path": "s.json",
        "notify": '["json://127.0.0.1/hooks/x"]',
    }
