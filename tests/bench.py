"""`make bench`: the nightly sync measured against its floor (issue #7).

A run is bounded by the APIs, not by our code: Deel allows 5 requests per second and pages at
200 people, JumpCloud pages at 100 users. For each scenario this prints what the run cost
(Deel requests, JumpCloud reads and writes, wall seconds, peak memory of each CLI) next to the
floor the APIs impose, and whether the goal of the scenario is met.

How it measures:
- Both emulators run in a child process of their own (`EmulatorHost`), so serving pages never
  competes with the measured CLIs for a GIL. The child builds workforces, seeds the JumpCloud
  directory and applies HR changes when told to, over a pipe.
- The tap and the target run as the real installed CLIs, piped together as Meltano runs them
  (only the `people` stream selected, as `select: [people.*]` in meltano.yml).
- Peak memory is each CLI's own max RSS, read with `os.wait4` (per child, not cumulative).
- Wall seconds run from starting the tap until both processes have exited: interpreter start,
  imports, extraction, planning, the report and exit included.

Run `python -m tests.bench --help` for the options (a subset of scenarios, a smaller N).
`--service-account` runs the target as a JumpCloud service account (a Bearer token minted
once per run) instead of the API key; its rows are labelled so.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import itertools
import json
import math
import multiprocessing
import os
import platform
import random
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from target_jumpcloud.sync.directory import compared_fields
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, merge_mapping

from tests.emulators.base import EmulatorServer
from tests.emulators.notify_receiver import NotifyReceiver

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from multiprocessing.connection import Connection

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
TAP = BIN / "tap-deel"
TARGET = BIN / "target-jumpcloud"
DEEL_TOKEN = "deel-test-token"
JUMPCLOUD_KEY = "jc-test-key"
JUMPCLOUD_CLIENT = ("bench-service-account", "bench-client-secret")  # (--service-account)
SERVICE_ACCOUNT_LABEL = " (service account)"

DEEL_PAGE = 200  # people per Deel page (the tap's default and Deel's maximum)
DEEL_RATE = 5  # Deel's requests per second
JUMPCLOUD_PAGE = 100  # users per JumpCloud page
V2_JOBS = "/api/v2/bulk/userstates"  # JumpCloud's scheduled user states (docs/effective-dates.md)
# The effective-dates scenario (docs/effective-dates.md): its settings.
EFFECTIVE_SETTINGS = {"effective_dating": True, "activate_on_start_date": True}
APPLY_CONCURRENCY = 4  # the target's bounded write concurrency (target.APPLY_CONCURRENCY)
JUMPCLOUD_LATENCY = 0.030  # seconds per JumpCloud request in the rate-limited scenarios
UNLIMITED_PACE = 100_000  # the tap's max_requests_per_second when Deel's limit is off

RATE_LIMITED_SLACK = 1.15  # steady state and churn: wall <= 1.15 x floor
TAP_PACED_SLACK = 1.10  # the tap alone at 5 requests/s: wall <= 1.1 x floor
CPU_GOAL = 10_000  # records per second, whole pipeline, 100k, limits off
# The CPU scenario with alerts on may take this much longer (the VM's noise is ~15 %; loading
# Apprise's plugins costs ~0.4 s once).
ALERTS_SLACK = 1.15
ALERTS_FIXED_S = 0.5
TAP_CPU_GOAL = 5_000  # people per second, the tap alone, limits off
TARGET_RSS_GOAL_MB = 400.0
DEADLINE = 900.0  # seconds: no single CLI run may take longer (it is killed)
# The managers scenario (docs/directory-attributes.md): the manager and two custom attributes.
MANAGERS_MAPPING = {
    "manager": "direct_manager.id",
    "attributes.workerType": "hiring_type",
    "attributes.hiringStatus": "hiring_status",
}


# -- the emulators (two child processes) ---------------------------------------------------------


def _serve_emulator(conn: Connection, kind: str) -> None:
    """Serve one emulator in this (child) process and obey the parent's commands until told."""
    from tests.emulators.base import EmulatorServer
    from tests.emulators.deel import DeelEmulator
    from tests.emulators.jumpcloud import JumpCloudEmulator

    host: _DeelHost | _JumpCloudHost
    if kind == "deel":
        app: Any = DeelEmulator(token=DEEL_TOKEN, rate_limit=True)
    else:
        app = JumpCloudEmulator(api_key=JUMPCLOUD_KEY, service_accounts=dict([JUMPCLOUD_CLIENT]))
    with EmulatorServer(app) as server:
        host = _DeelHost(app, server.url) if kind == "deel" else _JumpCloudHost(app, server.url)
        conn.send(host.url)
        while True:
            try:
                command, kwargs = conn.recv()
            except EOFError:
                return
            if command == "stop":
                conn.send(("ok", None))
                return
            try:
                result = getattr(host, command)(**kwargs)
            except Exception as exc:  # reported to the parent, which raises it
                conn.send(("error", f"{type(exc).__name__}: {exc}"))
            else:
                conn.send(("ok", result))


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _DeelHost:
    """The commands the parent may send to the Deel emulator's process."""

    def __init__(self, deel: Any, root: str) -> None:
        self.deel = deel
        self.url = f"{root}/rest/v2"

    def workforce(
        self, n: int, seed: int, *, manager_quirks: bool = False, effective: bool = False
    ) -> dict[str, int]:
        """Serve a fresh workforce of `n` people, pre-serialised and with its query cached.

        `manager_quirks`: with the generator's awkward reporting lines (deeper chains,
        cycles, managers outside the workforce or without a work email). `effective`: with
        the generator's effective dates counted from today (2 % future starters, 1 % future
        leavers, 0.5 % past leavers Deel still lists as active; zones from everywhere).
        """
        import requests

        from tests.emulators.workforce import EffectiveDates, ManagerQuirks, generate_workforce

        quirks = ManagerQuirks() if manager_quirks else None
        dates = EffectiveDates(today=dt.datetime.now(dt.UTC).date()) if effective else None
        self.deel.set_workforce(
            generate_workforce(n, seed, manager_quirks=quirks, effective_dates=dates)
        )
        self.deel.prewarm()
        # One request in the shape the tap sends, so the sorted view is built now; then forget it.
        requests.get(
            f"{self.url}/people",
            params={"limit": "1", "sort_by": "id", "sort_order": "asc"},
            headers={"Authorization": f"Bearer {DEEL_TOKEN}"},
            timeout=60,
        ).raise_for_status()
        self.reset_logs()
        return {
            "people": len(self.deel.people),
            "creates": self.expected_creates(),
            **self.expected_manager_links(),
        }

    def _created_ids(self) -> set[str]:
        """The profile ids a first sync creates: the one active holder of each work email."""
        from tap_deel.derived import work_email
        from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

        holders: dict[str, list[dict[str, Any]]] = {}
        for person in self.deel.people:
            email = work_email(person)
            if email is not None:
                holders.setdefault(email.casefold(), []).append(person)
        created = set()
        for group in holders.values():
            active = [p for p in group if p.get("hiring_status") in DEFAULT_ACTIVE_HIRING_STATUSES]
            if len(active) == 1:
                created.add(str(active[0]["id"]))
        return created

    def expected_manager_links(self) -> dict[str, int]:
        """What a first sync with `manager` mapped must write, counted from the workforce.

        `links`: created users whose manager is created too (and is not themselves);
        `manager_cycles`: the cycles among them, each of which costs one follow-up PUT
        (docs/directory-attributes.md).
        """
        created = self._created_ids()
        manager_of: dict[str, str] = {}
        for person in self.deel.people:
            ref = person.get("direct_manager") or {}
            manager = ref.get("id")
            if person["id"] in created and manager in created and manager != person["id"]:
                manager_of[str(person["id"])] = str(manager)
        done: set[str] = set()
        cycles = 0
        for start in manager_of:
            walk: list[str] = []
            node: str | None = start
            while node is not None and node in manager_of and node not in done and node not in walk:
                walk.append(node)
                node = manager_of[node]
            if node is not None and node in walk:
                cycles += 1
            done.update(walk)
        return {"links": len(manager_of), "manager_cycles": cycles}

    def expected_creates(self) -> int:
        """How many users a first sync creates, counted from the workforce (docs/sync-rules.md).

        One per work email held by exactly one active worker; a shared email with another
        number of active holders, or no email, creates nothing. (The generated workforce has
        no other invalid record.)
        """
        from tap_deel.derived import work_email
        from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES

        active_by_email: Counter[str] = Counter()
        holders: Counter[str] = Counter()
        for person in self.deel.people:
            email = work_email(person)
            if email is None:
                continue
            key = email.casefold()
            holders[key] += 1
            if person.get("hiring_status") in DEFAULT_ACTIVE_HIRING_STATUSES:
                active_by_email[key] += 1
        return sum(1 for key in holders if active_by_email[key] == 1)

    def configure(self, *, rate_limit: bool, latency: float) -> None:
        self.deel.rate_limit_enabled = rate_limit
        self.deel.latency = latency

    def synced_users(self) -> list[dict[str, Any]]:
        """What a first sync of the current workforce would create in JumpCloud.

        The users are planned by the target's own pure planner against an empty directory,
        so a 100,000-user directory is seeded in seconds, not minutes of POSTs.
        """
        from tap_deel.derived import add_derived_fields
        from tap_deel.settings import DEFAULT_ACTIVE_HIRING_STATUSES
        from target_jumpcloud.model import ActionKind
        from target_jumpcloud.plan.build import PlanOptions, plan_sync
        from target_jumpcloud.sync.directory import Directory
        from target_jumpcloud.sync.mapping import map_record, merge_mapping

        active = frozenset(DEFAULT_ACTIVE_HIRING_STATUSES)
        mapping = merge_mapping(None)
        records = [
            map_record(add_derived_fields(dict(person), active), mapping, position)
            for position, person in enumerate(self.deel.people)
        ]
        plan = plan_sync(records, Directory(), PlanOptions())
        return [a.payload for a in plan.actions if a.kind is ActionKind.CREATE]

    def churn(
        self, *, linked: list[str], changed: int, terminated: int, new: int, seed: int
    ) -> dict[str, int]:
        """A day of HR changes; returns the writes the next sync must make.

        `changed` workers get a new job title or move to another department and team (one
        update each), `terminated` active workers leave (one suspension each), `new` people
        are hired (one create each). Only workers in `linked` (the profile ids of JumpCloud
        users that are not suspended), active and alone with their work email are changed,
        so each change is exactly one write.
        """
        from tests.emulators.workforce import promote, terminate, transfer, work_email_of

        rng = random.Random(seed)
        in_jumpcloud = set(linked)
        people = self.deel.people
        emails = Counter((work_email_of(p) or "").casefold() for p in people)
        candidates = [
            p
            for p in people
            if p["id"] in in_jumpcloud
            and p.get("hiring_status") == "active"
            and emails[(work_email_of(p) or "").casefold()] == 1
        ]
        if len(candidates) < changed + terminated:
            raise ValueError("not enough synced active workers to change")
        chosen = rng.sample(candidates, changed + terminated)
        workforce = self.deel.workforce
        for index, person in enumerate(chosen[:changed]):
            if index % 2 == 0:
                promote(person, f"Principal {person.get('job_title') or 'Specialist'}")
            else:
                current = (person.get("department") or {}).get("name")
                departments = [d for d in workforce.departments if d["name"] != current]
                team = rng.choice(workforce.teams)
                transfer(person, rng.choice(departments), team, workforce=workforce)
            self.deel.update_person(person["id"])
        for person in chosen[changed:]:
            terminate(person)
            self.deel.update_person(person["id"])
        for index in range(new):
            donor = rng.choice(people)
            self.deel.hire(donor["first_name"], rng.choice(people)["last_name"], seed + index)
        self.deel.prewarm()
        return {"update": changed + terminated, "create": new, "people": len(self.deel.people)}

    def groups_call(self, name: str, **kwargs: Any) -> Any:
        """A group scenario's command (tests/bench_groups.py), run in this emulator's process."""
        from tests import bench_groups

        return getattr(bench_groups, f"deel_{name}")(self, **kwargs)

    def move_last_days(self, *, moved: int, cancelled: int) -> list[str]:
        """HR moves future leavers' last days a week later and cancels terminations.

        Returns the profile ids of the `moved` ones.
        """
        from tests.emulators.workforce import primary_employment

        leavers = list(self.deel.workforce.effective.get("future_leavers", ()))
        if len(leavers) < moved + cancelled:
            raise ValueError("not enough future leavers to change")
        by_id = {p["id"]: p for p in self.deel.people}
        for index, person_id in enumerate(leavers[: moved + cancelled]):
            person = by_id[person_id]
            places = [person, primary_employment(person) or {}]
            fields = ("direct_employee_termination_last_day", "termination_last_day")
            for place, name in itertools.product(places, fields):
                if place.get(name):
                    day = dt.date.fromisoformat(str(place[name])[:10]) + dt.timedelta(days=7)
                    place[name] = f"{day.isoformat()}T00:00:00.000Z" if index < moved else None
            self.deel.update_person(person_id)
        self.deel.prewarm()
        return [str(person_id) for person_id in leavers[:moved]]

    def reset_logs(self) -> None:
        self.deel.reset_log()
        self.deel.reset_rate_limit()

    def counts(self) -> dict[str, Any]:
        deel = self.deel.requests()
        return {
            "deel_requests": len(deel),
            "deel_not_people": sum(1 for e in deel if not e.path.endswith("/people")),
            "people": len(self.deel.people),
            "cpu": _cpu_seconds(),
        }


class _JumpCloudHost:
    """The commands the parent may send to the JumpCloud emulator's process."""

    def __init__(self, jumpcloud: Any, root: str) -> None:
        self.jumpcloud = jumpcloud
        self.url = f"{root}/api"

    def configure(self, *, latency: float) -> None:
        self.jumpcloud.latency = latency

    def clear_directory(self) -> None:
        self.jumpcloud.clear()

    def set_users(self, users: list[dict[str, Any]]) -> int:
        self.jumpcloud.set_users(users)
        self.jumpcloud.prewarm(" ".join(compared_fields(DEFAULT_MAPPING)))  # what the target asks
        return int(self.jumpcloud.user_count)

    def prewarm(self, fields: list[str]) -> None:
        """Serialise every user's projection now, as a listing with these fields asks."""
        self.jumpcloud.prewarm(" ".join(fields))

    def manager_links(self) -> int:
        """How many users have a manager that is another existing user."""
        users = self.jumpcloud.users()
        ids = {u["_id"] for u in users}
        return sum(1 for u in users if u.get("manager") in ids and u["manager"] != u["_id"])

    def linked_profile_ids(self) -> list[str]:
        """The profile ids of the users that are not suspended."""
        return [
            str(user["employeeIdentifier"])
            for user in self.jumpcloud.users()
            if user.get("employeeIdentifier") and user.get("state") != "SUSPENDED"
        ]

    def reset_logs(self) -> None:
        self.jumpcloud.reset_log()

    def job_counts(self) -> dict[str, int]:
        """The V2 scheduled-state requests since the log reset, and the pending jobs.

        `post_floor`: one POST per (state, instant) for up to 100 users (the batch limit).
        """
        jobs = self.jumpcloud.jobs()
        per_pair = Counter((job["state"], job["scheduledDate"]) for job in jobs)
        logged = [e for e in self.jumpcloud.requests() if e.path.startswith(V2_JOBS)]
        return {
            "reads": sum(1 for e in logged if e.method == "GET"),
            "posts": sum(1 for e in logged if e.method == "POST"),
            "deletes": sum(1 for e in logged if e.method == "DELETE"),
            "jobs": len(jobs),
            "pairs": len(per_pair),
            "post_floor": sum(math.ceil(users / JUMPCLOUD_PAGE) for users in per_pair.values()),
            "suspended": sum(1 for u in self.jumpcloud.users() if u.get("state") == "SUSPENDED"),
        }

    def groups_call(self, name: str, **kwargs: Any) -> Any:
        """A group scenario's command (tests/bench_groups.py), run in this emulator's process."""
        from tests import bench_groups

        return getattr(bench_groups, f"jumpcloud_{name}")(self.jumpcloud, **kwargs)

    def job_pairs_of(self, profile_ids: list[str]) -> int:
        """Distinct (state, instant) among the jobs of these workers' users."""
        wanted = set(profile_ids)
        ids = {u["_id"] for u in self.jumpcloud.users() if u.get("employeeIdentifier") in wanted}
        return len(
            {
                (j["state"], j["scheduledDate"])
                for j in self.jumpcloud.jobs()
                if j["systemUserId"] in ids
            }
        )

    def counts(self) -> dict[str, Any]:
        jc = self.jumpcloud.requests()
        reads = [e for e in jc if e.method == "GET" or e.path.startswith("/api/search/")]
        return {
            "jc_reads": len(reads),
            "jc_requests": len(jc),
            "jc_writes": self.jumpcloud.write_count,
            "writes": self.jumpcloud.writes,
            "jc_users": self.jumpcloud.user_count,
            "cpu": _cpu_seconds(),
        }


class _Child:
    """One emulator's process, seen from the parent."""

    def __init__(self, kind: str) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve_emulator, args=(child, kind), name=f"bench-{kind}", daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(60):
            self._process.kill()
            raise RuntimeError(f"the {kind} emulator did not start within 60 s")
        self.url: str = self._conn.recv()
        self.kind = kind

    def call(self, command: str, **kwargs: Any) -> Any:
        self._conn.send((command, kwargs))
        if not self._conn.poll(600):
            raise RuntimeError(f"the {self.kind} emulator did not answer {command!r} in 600 s")
        status, result = self._conn.recv()
        if status != "ok":
            raise RuntimeError(f"{self.kind} emulator: {command}: {result}")
        return result

    def close(self) -> None:
        with contextlib.suppress(OSError, RuntimeError, EOFError):
            self.call("stop")
        self._process.join(10)
        if self._process.is_alive():
            self._process.kill()
            self._process.join(5)


class EmulatorHost:
    """Both emulators, each in a process of its own.

    One process per emulator: serving 1,000 JumpCloud pages to the target's listing threads
    must not hold up the Deel pages the tap waits for (one process has one GIL).
    """

    def __init__(self) -> None:
        self.deel = _Child("deel")
        try:
            self.jumpcloud = _Child("jumpcloud")
        except BaseException:
            self.deel.close()
            raise
        self.deel_url = self.deel.url
        self.jumpcloud_url = self.jumpcloud.url

    def workforce(
        self, n: int, seed: int, *, manager_quirks: bool = False, effective: bool = False
    ) -> dict[str, int]:
        return dict(
            self.deel.call(
                "workforce", n=n, seed=seed, manager_quirks=manager_quirks, effective=effective
            )
        )

    def configure(self, *, deel_rate_limit: bool, jc_latency: float) -> None:
        self.deel.call("configure", rate_limit=deel_rate_limit, latency=0.0)
        self.jumpcloud.call("configure", latency=jc_latency)

    def clear_directory(self) -> None:
        self.jumpcloud.call("clear_directory")

    def seed_directory(self) -> int:
        """JumpCloud as a first sync of the current workforce leaves it; returns its size."""
        return int(self.jumpcloud.call("set_users", users=self.deel.call("synced_users")))

    def churn(self, *, changed: int, terminated: int, new: int, seed: int) -> dict[str, int]:
        linked = self.jumpcloud.call("linked_profile_ids")
        return dict(
            self.deel.call(
                "churn",
                linked=linked,
                changed=changed,
                terminated=terminated,
                new=new,
                seed=seed,
            )
        )

    def reset_logs(self) -> None:
        self.deel.call("reset_logs")
        self.jumpcloud.call("reset_logs")

    def counts(self) -> dict[str, Any]:
        """Both emulators' counts; `cpu` is their CPU seconds so far, added up."""
        deel, jumpcloud = self.deel.call("counts"), self.jumpcloud.call("counts")
        return {**deel, **jumpcloud, "cpu": deel["cpu"] + jumpcloud["cpu"]}

    def close(self) -> None:
        self.jumpcloud.close()
        self.deel.close()

    def __enter__(self) -> EmulatorHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# -- running the CLIs ----------------------------------------------------------------------------


@dataclasses.dataclass
class Proc:
    """One finished CLI: exit code, peak memory and CPU seconds (user + system)."""

    code: int
    max_rss_mb: float
    cpu: float


@dataclasses.dataclass
class PipelineRun:
    """One measured run: wall seconds and both CLIs."""

    wall: float
    tap: Proc
    target: Proc | None
    records: int  # RECORD lines the tap emitted (tap-only runs), else worker records planned
    report: dict[str, Any] | None
    emulator_cpu: float = 0.0  # CPU seconds the emulator process spent during the run


class PeakRss:
    """Each child's own peak RSS (`VmHWM`), sampled from /proc every 5 ms while it runs.

    `ru_maxrss` from `wait4` overstates it: Linux carries the forking process's peak into
    the child across `exec`, so with a 100,000-worker workforce in this process (about
    480 MB) every child "peaked" at least there (the tap, 60 MB alone, read 477 MB). The
    high-water mark of the child's own memory only rises, so one sample after its peak is
    exact; a child gone before any sample falls back to `ru_maxrss`.
    """

    def __init__(self, *processes: subprocess.Popen[bytes]) -> None:
        self._pids = [p.pid for p in processes]
        self._peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="peak-rss", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            for pid in self._pids:
                with contextlib.suppress(OSError, ValueError):
                    status = Path(f"/proc/{pid}/status").read_text()
                    for line in status.splitlines():
                        if line.startswith("VmHWM:"):
                            mb = int(line.split()[1]) / 1024
                            self._peaks[pid] = max(mb, self._peaks.get(pid, 0.0))
            self._stop.wait(0.005)

    def peak_mb(self, pid: int) -> float | None:
        """The child's peak RSS in MB, once it has been reaped (None: never sampled)."""
        return self._peaks.get(pid)

    def stop(self) -> None:
        """Stop sampling (call after reaping every child)."""
        self._stop.set()
        self._thread.join()


def _wait(process: subprocess.Popen[bytes], deadline: float, peaks: PeakRss | None = None) -> Proc:
    """Reap one child with `os.wait4` (its own rusage, not the cumulative RUSAGE_CHILDREN).

    `peaks`: the child's own peak RSS, sampled (see `PeakRss`), instead of `ru_maxrss`.
    """
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.002)
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux.
    sampled = peaks.peak_mb(process.pid) if peaks is not None else None
    rss = sampled if sampled is not None else usage.ru_maxrss / 1024
    return Proc(process.returncode, rss, usage.ru_utime + usage.ru_stime)


class Workspace:
    """Config files, the catalog and the logs of the runs, in one temporary folder."""

    def __init__(self, folder: Path, host: EmulatorHost, *, service_account: bool = False) -> None:
        self.folder = folder
        self.host = host
        self.service_account = service_account
        self._catalog: Path | None = None
        self._runs = 0

    def write(self, name: str, value: Any) -> Path:
        path = self.folder / name
        path.write_text(json.dumps(value))
        return path

    def tap_config(self, *, paced: bool) -> Path:
        return self.write(
            f"tap-{'paced' if paced else 'unpaced'}.json",
            {
                "api_token": DEEL_TOKEN,
                "api_url": self.host.deel_url,
                "max_requests_per_second": DEEL_RATE if paced else UNLIMITED_PACE,
            },
        )

    def target_config(self, *, dry_run: bool, settings: dict[str, Any] | None = None) -> Path:
        credentials: dict[str, str] = {"api_key": JUMPCLOUD_KEY}
        if self.service_account:
            client_id, client_secret = JUMPCLOUD_CLIENT
            token_url = self.host.jumpcloud_url.removesuffix("/api") + "/oauth2/token"
            credentials = {
                "client_id": client_id,
                "client_secret": client_secret,
                "token_url": token_url,
            }
        return self.write(
            "target.json",
            {
                **credentials,
                "api_url": self.host.jumpcloud_url,
                "dry_run": dry_run,
                "report_path": str(self.folder / "report.json"),
                **(settings or {}),
            },
        )

    def catalog(self) -> Path:
        """The tap's discovered catalog with only `people` selected (as meltano.yml does)."""
        if self._catalog is None:
            found = subprocess.run(
                [str(TAP), "--config", str(self.tap_config(paced=True)), "--discover"],
                capture_output=True,
                check=True,
                timeout=120,
            )
            catalog = json.loads(found.stdout)
            for stream in catalog["streams"]:
                chosen = stream["tap_stream_id"] == "people"
                for entry in stream.get("metadata", []):
                    if entry.get("breadcrumb") == []:
                        entry["metadata"]["selected"] = chosen
            self._catalog = self.write("catalog.json", catalog)
        return self._catalog

    def _log(self, name: str) -> Path:
        self._runs += 1
        return self.folder / f"{self._runs:02d}-{name}.log"

    def run_tap(self, *, paced: bool) -> PipelineRun:
        """The tap alone, its output counted by `grep -c` (a C program, off the hot path)."""
        config, catalog = self.tap_config(paced=paced), self.catalog()
        log = self._log("tap")
        deadline = time.monotonic() + DEADLINE
        with log.open("wb") as err:
            started = time.perf_counter()
            tap = subprocess.Popen(
                [str(TAP), "--config", str(config), "--catalog", str(catalog)],
                stdout=subprocess.PIPE,
                stderr=err,
            )
            counter = subprocess.Popen(
                ["grep", "-c", "-F", '"type":"RECORD"'], stdin=tap.stdout, stdout=subprocess.PIPE
            )
            assert tap.stdout is not None
            tap.stdout.close()
            peaks = PeakRss(tap)
            tap_proc = _wait(tap, deadline, peaks)
            peaks.stop()
            wall = time.perf_counter() - started
            out, _ = counter.communicate(timeout=60)
        if tap_proc.code:
            raise RuntimeError(f"tap-deel exited {tap_proc.code}; see {log}:\n{_tail(log)}")
        return PipelineRun(wall, tap_proc, None, int(out.strip() or 0), None)

    def run_pipeline(
        self,
        *,
        paced: bool,
        dry_run: bool,
        settings: dict[str, Any] | None = None,
        target_exit: int = 0,
    ) -> PipelineRun:
        """`tap-deel | target-jumpcloud`, as Meltano runs them (`settings`: more target config).

        `target_exit`: the exit code the target is expected to end with (a tripped guard's).
        """
        tap_config, catalog = self.tap_config(paced=paced), self.catalog()
        target_config = self.target_config(dry_run=dry_run, settings=settings)
        report_path = self.folder / "report.json"
        report_path.unlink(missing_ok=True)
        tap_log, target_log = self._log("tap"), self._log("target")
        deadline = time.monotonic() + DEADLINE
        with tap_log.open("wb") as tap_err, target_log.open("wb") as target_err:
            started = time.perf_counter()
            tap = subprocess.Popen(
                [str(TAP), "--config", str(tap_config), "--catalog", str(catalog)],
                stdout=subprocess.PIPE,
                stderr=tap_err,
            )
            target = subprocess.Popen(
                [str(TARGET), "--config", str(target_config)],
                stdin=tap.stdout,
                stdout=subprocess.DEVNULL,
                stderr=target_err,
            )
            assert tap.stdout is not None
            tap.stdout.close()
            peaks = PeakRss(tap, target)  # (after both `exec`s: Popen returns once done)
            tap_proc = _wait(tap, deadline, peaks)
            target_proc = _wait(target, deadline, peaks)
            peaks.stop()
            wall = time.perf_counter() - started
        if tap_proc.code:
            raise RuntimeError(f"tap-deel exited {tap_proc.code}; see {tap_log}:\n{_tail(tap_log)}")
        if target_proc.code != target_exit:
            raise RuntimeError(
                f"target-jumpcloud exited {target_proc.code}; see {target_log}:\n"
                f"{_tail(target_log)}"
            )
        report = json.loads(report_path.read_text())
        return PipelineRun(wall, tap_proc, target_proc, len(report["records"]), report)


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# -- scenarios -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Row:
    """One line of the table."""

    scenario: str
    n: int
    deel: int
    deel_floor: int
    jc_reads: int | None
    jc_reads_floor: int | None
    jc_writes: int | None
    jc_writes_floor: int | None
    wall: float
    floor_s: float | None
    records: int
    tap_rss: float
    target_rss: float | None
    cpu: tuple[float, float | None, float]  # CPU seconds: tap, target, emulators
    goal: str
    ok: bool

    @property
    def ratio(self) -> float | None:
        return self.wall / self.floor_s if self.floor_s else None

    @property
    def rate(self) -> float:
        return self.records / self.wall if self.wall > 0 else 0.0


def pages(count: int, size: int) -> int:
    """Requests needed to list `count` items `size` at a time (an empty list still costs one)."""
    return max(1, math.ceil(count / size))


def deel_seconds(requests: int) -> float:
    """The Deel floor in seconds: requests at 5 per second."""
    return requests / DEEL_RATE


def write_seconds(writes: int) -> float:
    """Writes at 30 ms each, `APPLY_CONCURRENCY` at a time."""
    return writes * JUMPCLOUD_LATENCY / APPLY_CONCURRENCY


def _row(
    scenario: str,
    n: int,
    result: PipelineRun,
    counts: dict[str, Any],
    *,
    floors: tuple[int, int | None, int | None],
    floor_s: float | None,
    goal: str,
    ok: bool,
) -> Row:
    """A table row from one run; `ok` is the goal check, the request counts are added here."""
    deel_floor, reads_floor, writes_floor = floors
    pipeline = result.target is not None
    ok = ok and counts["deel_requests"] == deel_floor
    if pipeline:
        ok = ok and counts["jc_reads"] == reads_floor and counts["jc_writes"] == writes_floor
    return Row(
        scenario=scenario,
        n=n,
        deel=counts["deel_requests"],
        deel_floor=deel_floor,
        jc_reads=counts["jc_reads"] if pipeline else None,
        jc_reads_floor=reads_floor,
        jc_writes=counts["jc_writes"] if pipeline else None,
        jc_writes_floor=writes_floor,
        wall=result.wall,
        floor_s=floor_s,
        records=result.records,
        tap_rss=result.tap.max_rss_mb,
        target_rss=result.target.max_rss_mb if result.target else None,
        cpu=(
            result.tap.cpu,
            result.target.cpu if result.target else None,
            result.emulator_cpu,
        ),
        goal=goal,
        ok=ok,
    )


class Bench:
    """Runs the scenarios against one emulator host and collects the rows."""

    def __init__(self, workspace: Workspace, *, repeat: int, echo: Callable[[str], None]) -> None:
        self.ws = workspace
        self.host = workspace.host
        self.repeat = max(1, repeat)
        self.echo = echo
        self.rows: list[Row] = []

    def _add(self, row: Row) -> Row:
        if self.ws.service_account and row.jc_reads is not None:  # (the target ran)
            row = dataclasses.replace(row, scenario=row.scenario + SERVICE_ACCOUNT_LABEL)
        self.rows.append(row)
        verdict = "ok" if row.ok else "MISSED"
        tap_cpu, target_cpu, emulator_cpu = row.cpu
        self.echo(
            f"  {row.scenario} N={row.n:,}: {row.wall:.2f} s, {row.rate:,.0f} rec/s, "
            f"Deel {row.deel}/{row.deel_floor}, JC reads {row.jc_reads}/{row.jc_reads_floor}, "
            f"writes {row.jc_writes}/{row.jc_writes_floor}; RSS tap {row.tap_rss:.0f} MB, "
            f"target {row.target_rss or 0:.0f} MB; CPU s tap {tap_cpu:.2f}, "
            f"target {target_cpu or 0:.2f}, emulators {emulator_cpu:.2f} -> {verdict} ({row.goal})"
        )
        return row

    def _measure(
        self, run: Callable[[], PipelineRun], *, repeat: bool = False
    ) -> tuple[PipelineRun, dict[str, Any]]:
        """Run once, or `repeat` times for a CPU-bound scenario and keep the median by wall."""
        results = []
        for _ in range(self.repeat if repeat else 1):
            self.host.reset_logs()
            before = float(self.host.counts()["cpu"])
            result = run()
            counts = self.host.counts()
            result.emulator_cpu = float(counts["cpu"]) - before
            results.append((result, counts))
            if repeat and self.repeat > 1:
                self.echo(
                    f"    run {len(results)}/{self.repeat}: {result.wall:.2f} s "
                    f"(CPU s tap {result.tap.cpu:.2f}, "
                    f"target {result.target.cpu if result.target else 0:.2f}, "
                    f"emulators {result.emulator_cpu:.2f})"
                )
        results.sort(key=lambda pair: pair[0].wall)
        return results[len(results) // 2]

    def _configure(self, *, rate_limit: bool, jc_latency: float) -> None:
        self.host.configure(deel_rate_limit=rate_limit, jc_latency=jc_latency)

    def workforce(
        self, n: int, seed: int, *, manager_quirks: bool = False, effective: bool = False
    ) -> dict[str, int]:
        quirks = ", with manager quirks" if manager_quirks else ""
        quirks += ", with effective dates" if effective else ""
        self.echo(f"building a workforce of {n:,} people (seed {seed}{quirks})...")
        return self.host.workforce(n, seed, manager_quirks=manager_quirks, effective=effective)

    def tap_alone(self, n: int, *, paced: bool) -> Row:
        """The tap alone: at 5 requests/s it should sit on the floor; unpaced, >= 5,000/s."""
        self._configure(rate_limit=paced, jc_latency=0.0)
        result, counts = self._measure(lambda: self.ws.run_tap(paced=paced), repeat=not paced)
        floor = pages(n, DEEL_PAGE)
        if paced:
            return self._add(
                _row(
                    "tap alone, 5 req/s",
                    n,
                    result,
                    counts,
                    floors=(floor, None, None),
                    floor_s=deel_seconds(floor),
                    goal=f"<= {TAP_PACED_SLACK:g} x floor",
                    ok=result.wall <= TAP_PACED_SLACK * deel_seconds(floor) and result.records == n,
                )
            )
        return self._add(
            _row(
                "tap alone, limits off",
                n,
                result,
                counts,
                floors=(floor, None, None),
                floor_s=None,
                goal=f">= {TAP_CPU_GOAL:,} people/s",
                ok=n / result.wall >= TAP_CPU_GOAL and result.records == n,
            )
        )

    def first_sync(self, n: int, creates: int) -> Row:
        """Empty directory: exactly one create per valid active worker, nothing else."""
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        self.host.clear_directory()
        result, counts = self._measure(lambda: self.ws.run_pipeline(paced=True, dry_run=False))
        deel_floor = pages(n, DEEL_PAGE)
        return self._add(
            _row(
                "first sync",
                n,
                result,
                counts,
                floors=(deel_floor, 1, creates),
                floor_s=deel_seconds(deel_floor) + write_seconds(creates),
                goal="writes = one create per valid active worker",
                ok=counts["writes"] == {"create": creates},
            )
        )

    def steady(
        self,
        n: int,
        *,
        scenario: str = "steady state",
        settings: dict[str, Any] | None = None,
    ) -> Row:
        """Nothing changed: 0 writes, listing and extraction overlap, wall near the Deel floor.

        `settings`: more target config (a mapping with managers, say), its fields prewarmed.
        """
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        if settings and "mapping" in settings:
            fields = compared_fields(merge_mapping(settings["mapping"]))
            self.host.jumpcloud.call("prewarm", fields=fields)
        users = int(self.host.counts()["jc_users"])
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=True, dry_run=False, settings=settings)
        )
        deel_floor = pages(n, DEEL_PAGE)
        floor_s = deel_seconds(deel_floor)
        return self._add(
            _row(
                scenario,
                n,
                result,
                counts,
                floors=(deel_floor, pages(users, JUMPCLOUD_PAGE), 0),
                floor_s=floor_s,
                goal=f"<= {RATE_LIMITED_SLACK:g} x floor, 0 writes",
                ok=result.wall <= RATE_LIMITED_SLACK * floor_s,
            )
        )

    def churn(self, n: int, seed: int) -> Row:
        """2% changed, 0.5% terminated, 0.5% new since the last sync: writes = the changes."""
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        users = int(self.host.counts()["jc_users"])
        changed, terminated, new = round(n * 0.02), round(n * 0.005), round(n * 0.005)
        expected = self.host.churn(changed=changed, terminated=terminated, new=new, seed=seed)
        people = int(expected.pop("people"))
        result, counts = self._measure(lambda: self.ws.run_pipeline(paced=True, dry_run=False))
        writes = changed + terminated + new
        deel_floor = pages(people, DEEL_PAGE)
        goal_s = RATE_LIMITED_SLACK * deel_seconds(deel_floor) + write_seconds(writes)
        return self._add(
            _row(
                "churn",
                people,
                result,
                counts,
                floors=(deel_floor, pages(users, JUMPCLOUD_PAGE), writes),
                floor_s=deel_seconds(deel_floor) + write_seconds(writes),
                goal=f"<= {RATE_LIMITED_SLACK:g} x Deel floor + writes ({goal_s:.2f} s)",
                ok=result.wall <= goal_s
                and counts["writes"] == {k: v for k, v in expected.items() if v},
            )
        )

    def effective_first(self, n: int) -> Row:
        """Effective dating turned on over an in-step directory: the jobs are made.

        V2 reads: one (no job yet); schedule POSTs: one per (state, instant) and 100 users;
        no DELETE; the other writes are the suspensions of past leavers Deel still lists.
        """
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        users = int(self.host.counts()["jc_users"])
        suspended_before = int(self.host.jumpcloud.call("job_counts")["suspended"])
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=True, dry_run=False, settings=EFFECTIVE_SETTINGS)
        )
        jobs = self.host.jumpcloud.call("job_counts")
        suspensions = int(jobs["suspended"]) - suspended_before
        writes = int(jobs["post_floor"]) + suspensions
        deel_floor = pages(n, DEEL_PAGE)
        return self._add(
            _row(
                "effective dates, first run",
                n,
                result,
                counts,
                floors=(deel_floor, pages(users, JUMPCLOUD_PAGE) + 1, writes),
                floor_s=deel_seconds(deel_floor) + write_seconds(writes),
                goal=(
                    f"{jobs['jobs']} jobs: V2 reads {jobs['reads']}/1, POSTs {jobs['posts']} <= "
                    f"{jobs['post_floor']} ((state, instant) pairs {jobs['pairs']}), "
                    f"DELETEs {jobs['deletes']}/0, {suspensions} past leavers suspended"
                ),
                ok=jobs["reads"] == 1
                and jobs["posts"] <= jobs["post_floor"]
                and jobs["deletes"] == 0
                and jobs["jobs"] > 0,
            )
        )

    def effective_steady(self, n: int) -> Row:
        """Effective dating on, nothing changed: 0 writes (no V2 POST or DELETE either).

        The V2 list sends no total, so N jobs are read in N // 100 + 1 pages (the last one
        short, or empty when N is a multiple of 100), one more than ceil(N / 100) then.
        """
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        users = int(self.host.counts()["jc_users"])
        pending = int(self.host.jumpcloud.call("job_counts")["jobs"])
        v2_pages = pending // JUMPCLOUD_PAGE + 1
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=True, dry_run=False, settings=EFFECTIVE_SETTINGS)
        )
        jobs = self.host.jumpcloud.call("job_counts")
        deel_floor = pages(n, DEEL_PAGE)
        floor_s = deel_seconds(deel_floor)
        return self._add(
            _row(
                "effective dates, steady state",
                n,
                result,
                counts,
                floors=(deel_floor, pages(users, JUMPCLOUD_PAGE) + v2_pages, 0),
                floor_s=floor_s,
                goal=(
                    f"<= {RATE_LIMITED_SLACK:g} x floor, 0 writes; {pending} jobs: V2 reads "
                    f"{jobs['reads']}/{v2_pages} (ceil(jobs/100) = "
                    f"{math.ceil(pending / JUMPCLOUD_PAGE)})"
                ),
                ok=result.wall <= RATE_LIMITED_SLACK * floor_s and jobs["reads"] == v2_pages,
            )
        )

    def effective_changes(self, n: int, *, moved: int, cancelled: int) -> Row:
        """Last days moved a week later and terminations cancelled (docs/effective-dates.md).

        DELETEs = the cancellations (the old half of each move included); POSTs <= one per
        new (state, instant).
        """
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        users = int(self.host.counts()["jc_users"])
        pending = int(self.host.jumpcloud.call("job_counts")["jobs"])
        moved_ids = self.host.deel.call("move_last_days", moved=moved, cancelled=cancelled)
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=True, dry_run=False, settings=EFFECTIVE_SETTINGS)
        )
        jobs = self.host.jumpcloud.call("job_counts")
        pairs = int(self.host.jumpcloud.call("job_pairs_of", profile_ids=moved_ids))
        deletes = moved + cancelled
        deel_floor = pages(n, DEEL_PAGE)
        goal_s = RATE_LIMITED_SLACK * deel_seconds(deel_floor) + write_seconds(deletes + pairs)
        return self._add(
            _row(
                "effective dates, changes",
                n,
                result,
                counts,
                floors=(
                    deel_floor,
                    pages(users, JUMPCLOUD_PAGE) + pending // JUMPCLOUD_PAGE + 1,
                    deletes + pairs,
                ),
                floor_s=deel_seconds(deel_floor) + write_seconds(deletes + pairs),
                goal=(
                    f"{moved} last days moved, {cancelled} cancelled: DELETEs "
                    f"{jobs['deletes']}/{deletes}, POSTs {jobs['posts']} <= {pairs} new "
                    f"(state, instant); <= {RATE_LIMITED_SLACK:g} x Deel floor + writes "
                    f"({goal_s:.2f} s)"
                ),
                ok=jobs["deletes"] == deletes and jobs["posts"] <= pairs and result.wall <= goal_s,
            )
        )

    def first_sync_managers(self, n: int, built: dict[str, int]) -> Row:
        """Empty directory, `manager` and two custom attributes mapped: one write per user.

        The workforce has the generator's manager quirks, cycles included: writes are the
        creates plus one follow-up PUT per cycle among the new users
        (docs/directory-attributes.md), and
        every user whose manager was created has it.
        """
        self._configure(rate_limit=True, jc_latency=JUMPCLOUD_LATENCY)
        self.host.clear_directory()
        settings = {"mapping": MANAGERS_MAPPING}
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=True, dry_run=False, settings=settings)
        )
        creates, cycles = built["creates"], built["manager_cycles"]
        expected = {"create": creates, **({"update": cycles} if cycles else {})}
        links = int(self.host.jumpcloud.call("manager_links"))
        deel_floor = pages(n, DEEL_PAGE)
        return self._add(
            _row(
                "first sync, managers",
                n,
                result,
                counts,
                floors=(deel_floor, 1, creates + cycles),
                floor_s=deel_seconds(deel_floor) + write_seconds(creates + cycles),
                goal=(
                    f"writes = creates + 1 PUT per cycle ({cycles}); "
                    f"{built['links']:,} manager links"
                ),
                ok=counts["writes"] == expected and links == built["links"],
            )
        )

    def cpu(self, n: int, *, scenario: str = "CPU, dry run, limits off") -> Row:
        """Limits off, no latency, dry run against an in-sync directory: our code's speed."""
        self._configure(rate_limit=False, jc_latency=0.0)
        users = self.host.seed_directory()
        result, counts = self._measure(
            lambda: self.ws.run_pipeline(paced=False, dry_run=True), repeat=True
        )
        target_rss = result.target.max_rss_mb if result.target else 0.0
        goal, ok = "requests = floor", result.records == n
        if n >= 100_000:  # the goal is stated for 100k
            goal = f">= {CPU_GOAL:,} rec/s, target <= {TARGET_RSS_GOAL_MB:.0f} MB"
            ok = ok and n / result.wall >= CPU_GOAL and target_rss <= TARGET_RSS_GOAL_MB
        return self._add(
            _row(
                scenario,
                n,
                result,
                counts,
                floors=(pages(n, DEEL_PAGE), pages(users, JUMPCLOUD_PAGE), 0),
                floor_s=None,
                goal=goal,
                ok=ok,
            )
        )

    def cpu_alerts(self, n: int, cpu_row: Row | None) -> Row:
        """The CPU scenario with `metrics_path` and `notify` set: what alerts cost (docs/alerts.md).

        Each run starts after a "problem" status, so it sends one recovery message to a
        loopback JSON webhook (the whole send path, Apprise included) and writes the metrics
        file; the goal is the CPU row's speed, within the VM's noise.
        """
        self._configure(rate_limit=False, jc_latency=0.0)
        users = self.host.seed_directory()
        metrics = self.ws.folder / "target-jumpcloud.prom"
        state = self.ws.folder / "notify.json"
        with EmulatorServer(NotifyReceiver()) as receiver:
            hook = f"json://127.0.0.1:{receiver.port}/hooks/bench"
            settings = {
                "metrics_path": str(metrics),
                "notify": [hook],
                "notify_state_path": str(state),
            }

            def run() -> PipelineRun:
                state.write_text(json.dumps({"status": "problem", "outcome": "bench"}))
                return self.ws.run_pipeline(paced=False, dry_run=True, settings=settings)

            result, counts = self._measure(run, repeat=True)
            sent = len(receiver.app.messages())
        runs = self.repeat
        ok = result.records == n and sent == runs and metrics.exists()
        goal = f"records = N, {runs} messages, metrics file"
        if cpu_row is not None:
            slack = cpu_row.wall * ALERTS_SLACK + ALERTS_FIXED_S
            goal += f", wall <= {ALERTS_SLACK:g} x CPU row + {ALERTS_FIXED_S:g} s"
            ok = ok and result.wall <= slack
        return self._add(
            _row(
                "CPU, dry run, metrics + notify",
                n,
                result,
                counts,
                floors=(pages(n, DEEL_PAGE), pages(users, JUMPCLOUD_PAGE), 0),
                floor_s=None,
                goal=goal,
                ok=ok,
            )
        )


# -- the table -----------------------------------------------------------------------------------

HEADERS = (
    "scenario",
    "N",
    "Deel req (floor)",
    "JC reads (floor)",
    "JC writes (floor)",
    "wall s",
    "floor s",
    "ratio",
    "rec/s",
    "tap MB",
    "target MB",
    "CPU s tap/target/emu",
    "goal",
    "met",
)


def _pair(value: int | None, floor: int | None) -> str:
    if value is None:
        return "-"
    return f"{value:,} ({floor:,})" if floor is not None else f"{value:,}"


def table_cells(row: Row) -> list[str]:
    """The row as text cells, in `HEADERS` order."""
    return [
        row.scenario,
        f"{row.n:,}",
        _pair(row.deel, row.deel_floor),
        _pair(row.jc_reads, row.jc_reads_floor),
        _pair(row.jc_writes, row.jc_writes_floor),
        f"{row.wall:.2f}",
        f"{row.floor_s:.2f}" if row.floor_s else "-",
        f"{row.ratio:.3f}" if row.ratio else "-",
        f"{row.rate:,.0f}",
        f"{row.tap_rss:.0f}",
        f"{row.target_rss:.0f}" if row.target_rss is not None else "-",
        "/".join("-" if c is None else f"{c:.1f}" for c in row.cpu),
        row.goal,
        "yes" if row.ok else "NO",
    ]


def render_text(rows: Sequence[Row]) -> str:
    """A fixed-width table for the terminal."""
    cells = [list(HEADERS), *(table_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def render_markdown(rows: Sequence[Row]) -> str:
    """The same table in Markdown (for BENCHMARKS.md)."""
    right = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
    lines = [
        "| " + " | ".join(HEADERS) + " |",
        "|" + "|".join("---:" if i in right else "---" for i in range(len(HEADERS))) + "|",
    ]
    lines.extend("| " + " | ".join(table_cells(r)) + " |" for r in rows)
    return "\n".join(lines)


def scaling_lines(rows: Sequence[Row]) -> list[str]:
    """Per-record cost of the scaling runs: time and memory should grow linearly."""
    scaled = sorted((r for r in rows if r.scenario.startswith("scaling")), key=lambda r: r.n)
    if len(scaled) < 2:
        return []
    lines = ["scaling (dry run, limits off): each step against the one before"]
    for small, big in itertools.pairwise(scaled):
        grow = big.n / small.n
        lines.append(
            f"  N {small.n:,} -> {big.n:,} (x{grow:g}): wall +{big.wall - small.wall:.2f} s "
            f"= {1e6 * (big.wall - small.wall) / (big.n - small.n):.0f} us per extra record; "
            f"target RSS +{(big.target_rss or 0) - (small.target_rss or 0):.0f} MB "
            f"= {1e3 * ((big.target_rss or 0) - (small.target_rss or 0)) / (big.n - small.n):.2f}"
            f" kB per extra record; tap RSS {small.tap_rss:.0f} -> {big.tap_rss:.0f} MB"
        )
    return lines


def speed_index() -> float:
    """Seconds for a fixed slice of Python work (JSON, loops): the machine's speed right now.

    Printed before and after the run: on a shared virtual machine it drifts, and every figure
    of the table drifts with it.
    """
    items = [{"n": n, "text": "x" * 20, "list": [1, 2, 3]} for n in range(2000)]
    started = time.perf_counter()
    for _ in range(20):
        json.loads(json.dumps(items))
    sum(range(3_000_000))
    return time.perf_counter() - started


def machine() -> dict[str, str]:
    """CPU model, cores, Python and date, for BENCHMARKS.md."""
    model = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "cpu": model,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "platform": platform.platform(),
    }


# -- main ----------------------------------------------------------------------------------------

SCENARIOS = (
    "tap",
    "sync",
    "managers",
    "effective",
    "scaling",
    "cpu",
    "alerts",
    "groups",
    "groups-cpu",
)
# `run` takes SCENARIOS; `main` adds the receiver's (tests/bench_webhooks.py), the plan
# files' and review pages' (tests/bench_plan.py) and the leavers' (tests/bench_leavers.py).
ALL_SCENARIOS = (*SCENARIOS, "webhooks", "plan", "leavers")


def run(
    *,
    n_sync: int = 10_000,
    n_cpu: int = 100_000,
    scaling: Sequence[int] = (1_000, 10_000),
    scenarios: Sequence[str] = SCENARIOS,
    repeat: int = 3,
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
    service_account: bool = False,
) -> list[Row]:
    """Run the chosen scenarios and return their rows (also used by the smoke test)."""
    with contextlib.ExitStack() as stack:
        host = stack.enter_context(EmulatorHost())
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        workdir.mkdir(parents=True, exist_ok=True)
        workspace = Workspace(workdir, host, service_account=service_account)
        bench = Bench(workspace, repeat=repeat, echo=echo)
        if "tap" in scenarios or "sync" in scenarios:
            built = bench.workforce(n_sync, seed=7)
            if "tap" in scenarios:
                bench.tap_alone(n_sync, paced=True)
            if "sync" in scenarios:
                bench.first_sync(n_sync, built["creates"])
                bench.steady(n_sync)
                bench.churn(n_sync, seed=11)
        if "managers" in scenarios:
            built = bench.workforce(n_sync, seed=7, manager_quirks=True)
            bench.first_sync_managers(n_sync, built)
            bench.steady(
                n_sync,
                scenario="steady state, managers",
                settings={"mapping": MANAGERS_MAPPING},
            )
        if (
            "effective" in scenarios
        ):  # effective dates (docs/effective-dates.md, docs/effective-dates.md)
            bench.workforce(n_sync, seed=7, effective=True)
            host.seed_directory()
            bench.effective_first(n_sync)
            bench.effective_steady(n_sync)
            changed = max(1, n_sync // 1000)  # 10 of 10,000: a tenth of the future leavers
            bench.effective_changes(n_sync, moved=changed, cancelled=changed)
        if "scaling" in scenarios:
            for n in scaling:
                bench.workforce(n, seed=n)
                bench.cpu(n, scenario="scaling")
        if "groups" in scenarios or "groups-cpu" in scenarios:  # docs/groups.md
            from tests.bench_groups import run_groups

            run_groups(bench, scenarios, n_sync=n_sync, n_cpu=n_cpu)
        if {"cpu", "tap", "alerts"} & set(scenarios):
            _cpu_group(bench, n_cpu, scenarios)
        return bench.rows


def _cpu_group(bench: Bench, n_cpu: int, scenarios: Sequence[str]) -> None:
    """The scenarios on the big unpaced workforce: tap alone, CPU, CPU with alerts."""
    bench.workforce(n_cpu, seed=3)
    if "tap" in scenarios:
        bench.tap_alone(n_cpu, paced=False)
    row = None
    if "cpu" in scenarios:
        row = bench.cpu(n_cpu)
        if "scaling" in scenarios:
            bench.rows.append(dataclasses.replace(row, scenario="scaling"))
    if "alerts" in scenarios:
        bench.cpu_alerts(n_cpu, row)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the table; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--n-sync", type=int, default=10_000, help="N of the 5 req/s scenarios")
    parser.add_argument("--n-cpu", type=int, default=100_000, help="N of the CPU scenario")
    parser.add_argument(
        "--only", choices=ALL_SCENARIOS, action="append", help="run only these (repeatable)"
    )
    parser.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help="the same as --only, e.g. managers or webhooks",
    )
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs per CPU-bound scenario (median kept)"
    )
    parser.add_argument("--markdown", type=Path, help="also write the table here (Markdown)")
    parser.add_argument("--workdir", type=Path, help="keep configs, logs and reports here")
    parser.add_argument(
        "--service-account",
        action="store_true",
        help="authenticate the target as a JumpCloud service account instead of the API key",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.scenarios) - set(ALL_SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario {unknown[0]!r}: choose from {', '.join(ALL_SCENARIOS)}")
    started = time.monotonic()
    info = machine()
    print(f"machine: {info['cpu']}, {info['cores']} cores, Python {info['python']}, {info['date']}")
    before = speed_index()
    print(f"speed index before: {before:.3f} s (lower is faster; see speed_index)")
    chosen = tuple((args.only or []) + list(args.scenarios)) or ALL_SCENARIOS
    core = tuple(name for name in chosen if name in SCENARIOS)
    rows = run(
        n_sync=args.n_sync,
        n_cpu=args.n_cpu,
        scenarios=core,
        repeat=args.repeat,
        workdir=args.workdir,
        service_account=args.service_account,
    ) if core else []  # fmt: skip
    webhook_rows = []
    if "webhooks" in chosen:  # the receiver's rows (issue #16): tests/bench_webhooks.py
        from tests import bench_webhooks

        webhook_rows = bench_webhooks.run(
            workdir=args.workdir / "webhooks" if args.workdir else None
        )
    print()
    if rows:
        print(render_text(rows))
    for line in scaling_lines(rows):
        print(line)
    if webhook_rows:
        print(bench_webhooks.render(webhook_rows))
    plan_missed = []
    if "plan" in chosen:  # plan files and review pages (issue 15)
        from tests import bench_plan

        plan_rows = bench_plan.run(args.n_cpu)
        print()
        print("\n".join(bench_plan.render(plan_rows)))
        plan_missed = [f"{r.scenario} N={r.n}: {r.goal}" for r in plan_rows if not r.ok]
    if "leavers" in chosen:  # out of scope and leaver steps (issue 22)
        from tests import bench_leavers

        leaver_rows = bench_leavers.run()
        print()
        print("\n".join(bench_leavers.render(leaver_rows)))
        plan_missed += [f"{r.scenario} N={r.n}: {r.goal}" for r in leaver_rows if not r.ok]
    print(f"speed index after: {speed_index():.3f} s (before: {before:.3f} s)")
    print(f"\nbench total: {time.monotonic() - started:.0f} s")
    if args.markdown:
        text = render_markdown(rows) + "\n\n" + "\n".join(scaling_lines(rows)) + "\n"
        args.markdown.write_text(text)
    missed = [r for r in rows if not r.ok]
    for row in missed:
        print(f"goal missed: {row.scenario} N={row.n}: {row.goal}")
    for webhook_row in webhook_rows:
        if not webhook_row.ok:
            print(f"goal missed: {webhook_row.scenario}: {webhook_row.value} ({webhook_row.goal})")
    for line in plan_missed:
        print(f"goal missed: {line}")
    return 1 if missed or plan_missed or not all(r.ok for r in webhook_rows) else 0


if __name__ == "__main__":
    sys.exit(main())
