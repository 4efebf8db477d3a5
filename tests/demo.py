"""`make demo`: two nightly syncs through Meltano against the local emulators.

It starts both emulators with a seeded workforce, runs `meltano run deel-to-jumpcloud` (the
first sync creates everyone), changes Deel the way HR does in a day (a promotion, a transfer,
a termination, a new hire whose name collides, a worker with no work email), runs the job
again, prints each run's summary and the resulting directory and writes the review page of the
second run next to its report. Groups from HR data (`groups_demo_*`): the rules `All staff`,
`Dept - {department}` and `{location} office` make the first sync create and fill the
groups, an administrator then adds someone to a group by hand, the transfer moves a worker
between department groups, and the hand-made membership survives. Then it loads the same
Deel into `output/deel.duckdb` (`meltano run deel-to-duckdb`) and prints one of the
data-stack queries. Then `leavers_demo`: a worker deleted in Deel is reported as out of scope
on the next run and suspended on the one after (`out_of_scope: suspend`). Last, the webhook
receiver (`webhook_demo`): a termination in Deel is delivered as an event and suspends the
user within seconds. At its end (`alerts_demo`), a run with a conflict sends one
notification to a loopback webhook the demo starts, and the run's metrics file is printed.
Then it stops the emulators.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import unicodedata
from collections import Counter
from pathlib import Path
from typing import Any

import duckdb
import requests

from tests import data_stack
from tests.emulators.base import EmulatorServer
from tests.emulators.notify_receiver import NotifyReceiver
from tests.emulators.workforce import new_hire, primary_employment, work_email_of

ROOT = Path(__file__).resolve().parent.parent
DEEL_PORT = 47180  # the `dev` environment of meltano.yml points here
JUMPCLOUD_PORT = 47181
DEEL_TOKEN = "deel-test-token"  # the emulators' own test credentials, not real secrets
JUMPCLOUD_KEY = "jc-test-key"
WORKERS = 300
SEED = 42
REPORT = ROOT / "output" / "jumpcloud-report.json"
DUCKDB = ROOT / "output" / "deel.duckdb"  # the `dev` environment's target-duckdb path
DEMO_QUERY = "without_work_email"
DEFAULT_DETAIL = {"created": "new user", "suspended": "terminated in Deel"}
# Reasons that repeat every night and are summarised as counts rather than listed.
REPEATING_REASONS = ("inactive and not in JumpCloud", "no work email (work_email is empty)")
# Groups from HR data (docs/groups.md): the demo's rules, and the groups summary.
GROUP_RULES = [
    {"group": "All staff"},
    {"group": "Dept - {department}"},
    {"group": "{location} office"},
]
# Effective dates: a STAGED user whose start date has passed is reported every night.
STILL_STAGED = "the user is still STAGED; left to the administrator"


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"demo: nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def port_is_free(port: int) -> bool:
    """True when no process holds 127.0.0.1:port."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def meltano_run(job: str, env: dict[str, str]) -> float:
    """`meltano run JOB`; its seconds. A failed run prints its output's tail and stops the demo."""
    started = time.monotonic()
    result = subprocess.run(
        ["meltano", "run", job], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        print(result.stdout[-4000:], result.stderr[-4000:], sep="\n")
        raise SystemExit(f"demo: meltano run {job} failed with exit code {result.returncode}")
    return time.monotonic() - started


def run_job(title: str, env: dict[str, str]) -> dict[str, Any]:
    """Run the Meltano job once and return the target's JSON report."""
    print(f"\n=== {title}: meltano run deel-to-jumpcloud ===", flush=True)
    REPORT.unlink(missing_ok=True)
    elapsed = meltano_run("deel-to-jumpcloud", env)
    report: dict[str, Any] = json.loads(REPORT.read_text())
    counts = ", ".join(f"{name} {count}" for name, count in report["counts"].items() if count)
    print(f"finished in {elapsed:.1f} s: {counts}")
    quiet = Counter(
        f"{r['outcome']}: {r['reason']}"
        for r in report["records"]
        if r["outcome"] == "skipped" and r["reason"] in REPEATING_REASONS
    )
    quiet.update(
        f"unchanged: start date passed and {STILL_STAGED}"
        for r in report["records"]
        if r["outcome"] == "unchanged" and STILL_STAGED in (r["reason"] or "")
    )
    for what, count in sorted(quiet.items()):
        print(f"  {count:>4} x {what}")
    list_creates = report["counts"]["created"] <= 20  # a first sync creates everyone: no list
    for record in report["records"]:
        if record["outcome"] == "unchanged" and not record.get("reason"):
            continue
        if record["outcome"] == "created" and not list_creates:
            continue
        if record["outcome"] == "skipped" and record["reason"] in REPEATING_REASONS:
            continue
        if record["outcome"] == "unchanged" and STILL_STAGED in (record["reason"] or ""):
            continue
        changes = record.get("changes") or {}
        detail = "; ".join(f"{k}: {v[0]!r} → {v[1]!r}" for k, v in changes.items())
        who = record.get("username") or record.get("email") or f"Deel {record['deel_id']}"
        what = record.get("reason") or detail or DEFAULT_DETAIL.get(record["outcome"], "")
        print(f"  {record['outcome']:<10} {who}: {what}")
        if record.get("reason") and detail:
            print(f"  {'':<10} {detail}")
    for record in report["records"]:  # effective dates (docs/effective-dates.md)
        who = record.get("username") or record.get("email") or f"Deel {record['deel_id']}"
        for line in record.get("schedule") or []:
            print(f"  {line['change']:<10} {who}: {line['state']} job at {line['at']}")
    return report


def add_dated_workers(deel_url: str) -> None:
    """A future starter (in Lagos) and a worker whose last day is ahead (in New York).

    With effective dating on (the demo's environment), the first sync schedules the one's
    activation and the other's suspension in JumpCloud, and the second keeps both jobs.
    """
    people = requests.get(f"{deel_url}/_emulator/people", timeout=10).json()
    today = dt.datetime.now(dt.UTC).date()
    starter = new_hire(people, "Adaeze", "Okafor", SEED + 3)
    start = (today + dt.timedelta(days=10)).isoformat()
    for part in (starter, primary_employment(starter) or {}):
        part.update(start_date=start, timezone="Africa/Lagos")
    requests.post(f"{deel_url}/_emulator/people", json=starter, timeout=10).raise_for_status()
    leaver = next(
        p for p in reversed(people) if p.get("hiring_status") == "active" and work_email_of(p)
    )
    last = f"{(today + dt.timedelta(days=5)).isoformat()}T00:00:00.000Z"
    requests.patch(
        f"{deel_url}/_emulator/people/{leaver['id']}",
        json={"direct_employee_termination_last_day": last, "timezone": "EST"},
        timeout=10,
    ).raise_for_status()
    print("\n=== Effective dates in Deel ===")
    print(f"  future starter: {starter['full_name']} starts {start} (Africa/Lagos)")
    print(f"  leaver: {leaver['full_name']}, last day {last[:10]} (EST), still active in Deel")


def change_deel(deel_url: str) -> set[str]:
    """Make one day of HR changes in the Deel emulator; return the work emails touched."""
    people = requests.get(f"{deel_url}/_emulator/people", timeout=10).json()
    emails = Counter((work_email_of(p) or "").lower() for p in people)
    active = [
        p
        for p in people
        if p.get("hiring_status") == "active"
        and work_email_of(p)
        and emails[(work_email_of(p) or "").lower()] == 1
    ]
    promoted, transferred, leaver = active[0], active[1], active[2]
    touched = {work_email_of(p) or "" for p in (promoted, transferred, leaver)}

    def act(person: dict[str, Any], action: str, body: dict[str, Any], what: str) -> None:
        response = requests.post(
            f"{deel_url}/_emulator/people/{person['id']}/{action}", json=body, timeout=10
        )
        response.raise_for_status()
        print(f"  {what}: {person['full_name']}")

    print("\n=== HR changes in Deel ===")
    act(
        promoted,
        "promote",
        {"job_title": f"Senior {promoted.get('job_title') or 'Engineer'}"},
        "promotion",
    )
    target = next(
        p
        for p in people
        if p.get("department")
        and p["department"] != transferred.get("department")
        and (primary_employment(p) or {}).get("team")
    )
    team = (primary_employment(target) or {})["team"]
    act(
        transferred,
        "transfer",
        {"department": target["department"]["name"], "team": team["name"]},
        f"transfer to {target['department']['name']} / {team['name']}",
    )
    act(leaver, "terminate", {}, "termination")
    twin = new_hire(people, promoted["first_name"], promoted["last_name"], SEED + 1)
    requests.post(f"{deel_url}/_emulator/people", json=twin, timeout=10).raise_for_status()
    print(f"  new hire whose name collides: {twin['full_name']}")
    touched.add(work_email_of(twin) or "")
    no_email = new_hire(people, "Noor", "Haddad", SEED + 2, with_work_email=False)
    requests.post(f"{deel_url}/_emulator/people", json=no_email, timeout=10).raise_for_status()
    print(f"  new hire without a work email: {no_email['full_name']}")
    return touched


def print_directory(jumpcloud_url: str, touched: set[str]) -> None:
    """Print the JumpCloud directory as a table; rows the second run touched are marked."""
    users = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10).json()
    users.sort(key=lambda u: u["username"])
    columns = ("username", "name", "state", "department", "costCenter")
    rows = [
        (
            u["username"],
            u.get("displayname") or "",
            u.get("state") or "",
            u.get("department") or "",
            u.get("costCenter") or "",
            "  ← changed today" if (u.get("email") or "").lower() in touched else "",
        )
        for u in users
    ]
    widths = [max(width(columns[i]), *(width(r[i]) for r in rows)) for i in range(len(columns))]
    print(f"\n=== JumpCloud directory ({len(users)} users) ===")
    print("  ".join(pad(c, w) for c, w in zip(columns, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for row in rows:
        print("  ".join(pad(v, w) for v, w in zip(row[:-1], widths, strict=True)) + row[-1])


# -- groups from HR data (docs/groups.md) ---------------------------------------------------------


def _jumpcloud_users(jumpcloud_url: str) -> list[dict[str, Any]]:
    """Every user, each with `_emulator.groups` (the names of the groups it is in)."""
    answer = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10)
    users: list[dict[str, Any]] = answer.json()
    return users


def groups_demo_after_first_sync(jumpcloud_url: str) -> tuple[str, str]:
    """Print the groups the first sync made; then an administrator adds someone by hand.

    The someone is a worker outside Engineering, added to `Dept - Engineering` through the
    API as the admin console would. Returns (their username, the group).
    """
    groups = requests.get(f"{jumpcloud_url}/_emulator/groups", timeout=10).json()
    print(f"\n=== Groups from HR data: the first sync made {len(groups)} groups ===")
    for group in sorted(groups, key=lambda g: (-len(g["members"]), g["name"])):
        print(f"  {len(group['members']):>4} members  {group['name']}")
    engineering = next(g for g in groups if g["name"] == "Dept - Engineering")
    outsider = next(
        u
        for u in _jumpcloud_users(jumpcloud_url)
        if u.get("department") not in {None, "Engineering"} and u["state"] != "SUSPENDED"
    )
    requests.post(
        f"{jumpcloud_url}/api/v2/usergroups/{engineering['id']}/members",
        json={"op": "add", "type": "user", "id": outsider["_id"]},
        headers={"x-api-key": JUMPCLOUD_KEY},
        timeout=10,
    ).raise_for_status()
    print(
        f"  an administrator adds {outsider['username']} ({outsider.get('department')}) "
        "to 'Dept - Engineering' by hand"
    )
    return outsider["username"], engineering["name"]


def groups_demo_after_second_sync(
    jumpcloud_url: str, touched: set[str], by_hand: tuple[str, str]
) -> None:
    """Print the groups of the workers HR changed today, and the hand-made membership."""
    users = _jumpcloud_users(jumpcloud_url)
    print("\n=== Groups from HR data: after the second sync ===")
    for user in users:
        if (user.get("email") or "").lower() in {e.lower() for e in touched}:
            names = ", ".join(sorted(user["_emulator"]["groups"])) or "(none)"
            if user["state"] == "SUSPENDED":  # (docs/groups.md: the leaver steps' to remove)
                names += "  (suspended: no group change by the rules)"
            print(f"  {user['username']:<28} {user.get('department') or '':<17} {names}")
    username, group = by_hand
    kept = any(u["username"] == username and group in u["_emulator"]["groups"] for u in users)
    verdict = "still there: the sync only removes memberships it made" if kept else "GONE"
    print(f"  {username} in {group!r} (added by hand): {verdict}")


def load_into_duckdb(env: dict[str, str]) -> None:
    """Load every Deel stream into a fresh output/deel.duckdb and print one documented query."""
    print("\n=== Data stack: meltano run deel-to-duckdb ===", flush=True)
    DUCKDB.unlink(missing_ok=True)
    elapsed = meltano_run("deel-to-duckdb", env)
    with duckdb.connect(str(DUCKDB), read_only=True) as connection:
        names = connection.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'tap_deel'"
            " ORDER BY table_name"
        ).fetchall()
        counts = {}
        for (name,) in names:
            query = f'SELECT count(*) FROM tap_deel."{name}"'  # noqa: S608 - a listed table
            counts[name] = connection.execute(query).fetchall()[0][0]
        answer = data_stack.run_query(connection, DEMO_QUERY, None)
    rows = ", ".join(f"{name} {count}" for name, count in counts.items())
    print(f"finished in {elapsed:.1f} s: {DUCKDB.relative_to(ROOT)} holds {rows}")
    print(f"\nActive workers without a work email (docs/sql/{DEMO_QUERY}.sql):")
    print(data_stack.markdown_table(answer))
    print("Four more questions answered in SQL: docs/data-stack.md")


def width(text: str) -> int:
    """Columns a terminal gives `text`: wide East Asian characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def pad(text: str, columns: int) -> str:
    """`text` left-aligned in `columns` terminal columns."""
    return text + " " * (columns - width(text))


def main() -> None:
    """Run the demo end to end and always stop the emulators."""
    if shutil.which("meltano") is None:
        raise SystemExit("demo: meltano is not on PATH; run it through `make demo`")
    for port in (DEEL_PORT, JUMPCLOUD_PORT):
        if not port_is_free(port):
            raise SystemExit(f"demo: port {port} is in use; stop whatever holds it and retry")
    emulators = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.emulators",
            "--deel-port",
            str(DEEL_PORT),
            "--jumpcloud-port",
            str(JUMPCLOUD_PORT),
            "--workers",
            str(WORKERS),
            "--seed",
            str(SEED),
        ],
        cwd=ROOT,
    )
    try:
        wait_for_port(DEEL_PORT)
        wait_for_port(JUMPCLOUD_PORT)
        deel_url = f"http://127.0.0.1:{DEEL_PORT}"
        jumpcloud_url = f"http://127.0.0.1:{JUMPCLOUD_PORT}"
        env = {
            **os.environ,
            "MELTANO_ENVIRONMENT": "dev",
            "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
            "TARGET_JUMPCLOUD_API_KEY": JUMPCLOUD_KEY,
            # Effective dates (docs/effective-dates.md): jobs on the start date and last day.
            "TARGET_JUMPCLOUD_EFFECTIVE_DATING": "true",
            "TARGET_JUMPCLOUD_ACTIVATE_ON_START_DATE": "true",
            # Groups from HR data (docs/groups.md)
            "TARGET_JUMPCLOUD_GROUP_RULES": json.dumps(GROUP_RULES),
            "TARGET_JUMPCLOUD_CREATE_MISSING_GROUPS": "true",
        }
        print(
            f"Emulators up: Deel {deel_url} ({WORKERS} workers, seed {SEED}), "
            f"JumpCloud {jumpcloud_url} (empty)"
        )
        add_dated_workers(deel_url)
        run_job("First sync", env)
        by_hand = groups_demo_after_first_sync(jumpcloud_url)
        touched = change_deel(deel_url)
        run_job("Second sync", env)
        groups_demo_after_second_sync(jumpcloud_url, touched, by_hand)
        print_directory(jumpcloud_url, {email.lower() for email in touched})
        print(f"\nThe last run's full report: {REPORT.relative_to(ROOT)}")
        page = REPORT.with_suffix(".html")  # written by the run (review_html in meltano.yml)
        print(f"Its review page (open it in a browser): {page.relative_to(ROOT)}")
        load_into_duckdb(env)
        leavers_demo(deel_url, jumpcloud_url, env)
        webhook_demo(deel_url, jumpcloud_url, env)
        alerts_demo(jumpcloud_url, env)
    finally:
        emulators.send_signal(signal.SIGTERM)
        try:
            emulators.wait(timeout=10)
        except subprocess.TimeoutExpired:
            emulators.kill()
            emulators.wait()
    print("Emulators stopped.")


# -- leavers: accounts Deel no longer lists (docs/leavers.md) ----------------------------------


def leavers_demo(deel_url: str, jumpcloud_url: str, env: dict[str, str]) -> None:
    """A worker deleted in Deel: reported on the next run, suspended on the one after.

    The job's tap ends its complete listing with ACTIVATE_VERSION, so the target knows the
    account is no longer backed by Deel; with `out_of_scope: suspend` (and the default
    `out_of_scope_after: 2`) the first run counts it and the second suspends it.
    """
    gone = pick_leaver(deel_url, jumpcloud_url)
    requests.delete(f"{deel_url}/_emulator/people/{gone['id']}", timeout=10).raise_for_status()
    print(f"\n=== Leavers: {gone['full_name']} is deleted in Deel (never terminated) ===")
    leaver_env = {**env, "TARGET_JUMPCLOUD_OUT_OF_SCOPE": "suspend"}
    for title in ("Next sync", "The sync after"):
        REPORT.unlink(missing_ok=True)
        elapsed = meltano_run("deel-to-jumpcloud", leaver_env)
        report: dict[str, Any] = json.loads(REPORT.read_text())
        directory = report["directory"]
        listed = "complete" if directory["complete_input"] else "not complete"
        print(f"{title} ({elapsed:.1f} s): Deel's listing was {listed}")
        for user in directory["out_of_scope"]:
            why = user.get("reason") or f"missed {user['missed_runs']} complete listing(s)"
            print(f"  out of scope  {user['username']}: {user['action']} ({why})")
            for step in user.get("leaver_steps") or []:
                print(f"  leaver step   {step['step']}: {step['result']}")
    users = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10).json()
    (account,) = [u for u in users if u.get("employeeIdentifier") == gone["id"]]
    print(f"  {account['username']} is now {account['state']} in JumpCloud")


# -- the webhook receiver (docs/webhooks.md) -------------------------------------------------------


def webhook_demo(deel_url: str, jumpcloud_url: str, env: dict[str, str]) -> None:
    """A termination reaches JumpCloud in seconds: Deel's event -> deel-webhooks -> the job.

    The receiver listens on a free loopback port; the webhook is registered with Deel's own
    `POST /webhooks`; HR terminates a worker in the Deel emulator, which delivers the signed
    `worker.v2.updated` event; the receiver runs `meltano run deel-to-jumpcloud` for that one
    person, and the demo prints how long it took until JumpCloud showed the user suspended.
    """
    print("\n=== Event-driven sync: deel-webhooks ===")
    state = ROOT / "output" / "webhooks-demo"
    shutil.rmtree(state, ignore_errors=True)
    state.mkdir(parents=True)
    key = secrets.token_hex(24)  # this run's signing key, never printed
    receiver_env = {
        **env,
        "DEEL_WEBHOOKS_SIGNING_KEY": key,
        "DEEL_WEBHOOKS_PORT": "0",
        "DEEL_WEBHOOKS_STATE_DIR": str(state),
        "DEEL_WEBHOOKS_DEBOUNCE_SECONDS": "1",
    }
    log_path = state.parent / "webhooks-demo.log"
    with log_path.open("wb") as log:
        receiver = subprocess.Popen(
            [str(Path(sys.executable).parent / "deel-webhooks")],
            cwd=ROOT, env=receiver_env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        port = wait_for_state_port(state / "receiver.json", receiver)
        url = f"http://127.0.0.1:{port}/webhooks/deel"
        print(f"receiver listening on {url} (debounce 1 s, sync: meltano run deel-to-jumpcloud)")
        requests.post(
            f"{deel_url}/rest/v2/webhooks",
            headers={"Authorization": f"Bearer {DEEL_TOKEN}"},
            json={"name": "JumpCloud sync", "description": "make demo", "status": "enabled",
                  "url": url, "signing_key": key, "api_version": "v2",
                  "events": ["worker.v2.updated"]},
            timeout=10,
        ).raise_for_status()  # fmt: skip
        print("webhook registered with Deel: POST /webhooks, events worker.v2.updated")
        leaver = pick_leaver(deel_url, jumpcloud_url)
        started = time.monotonic()
        requests.post(
            f"{deel_url}/_emulator/people/{leaver['id']}/terminate", json={}, timeout=10
        ).raise_for_status()
        print(f"HR terminates {leaver['full_name']} in Deel; Deel delivers the signed event")
        seconds = wait_for_suspension(jumpcloud_url, leaver["id"], started)
        print(
            f"JumpCloud shows {leaver['full_name']} SUSPENDED {seconds:.1f} s after the termination"
        )
    finally:
        receiver.send_signal(signal.SIGTERM)
        try:
            receiver.wait(timeout=120)
        except subprocess.TimeoutExpired:
            receiver.kill()
            receiver.wait()
    for line in log_path.read_text(errors="replace").splitlines():
        if " delivery " in line or " sync id=" in line:
            print("  " + line.split(" deel-webhooks ", 1)[-1])
    print(f"receiver log: {log_path.relative_to(ROOT)}")


def wait_for_state_port(path: Path, receiver: subprocess.Popen[bytes], timeout: float = 60) -> int:
    """The port the receiver bound, from its state file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if receiver.poll() is not None:
            raise SystemExit(f"demo: deel-webhooks exited with code {receiver.returncode}")
        if path.exists():
            return int(json.loads(path.read_text())["port"])
        time.sleep(0.05)
    raise SystemExit("demo: deel-webhooks did not start listening")


def pick_leaver(deel_url: str, jumpcloud_url: str) -> dict[str, Any]:
    """An active worker with a JumpCloud account and a work email nobody else has."""
    people = requests.get(f"{deel_url}/_emulator/people", timeout=10).json()
    users = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10).json()
    active_users = {u.get("employeeIdentifier") for u in users if u.get("state") != "SUSPENDED"}
    emails = Counter((work_email_of(p) or "").lower() for p in people)
    return next(
        p
        for p in people
        if p.get("hiring_status") == "active"
        and p["id"] in active_users
        and emails[(work_email_of(p) or "").lower()] == 1
    )


def wait_for_suspension(jumpcloud_url: str, person_id: str, started: float) -> float:
    """Seconds from `started` until the person's JumpCloud user is SUSPENDED."""
    while time.monotonic() - started < 300:
        users = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10).json()
        if any(
            u.get("employeeIdentifier") == person_id and u.get("state") == "SUSPENDED"
            for u in users
        ):
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit("demo: the user was not suspended within 300 s")


# -- alerts and metrics (docs/alerts.md) -----------------------------------------------------------

METRICS = ROOT / "output" / "target-jumpcloud.prom"  # the `dev` environment's metrics_path
NOTIFY_STATE = ROOT / "output" / "target-jumpcloud-notify.json"  # its notify_state_path


def make_conflict(jumpcloud_url: str) -> str:
    """Link one synced JumpCloud user to another profile id, as a slip in the console would.

    The next sync finds the worker's work email held by a user linked to someone else: a
    conflict, which it leaves alone and a person must resolve. Returns the user's email.
    """
    users = requests.get(f"{jumpcloud_url}/_emulator/users", timeout=10).json()
    user = next(
        u
        for u in sorted(users, key=lambda u: u["username"])
        if u.get("state") != "SUSPENDED" and u.get("employeeIdentifier") and u.get("email")
    )
    requests.put(
        f"{jumpcloud_url}/api/systemusers/{user['_id']}",
        headers={"x-api-key": JUMPCLOUD_KEY},
        json={"employeeIdentifier": f"{user['employeeIdentifier']}-typo"},
        timeout=10,
    ).raise_for_status()
    return str(user["email"])


def alerts_demo(jumpcloud_url: str, env: dict[str, str]) -> None:
    """A run with a conflict reaches a person: one message to a loopback webhook, and metrics.

    The webhook stands in for Slack (Apprise's `json://` URL, given as the secret setting
    `notify` from the environment, as in production). The run's metrics file, written for
    node_exporter's textfile collector, is printed as Prometheus would read it.
    """
    print("\n=== Alerts and metrics: a run with a conflict ===", flush=True)
    NOTIFY_STATE.unlink(missing_ok=True)
    with EmulatorServer(NotifyReceiver()) as receiver:
        hook = f"json://127.0.0.1:{receiver.port}/hooks/{secrets.token_hex(8)}"
        email = make_conflict(jumpcloud_url)
        print(f"JumpCloud: the user of {email} is linked to another profile id by mistake")
        print(f"notify: one loopback webhook on port {receiver.port} (its URL is a secret)")
        run_job("Third sync", {**env, "TARGET_JUMPCLOUD_NOTIFY": json.dumps([hook])})
        messages = receiver.app.messages()
    print(f"\nThe webhook received {len(messages)} message(s):")
    for message in messages:
        print(f"  [{message['type']}] {message['title']}")
        for line in message["message"].splitlines():
            print(f"    {line}")
    print(f"\nThe run's metrics file ({METRICS.relative_to(ROOT)}):")
    for line in METRICS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("# HELP"):
            print(f"  {line}")
    print("Alerting rules for these metrics: docs/alerts/target-jumpcloud.rules.yml")


if __name__ == "__main__":
    main()
