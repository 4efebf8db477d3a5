"""A real run report to review: the demo's two nightly syncs, in process, over loopback.

Both emulators run on ephemeral loopback ports with the demo's seeded workforce (300 workers,
seed 42). tap-deel reads Deel, target-jumpcloud syncs JumpCloud (a first sync creates
everyone), HR makes the demo's day of changes, one worker is renamed to a script-injection
attempt, an administrator links one JumpCloud user to another profile id by hand (so the
second sync has a conflict), and the second sync's report is what the review pages show.
"""

from __future__ import annotations

import contextlib
import io
import json
from typing import TYPE_CHECKING, Any

import requests

from tests.conftest import DEEL_TOKEN, JUMPCLOUD_KEY
from tests.demo import SEED, WORKERS, change_deel
from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.workforce import generate_workforce, work_email_of
from tests.tap_deel.tap_helpers import run_tap, tap_config
from tests.target_jumpcloud.target_io_helpers import run_target

if TYPE_CHECKING:
    from pathlib import Path

# The worker renamed by HR between the two syncs: markup in a name must show as text.
MALICIOUS_FIRST = "<script>alert(1)</script>"
MALICIOUS_LAST = '<img src=x onerror="alert(2)">'
MALICIOUS_FULL = f"{MALICIOUS_FIRST} {MALICIOUS_LAST}"


def _sync(deel_url: str, jumpcloud_url: str, report: Path) -> dict[str, Any]:
    lines = run_tap(tap_config(deel_url, api_token=DEEL_TOKEN), ["people"]).lines
    text = "".join(json.dumps(line) + "\n" for line in lines)
    run_target(jumpcloud_url, text, report_path=str(report))
    result: dict[str, Any] = json.loads(report.read_text(encoding="utf-8"))
    return result


def _rename_one(deel: DeelEmulator, taken: set[str]) -> str:
    """Give one active worker (not touched by the day's changes) the malicious name."""
    person = next(
        p
        for p in deel.people
        if p.get("hiring_status") == "active"
        and work_email_of(p)
        and (work_email_of(p) or "").lower() not in taken
        and p.get("first_name")
    )
    deel.update_person(
        person["id"],
        first_name=MALICIOUS_FIRST,
        last_name=MALICIOUS_LAST,
        full_name=MALICIOUS_FULL,
    )
    return str(person["id"])


def _relink_one(jumpcloud: JumpCloudEmulator, jumpcloud_url: str, taken: set[str]) -> str:
    """Set one untouched user's employeeIdentifier by hand, through the API: a conflict next."""
    user = next(u for u in jumpcloud.users() if str(u["email"]).lower() not in taken)
    response = requests.put(
        f"{jumpcloud_url}/systemusers/{user['_id']}",
        json={"employeeIdentifier": "legacy-0042"},
        headers={"x-api-key": JUMPCLOUD_KEY},
        timeout=10,
    )
    response.raise_for_status()
    return str(user["email"])


def make_review_report(folder: Path) -> tuple[Path, str]:
    """Run the two syncs; return the second run's report path and the renamed profile id."""
    folder.mkdir(parents=True, exist_ok=True)
    deel_app = DeelEmulator(token=DEEL_TOKEN)
    deel_app.set_workforce(generate_workforce(WORKERS, seed=SEED))
    deel_app.rate_limit_enabled = False
    jumpcloud_app = JumpCloudEmulator(api_key=JUMPCLOUD_KEY)
    with EmulatorServer(deel_app) as deel, EmulatorServer(jumpcloud_app) as jumpcloud:
        deel_url, jumpcloud_url = f"{deel.url}/rest/v2", f"{jumpcloud.url}/api"
        _sync(deel_url, jumpcloud_url, folder / "first-run.json")
        with contextlib.redirect_stdout(io.StringIO()):  # (the demo narrates its changes)
            touched = change_deel(deel.url)
        taken = {email.lower() for email in touched}
        renamed = _rename_one(deel_app, taken)
        taken.add((work_email_of(deel_app.get_person(renamed) or {}) or "").lower())
        _relink_one(jumpcloud_app, jumpcloud_url, taken)
        report = folder / "report.json"
        _sync(deel_url, jumpcloud_url, report)
    return report, renamed
