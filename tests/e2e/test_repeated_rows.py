"""A profile listed twice by Deel: the tap emits both rows, the target applies the last.

Offset paging while HR edits the data is how this happens for real: a hire sorted first
shifts page two by one row, so the last person of page one comes again, with the edit made
in between. The later copy is the fresher one, and it must win.
"""

from __future__ import annotations

import copy
import io
import json
from collections import Counter
from typing import Any

from tests.emulators.workforce import generate_workforce, work_email_of
from tests.tap_deel.tap_helpers import run_tap, tap_config
from tests.target_jumpcloud.target_io_helpers import make_target

PAGE = 50


def test_the_last_copy_of_a_repeated_profile_is_the_one_applied(
    deel_emulator, deel_api_url, jumpcloud_emulator, jumpcloud_api_url, monkeypatch
):
    deel = deel_emulator.app
    workforce = generate_workforce(120, seed=23)
    deel.set_workforce(workforce)
    people = sorted(
        (p for p in workforce.people if p["hiring_status"] == "active" and work_email_of(p)),
        key=lambda p: p["id"],
    )
    by_id = sorted(workforce.people, key=lambda p: p["id"])
    moved = by_id[PAGE - 1]  # the last row of page one
    assert moved in people, "the seeded workforce should make the boundary person active"
    newcomer = copy.deepcopy(workforce.people[0])
    newcomer["id"] = "00000000-0000-4000-8000-000000000000"  # sorts first
    original = deel._list_people
    served = []

    def list_people(request: Any) -> Any:
        response = original(request)
        served.append(request.query)
        if len(served) == 1:  # HR edits between the tap's first and second page
            deel.add_person(newcomer)
            deel.update_person(moved["id"], job_title="Head of Repeats")
        return response

    monkeypatch.setattr(
        deel,
        "routes",
        [(m, p, list_people if p.pattern.endswith("/people/?") else h) for m, p, h in deel.routes],
    )
    emitted = run_tap(tap_config(deel_api_url, page_size=PAGE), ["people"])
    assert Counter(emitted.ids("people"))[moved["id"]] == 2  # the tap keeps both rows

    text = "".join(json.dumps(line) + "\n" for line in emitted.lines)
    target = make_target(jumpcloud_api_url)
    target.listen(io.StringIO(text))
    (user,) = jumpcloud_emulator.app.find_users(employeeIdentifier=moved["id"])
    assert user["jobTitle"] == "Head of Repeats"
    assert target.sync_run.report is not None
    entries = [
        r for r in target.sync_run.report.to_json()["records"] if r["deel_id"] == moved["id"]
    ]
    assert sorted(e["outcome"] for e in entries) == ["created", "skipped"]
    (skipped,) = (e for e in entries if e["outcome"] == "skipped")
    assert skipped["reason"] == "superseded by a later record with the same profile id"
