"""The sync engine driven without Singer: settings, a client and mapped records in, a report out.

This is how the plan-apply path and webhook-driven runs call it; nothing here goes through
the Singer target, its sinks or its reader.
"""

from __future__ import annotations

import pytest
from target_jumpcloud.engine import GuardTripped, SyncRun
from target_jumpcloud.settings.sync_settings import parse_settings
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, person, seed_user, writes


@pytest.fixture
def app(jumpcloud_emulator):
    return jumpcloud_emulator.app


def _run(api_url: str, **settings: object) -> SyncRun:
    config = {"api_key": KEY, "api_url": api_url, **settings}
    return SyncRun(parse_settings(config), fast_client(api_url))


def _mapped(*records: dict[str, object]) -> list:
    return [map_record(record, DEFAULT_MAPPING, i) for i, record in enumerate(records)]


def test_the_engine_runs_a_whole_sync_from_mapped_records(app, jumpcloud_api_url):
    seed_user(app, "grace.hopper", "grace.hopper@acme.example", employeeIdentifier="p3")
    run = _run(jumpcloud_api_url)
    report = run.run(
        _mapped(
            person("p1", "Ada", "Lovelace"),
            person("p2", "Alan", "Turing", active=False),
            person("p3", "Grace", "Hopper", active=False),
        )
    )
    assert report.counts["created"] == 1
    assert report.counts["skipped"] == 1  # inactive and not in JumpCloud
    assert report.counts["suspended"] == 1
    users = {u["employeeIdentifier"]: u for u in app.users()}
    assert users["p1"]["username"] == "ada.lovelace"
    assert users["p3"]["state"] == "SUSPENDED"
    assert run.report is report
    assert run.plan is not None


def test_the_engines_dry_run_plans_the_same_and_writes_nothing(app, jumpcloud_api_url):
    records = _mapped(person("p1", "Ada", "Lovelace"), person("p2", "Alan", "Turing"))
    report = _run(jumpcloud_api_url, dry_run=True).run(records)
    assert writes(app) == []
    assert [(r.outcome, r.username) for r in report.records] == [
        ("created", "ada.lovelace"),
        ("created", "alan.turing"),
    ]


def test_the_engines_guard_stops_before_any_write(app, jumpcloud_api_url):
    for i in range(3):
        seed_user(app, f"u{i}", f"u{i}@acme.example", employeeIdentifier=f"p{i}")
    records = _mapped(*(person(f"p{i}", "U", str(i), active=False) for i in range(3)))
    run = _run(jumpcloud_api_url, max_suspensions=2)
    with pytest.raises(GuardTripped, match="suspends 3 users, more than the limit of 2"):
        run.run(records)
    assert writes(app) == []
    assert run.report is not None
    assert run.report.status == "guard_tripped"
