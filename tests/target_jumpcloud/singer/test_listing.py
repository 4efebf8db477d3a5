"""A complete input: ACTIVATE_VERSION for the worker stream after its last record."""

from __future__ import annotations

import json

import pytest
from target_jumpcloud.singer.reader import ListingWatch

from tests.target_jumpcloud.target_io_helpers import (
    person,
    record_message,
    run_target,
    schema_message,
)

ADA = person("p1", "Ada", "Lovelace")


def _activate(stream: str = "people") -> dict:
    return {"type": "ACTIVATE_VERSION", "stream": stream, "version": 1}


def _lines(*messages: dict) -> str:
    return "".join(json.dumps(m) + "\n" for m in messages)


def test_the_watch():
    watch = ListingWatch("people")
    assert watch.complete is False
    watch.activate_version(5)
    assert (watch.complete, watch.version) == (True, 5)
    watch.record()
    assert watch.complete is False


@pytest.mark.parametrize(
    ("messages", "complete"),
    [
        ((schema_message(), record_message(ADA), _activate()), True),
        ((schema_message(), _activate(), record_message(ADA)), False),
        ((schema_message(), record_message(ADA)), False),
        (
            (schema_message(), record_message(ADA), _activate(), {"type": "STATE", "value": {}}),
            True,
        ),
        ((schema_message(), record_message(ADA), _activate("teams")), False),
        ((schema_message(), _activate()), True),  # an empty listing is a listing
    ],
    ids=["after", "before", "none", "then-state", "other-stream", "empty"],
)
def test_complete_only_after_the_last_worker_record(jumpcloud_api_url, messages, complete):
    target = run_target(jumpcloud_api_url, _lines(*messages))
    assert target.complete_input is complete
    plan = target.sync_run.plan
    assert plan is not None
    assert plan.directory is not None
    assert plan.directory.complete_input is complete


def test_an_aliased_stream_is_the_worker_stream_on_the_sdk_path(jumpcloud_api_url):
    messages = (
        schema_message("employees"),
        record_message(ADA, "employees"),
        _activate("employees"),
    )
    target = run_target(
        jumpcloud_api_url,
        _lines(*messages),
        stream_maps={"employees": {"__alias__": "people"}},
    )
    assert target.complete_input is True
    assert len(target.sync_run.records) == 1
