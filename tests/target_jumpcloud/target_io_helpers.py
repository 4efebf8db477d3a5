"""Helpers for the target-jumpcloud I/O tests: worker records, Singer streams, runs.

Workers are small Deel-like person records (with the tap's derived fields) so each test can
say exactly what it feeds the target; the schema is the part of tap-deel's that the default
mapping reads.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.target import TargetJumpCloud

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from tests.emulators.jumpcloud import JumpCloudEmulator

REPO = Path(__file__).resolve().parents[2]
KEY = "jc-test-key"

# Fast retries for in-process runs: the same policy, milliseconds instead of seconds.
#: Millisecond backoff, and no time budget beyond the minimum attempts: a request that keeps
#: failing gives up after exactly `MIN_ATTEMPTS` attempts (a test may ask for fewer).
FAST_CLIENT = {
    "backoff_base": 0.001,
    "backoff_cap": 0.005,
    "retry_after_cap": 0.05,
    "timeout": 5.0,
    "retry_budget": 0.0,
}

_NULLABLE_TEXT = {"type": ["string", "null"]}
PEOPLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "first_name": _NULLABLE_TEXT,
        "last_name": _NULLABLE_TEXT,
        "full_name": _NULLABLE_TEXT,
        "job_title": _NULLABLE_TEXT,
        "work_location": _NULLABLE_TEXT,
        "hiring_type": _NULLABLE_TEXT,
        "hiring_status": _NULLABLE_TEXT,
        "start_date": {"type": ["string", "null"], "format": "date"},
        "department": {
            "type": ["object", "null"],
            "properties": {"id": _NULLABLE_TEXT, "name": _NULLABLE_TEXT},
        },
        "client_legal_entity": {
            "type": ["object", "null"],
            "properties": {"id": _NULLABLE_TEXT, "name": _NULLABLE_TEXT},
        },
        "work_email": _NULLABLE_TEXT,
        "active": {"type": "boolean"},
        "team": _NULLABLE_TEXT,
    },
}


def person(
    profile_id: str,
    first: str | None,
    last: str | None,
    *,
    email: str | None = None,
    active: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """A Deel person record as tap-deel emits it (derived fields included)."""
    if email is None and first and last:
        email = f"{first.lower()}.{last.lower()}@acme.example"
    record: dict[str, Any] = {
        "id": profile_id,
        "first_name": first,
        "last_name": last,
        "full_name": " ".join(part for part in (first, last) if part) or None,
        "job_title": "Engineer",
        "work_location": "Berlin",
        "hiring_type": "contractor",
        "hiring_status": "active" if active else "inactive",
        "start_date": "2024-02-29",
        "department": {"id": "d1", "name": "Engineering"},
        "client_legal_entity": {"id": "le1", "name": "Acme GmbH"},
        "work_email": email,
        "active": active,
        "team": "Platform",
    }
    record.update(extra)
    return record


def schema_message(
    stream: str = "people",
    schema: Mapping[str, Any] | None = None,
    key_properties: list[str] | None = None,
) -> dict[str, Any]:
    """A SCHEMA message (people schema and key `id` by default)."""
    return {
        "type": "SCHEMA",
        "stream": stream,
        "schema": dict(schema or PEOPLE_SCHEMA),
        "key_properties": key_properties if key_properties is not None else ["id"],
    }


def record_message(record: Mapping[str, Any], stream: str = "people") -> dict[str, Any]:
    """A RECORD message."""
    return {"type": "RECORD", "stream": stream, "record": dict(record)}


def singer_text(
    records: Iterable[Mapping[str, Any]],
    *,
    stream: str = "people",
    state: Mapping[str, Any] | None = None,
    extra: Iterable[Mapping[str, Any]] = (),
) -> str:
    """SCHEMA, one RECORD per record, any `extra` messages, then a STATE (if given)."""
    messages: list[Mapping[str, Any]] = [schema_message(stream)]
    messages.extend(record_message(r, stream) for r in records)
    messages.extend(extra)
    if state is not None:
        messages.append({"type": "STATE", "value": dict(state)})
    return "".join(json.dumps(m) + "\n" for m in messages)


def config_for(api_url: str, **settings: Any) -> dict[str, Any]:
    """A target config for the emulator at `api_url`."""
    return {"api_key": KEY, "api_url": api_url, **settings}


def make_target(api_url: str, **settings: Any) -> TargetJumpCloud:
    """An in-process target with fast retries (no environment parsing)."""
    return TargetJumpCloud(
        config=config_for(api_url, **settings), parse_env_config=False, client_options=FAST_CLIENT
    )


def run_target(api_url: str, text: str, **settings: Any) -> TargetJumpCloud:
    """Feed `text` to a fresh target through `listen`; exceptions propagate."""
    target = make_target(api_url, **settings)
    target.listen(io.StringIO(text))
    return target


def fast_client(api_url: str, **options: Any) -> JumpCloudClient:
    """A client for the emulator with millisecond backoff."""
    merged = {**FAST_CLIENT, **options}
    return JumpCloudClient(api_url, KEY, **merged)


def seed_user(app: JumpCloudEmulator, username: str, email: str, **fields: Any) -> dict[str, Any]:
    """Add a JumpCloud user to the emulator directly (no request log entry)."""
    return app.add_user(username=username, email=email, **fields)


def list_requests(app: JumpCloudEmulator) -> int:
    """How many directory pages were requested (the key check's limit=1 GET not counted)."""
    return sum(
        1
        for entry in app.requests("GET", "/api/systemusers")
        if entry.query.get("limit") == ["100"] and "filter" not in entry.query
    )


def writes(app: JumpCloudEmulator) -> list[Any]:
    """Every write request the emulator served (POST/PUT/DELETE), faults included."""
    return [e for e in app.requests() if e.method in {"POST", "PUT", "DELETE", "PATCH"}]


def run_cli(
    config: Mapping[str, Any] | None,
    text: str,
    tmp_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    args: Iterable[str] = (),
) -> subprocess.CompletedProcess[str]:
    """Run `python -m target_jumpcloud` as a subprocess with `text` on stdin."""
    command = [sys.executable, "-m", "target_jumpcloud", *args]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        command += ["--config", str(path)]
    full_env = {
        key: value for key, value in os.environ.items() if not key.startswith("TARGET_JUMPCLOUD_")
    }
    full_env.update(env or {})
    return subprocess.run(
        command,
        input=text,
        capture_output=True,
        text=True,
        check=False,
        env=full_env,
        cwd=tmp_path,
        timeout=120,
    )


def reports_to(profile_id: str, first: str, last: str, manager: str | None, **extra: Any) -> dict:
    """A worker whose `direct_manager` is the profile `manager` (None: no manager)."""
    return person(
        profile_id, first, last, direct_manager={"id": manager} if manager else None, **extra
    )


def by_profile(app: JumpCloudEmulator) -> dict[str, dict[str, Any]]:
    """The emulator's users by profile id."""
    return {u["employeeIdentifier"]: u for u in app.users()}


def managers(app: JumpCloudEmulator) -> dict[str, str | None]:
    """Each user's manager, as the manager's profile id."""
    users = by_profile(app)
    profile_of = {u["_id"]: pid for pid, u in users.items()}
    return {pid: profile_of.get(u.get("manager", "")) for pid, u in users.items()}


def assert_three_levels_created_managers_first(app: JumpCloudEmulator) -> None:
    """p1 manages p2 and p3, who manage p4-p5 and p6-p7: linked, and each manager POSTed first."""
    assert managers(app) == {
        "p1": None,
        "p2": "p1",
        "p3": "p1",
        "p4": "p2",
        "p5": "p2",
        "p6": "p3",
        "p7": "p3",
    }
    order = [e.body["employeeIdentifier"] for e in app.requests("POST", "/api/systemusers")]
    assert order.index("p1") < min(order.index("p2"), order.index("p3"))
    assert max(order.index("p2"), order.index("p3")) < min(
        order.index(p) for p in ["p4", "p5", "p6", "p7"]
    )
