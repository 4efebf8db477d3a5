"""Fixtures for the tap-deel tests: fast retries, and the socket guard for offline checks."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from tap_deel.client import DeelStream
from tap_deel.retries import BackoffPolicy

#: Retries as in production (same count), but waits of milliseconds.
FAST_BACKOFF = BackoffPolicy(base=0.01, factor=2.0, cap=0.05, retry_after_cap=2.0, max_tries=8)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> BackoffPolicy:
    """Keep backoff waits short in every tap test (Retry-After is still honoured)."""
    monkeypatch.setattr(DeelStream, "backoff_policy", FAST_BACKOFF)
    return FAST_BACKOFF


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Fail any attempt to open a network connection; yields the attempts seen."""
    attempts: list[Any] = []

    def refuse(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"unexpected network connection to {address!r}")

    def refuse_create(address: Any, *args: Any, **kwargs: Any) -> None:
        attempts.append(address)
        raise AssertionError(f"unexpected network connection to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse_create)
    return attempts
