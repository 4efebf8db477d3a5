"""The reliability harness: the real CLIs, piped, against the emulators, and what to compare.

Every suite in this package drives the installed `tap-deel` and `target-jumpcloud` programs as
subprocesses (`tap-deel --config tap.json | target-jumpcloud --config target.json`, two
processes joined by an OS pipe, talking to the emulators over loopback) and judges a run by
JumpCloud's end state:

* a *fingerprint* of the directory: one tuple per user (profile id, username, email, state,
  suspended flag, every mapped attribute), plus the number of users per profile id and per
  email, so a duplicate shows even where the emulator's uniqueness rules would not catch it;
* the *reference*: the fingerprint that a clean run (no fault, no kill) of the same scenario
  produces, computed once per scenario with the same programs.

A faulted, killed or retried run must end in exactly the reference. Every run uses sentinel
credentials, and everything a run wrote (stdout, stderr, the report, any other file in its
working directory) is scanned for them and for Python tracebacks. A `world` built with
`service_account=True` runs the target with a JumpCloud service account instead of the key:
the scan then also covers the client secret's Basic form and every token the emulator
granted (they start with `SENTINEL-jctoken`). Counters in `STATS` feed the
figures printed at the end of the session (see conftest.py).
"""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple

from tests.emulators.base import EmulatorServer, Fault, Request, Response
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.emulators.workforce import (
    Workforce,
    generate_workforce,
    promote,
    terminate,
    transfer,
    work_email_of,
)
from tests.target_jumpcloud.target_io_helpers import PEOPLE_SCHEMA

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence

# -- credentials, programs, limits -------------------------------------------------------------

SENTINEL_DEEL_TOKEN = "SENTINEL-deel-7f3a9c"
SENTINEL_JC_KEY = "SENTINEL-jc-51e0b2"
#: The service account: its id is no secret; its secret, and the Basic value made of both, are.
JC_CLIENT_ID = "svc-reliability-sync"
SENTINEL_JC_SECRET = "SENTINEL-jcsecret-3f9a61"
SENTINEL_JC_BASIC = base64.b64encode(f"{JC_CLIENT_ID}:{SENTINEL_JC_SECRET}".encode()).decode()
SENTINEL_TOKEN_PREFIX = "SENTINEL-jctoken"  # the start of every token the emulator grants
SENTINELS = (SENTINEL_DEEL_TOKEN, SENTINEL_JC_KEY, SENTINEL_JC_SECRET, SENTINEL_JC_BASIC)

BIN = Path(sys.executable).parent
TAP = str(BIN / "tap-deel")
TARGET = str(BIN / "target-jumpcloud")

#: Computed backoff waits in the subprocesses are scaled by this (the plugins' test knob
#: TAP_DEEL_BACKOFF_SCALE / TARGET_JUMPCLOUD_BACKOFF_SCALE): 1 s becomes 10 ms, so a run with
#: hundreds of retries stays short. Retry-After is honoured as sent, so fault plans send small
#: ones.
BACKOFF_SCALE = "0.01"
RUN_TIMEOUT = 180.0  # seconds for one whole run; a hang fails the test instead of the session
TRACEBACK = "Traceback (most recent call last)"
DROP = object()  # a settings value that removes the key from the generated config

#: The JumpCloud attributes the default mapping fills (email and employeeIdentifier apart).
MAPPED = (
    "firstname",
    "lastname",
    "displayname",
    "jobTitle",
    "department",
    "location",
    "costCenter",
    "employeeType",
    "company",
)

# -- figures -----------------------------------------------------------------------------------

#: Session totals, printed at the end of the run by conftest.py.
STATS: Counter[str] = Counter()
_STATS_LOCK = threading.Lock()


def tally(name: str, amount: int = 1) -> None:
    """Add `amount` to one of the session figures."""
    with _STATS_LOCK:
        STATS[name] += amount


# -- emulators with a hook ---------------------------------------------------------------------


class HookedDeel(DeelEmulator):
    """The Deel emulator; `hook(request, response)` runs before each API answer is sent."""

    hook: Callable[[Request, Response | None], None] | None = None

    def dispatch(self, request: Request) -> tuple[Response | None, Fault | None]:
        response, fault = super().dispatch(request)
        hook = self.hook
        if hook is not None and not request.path.startswith("/_emulator/"):
            hook(request, response)
        return response, fault


class HookedJumpCloud(JumpCloudEmulator):
    """The JumpCloud emulator; `hook(request, response)` runs before each API answer is sent."""

    hook: Callable[[Request, Response | None], None] | None = None

    def dispatch(self, request: Request) -> tuple[Response | None, Fault | None]:
        response, fault = super().dispatch(request)
        hook = self.hook
        if hook is not None and not request.path.startswith("/_emulator/"):
            hook(request, response)
        return response, fault


@dataclass
class World:
    """Both emulators on loopback, and the pids of the running programs (for kill hooks)."""

    deel: HookedDeel
    jc: HookedJumpCloud
    deel_url: str
    jc_url: str
    pids: dict[str, int] = field(default_factory=dict)
    #: Settings every target run of this world gets (the service account's, when it has one).
    target_defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def deel_api_url(self) -> str:
        return f"{self.deel_url}/rest/v2"

    @property
    def jc_api_url(self) -> str:
        return f"{self.jc_url}/api"

    @property
    def jc_token_url(self) -> str:
        return f"{self.jc_url}{TOKEN_PATH}"

    def secrets(self, base: Sequence[str] = SENTINELS) -> tuple[str, ...]:
        """`base` and every access token the JumpCloud emulator granted so far."""
        return (*base, *self.jc.oauth.issued_tokens())

    def kill(self, role: str) -> bool:
        """SIGKILL the running `tap` or `target`; False when it is not running."""
        pid = self.pids.get(role)
        if pid is None:
            return False
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            return False
        return True

    def calm(self) -> None:
        """No more injected faults, latency or hooks, on either side."""
        for app in (self.deel, self.jc):
            app.faults.clear()
            app.latency = 0.0
            app.hook = None

    def faults_injected(self) -> Counter[str]:
        """Faults both emulators have served so far, by kind."""
        return self.deel.faults.injected + self.jc.faults.injected


@contextmanager
def world(
    workforce: Workforce | None = None,
    *,
    deel_token: str = SENTINEL_DEEL_TOKEN,
    jc_key: str = SENTINEL_JC_KEY,
    rate_limit: bool = False,
    deel_scopes: set[str] | None = None,
    jc_org_id: str | None = None,
    service_account: bool = False,
    token_lifetime: float = 3600.0,
) -> Iterator[World]:
    """Both emulators on ephemeral loopback ports (Deel's rate limit off unless asked).

    JumpCloud knows the sentinel key and the sentinel service account; with
    `service_account`, every target run authenticates as the service account (no api_key),
    its tokens living `token_lifetime` seconds.
    """
    deel = HookedDeel(
        token=deel_token, workforce=workforce, rate_limit=rate_limit, scopes=deel_scopes
    )
    jc = HookedJumpCloud(
        api_key=jc_key,
        org_id=jc_org_id,
        service_accounts={JC_CLIENT_ID: SENTINEL_JC_SECRET},
        token_lifetime=token_lifetime,
        token_prefix=SENTINEL_TOKEN_PREFIX,
    )
    with EmulatorServer(deel) as deel_server, EmulatorServer(jc) as jc_server:
        w = World(deel, jc, deel_server.url, jc_server.url)
        if service_account:
            w.target_defaults = service_account_settings(w)
        yield w


def service_account_settings(w: World) -> dict[str, Any]:
    """Target settings that authenticate as the world's sentinel service account."""
    return {
        "api_key": DROP,
        "client_id": JC_CLIENT_ID,
        "client_secret": SENTINEL_JC_SECRET,
        "token_url": w.jc_token_url,
    }


# -- the directory fingerprint -----------------------------------------------------------------


class UserPrint(NamedTuple):
    """What the sync decides about one JumpCloud user (ids and timestamps left out)."""

    profile_id: str | None
    username: str
    email: str
    state: str
    suspended: bool
    attributes: tuple[str | None, ...]  # MAPPED, in order

    def label(self) -> str:
        return f"{self.username} <{self.email}> [{self.profile_id or 'no profile id'}]"


def _text(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def user_print(user: Mapping[str, Any]) -> UserPrint:
    """The fingerprint tuple of one JumpCloud user object."""
    return UserPrint(
        profile_id=_text(user.get("employeeIdentifier")),
        username=str(user.get("username")),
        email=str(user.get("email")),
        state=str(user.get("state")),
        suspended=bool(user.get("suspended")),
        attributes=tuple(_text(user.get(name)) for name in MAPPED),
    )


@dataclass(frozen=True)
class Fingerprint:
    """A JumpCloud directory as the sync sees it."""

    users: frozenset[UserPrint]
    per_profile: Mapping[str, int]
    per_email: Mapping[str, int]

    @classmethod
    def of(cls, jc: JumpCloudEmulator) -> Fingerprint:
        prints = [user_print(user) for user in jc.users()]
        return cls(
            users=frozenset(prints),
            per_profile=Counter(p.profile_id for p in prints if p.profile_id),
            per_email=Counter(p.email.casefold() for p in prints),
        )

    @property
    def duplicates(self) -> int:
        """Users beyond the first for any profile id or email (should always be 0)."""
        return sum(n - 1 for n in self.per_profile.values() if n > 1) + sum(
            n - 1 for n in self.per_email.values() if n > 1
        )

    def by_profile(self) -> dict[str, UserPrint]:
        """The users linked to a profile id, by that id."""
        found: dict[str, UserPrint] = {}
        for user in self.users:
            if user.profile_id:
                found[user.profile_id] = user
        return found


@dataclass
class Verdict:
    """How a directory differs from the expected one."""

    lost: list[UserPrint]  # expected user states that are missing (a change lost or not made)
    extra: list[UserPrint]  # user states nobody expected (a wrong or duplicate write)
    duplicates: int

    @property
    def ok(self) -> bool:
        return not self.lost and not self.extra and not self.duplicates

    def explain(self) -> str:
        lines = [f"{len(self.lost)} lost, {len(self.extra)} extra, {self.duplicates} duplicates"]
        lines += [f"  missing: {p}" for p in sorted(self.lost)[:10]]
        lines += [f"  unexpected: {p}" for p in sorted(self.extra)[:10]]
        return "\n".join(lines)


def compare(actual: Fingerprint, expected: Fingerprint, *, count: bool = True) -> Verdict:
    """Compare a directory with the expected one (and count the figures, unless told not to:
    a test that checks a deliberately partial directory counts nothing)."""
    verdict = Verdict(
        lost=sorted(expected.users - actual.users),
        extra=sorted(actual.users - expected.users),
        duplicates=actual.duplicates,
    )
    if not count:
        return verdict
    tally("directories compared")
    tally("duplicates found", verdict.duplicates)
    tally("changes lost", len(verdict.lost))
    tally("unexpected writes", len(verdict.extra))
    return verdict


def assert_converged(jc: JumpCloudEmulator, expected: Fingerprint, context: str) -> None:
    """JumpCloud holds exactly the expected directory."""
    verdict = compare(Fingerprint.of(jc), expected)
    assert verdict.ok, f"{context}: the directory differs from a clean run's\n{verdict.explain()}"


def wrong_writes(actual: Fingerprint, before: Fingerprint, after: Fingerprint) -> list[UserPrint]:
    """User states that are neither the state before the run nor the clean run's result.

    An interrupted run may leave any mix of old and new users, but each user must be one or
    the other: anything else is a write the sync should never have made.
    """
    wrong = sorted(actual.users - before.users - after.users)
    tally("directories compared")
    tally("wrong writes", len(wrong))
    tally("duplicates found", actual.duplicates)
    return wrong


# -- scenarios ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """A seeded workforce, the JumpCloud it starts with, and one day of HR changes.

    The first sync starts from JumpCloud holding two accounts Deel does not know (never
    touched) and one worker's hand-made account without a profile id (adopted by email).
    Between the syncs HR promotes, transfers, renames and terminates workers and hires three
    people, one of whom shares an existing worker's name.
    """

    size: int = 60
    seed: int = 1

    def workforce(self) -> Workforce:
        return generate_workforce(self.size, self.seed)

    def seed_jumpcloud(self, w: World) -> None:
        w.jc.add_user(
            username="it.admin", email="it-admin@corp.example", firstname="IT", lastname="Admin"
        )
        w.jc.add_user(username="svc.backup", email="svc-backup@corp.example", jobTitle="Robot")
        person = self._eligible(w.deel)[0]
        email = str(work_email_of(person))
        w.jc.add_user(username="legacy.account", email=email.upper(), jobTitle="Old title")

    @staticmethod
    def _eligible(deel: DeelEmulator) -> list[dict[str, Any]]:
        """Active workers with a work email no one else shares, in id order."""
        people = sorted(deel.people, key=lambda p: str(p["id"]))
        emails = Counter((work_email_of(p) or "").lower() for p in people)
        return [
            p
            for p in people
            if p.get("hiring_status") == "active"
            and work_email_of(p)
            and emails[(work_email_of(p) or "").lower()] == 1
        ]

    def hr_changes(self, w: World) -> None:
        deel = w.deel
        rng = random.Random(self.seed * 7919 + 17)
        chosen = rng.sample(self._eligible(deel)[1:], 9)  # [0] holds the adopted account
        promoted, moved, leavers, renamed = chosen[:3], chosen[3:5], chosen[5:8], chosen[8]
        for person in promoted:
            promote(person, f"Principal {person.get('job_title') or 'Engineer'}")
            deel.update_person(person["id"])
        workforce = deel.workforce
        for person in moved:
            current = (person.get("department") or {}).get("id")
            departments = [d for d in workforce.departments if d["id"] != current]
            transfer(
                person,
                rng.choice(departments)["id"],
                rng.choice(workforce.teams)["id"],
                workforce=workforce,
            )
            deel.update_person(person["id"])
        for person in leavers:
            terminate(person)
            deel.update_person(person["id"])
        new_last = f"{renamed['last_name']}-Okafor"
        deel.update_person(
            renamed["id"], last_name=new_last, full_name=f"{renamed['first_name']} {new_last}"
        )
        deel.hire("Mina", "Okafor", seed=self.seed + 1)
        deel.hire(promoted[0]["first_name"], promoted[0]["last_name"], seed=self.seed + 2)
        deel.hire("José", "Núñez", seed=self.seed + 3)


@dataclass(frozen=True)
class References:
    """The clean runs' directories (after the first sync, and after the HR changes), and how
    many JumpCloud writes each clean run made."""

    first: Fingerprint
    second: Fingerprint
    first_writes: int
    second_writes: int


_REFERENCES: dict[Scenario, References] = {}
_REFERENCES_LOCK = threading.Lock()


def references(scenario: Scenario, scratch: Path) -> References:
    """The clean end states of a scenario's two syncs (computed once per session)."""
    with _REFERENCES_LOCK:
        found = _REFERENCES.get(scenario)
        if found is not None:
            return found
        with world(scenario.workforce()) as w:
            scenario.seed_jumpcloud(w)
            first = run_pipeline(w, scratch / f"reference-{scenario.seed}-first")
            assert first.ok, first.explain()
            first_print = Fingerprint.of(w.jc)
            scenario.hr_changes(w)
            second = run_pipeline(w, scratch / f"reference-{scenario.seed}-second")
            assert second.ok, second.explain()
            second_print = Fingerprint.of(w.jc)
        # Guard against a vacuous comparison: the second sync must really change things.
        changed = second_print.users - first_print.users
        assert len(changed) >= 12, f"the HR changes touched only {len(changed)} users"
        assert sum(1 for p in changed if p.state == "SUSPENDED") == 3
        assert first_print.duplicates == 0
        assert second_print.duplicates == 0
        found = References(first_print, second_print, _writes(first), _writes(second))
        _REFERENCES[scenario] = found
        return found


def _writes(run: Run) -> int:
    report = run.report
    assert report is not None
    counts = report["counts"]
    return int(counts["created"] + counts["updated"] + counts["suspended"] + counts["reactivated"])


# -- running the programs -----------------------------------------------------------------------


@dataclass
class Run:
    """What one run of the programs left behind."""

    out_dir: Path
    target_rc: int | None
    tap_rc: int | None = None
    faults: int = 0

    def _read(self, name: str) -> str:
        path = self.out_dir / name
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    @property
    def tap_err(self) -> str:
        return self._read("tap.stderr")

    @property
    def target_err(self) -> str:
        return self._read("target.stderr")

    @property
    def target_out(self) -> str:
        return self._read("target.stdout")

    @property
    def report(self) -> dict[str, Any] | None:
        path = self.out_dir / "report.json"
        if not path.exists():
            return None
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    @property
    def ok(self) -> bool:
        return self.target_rc == 0 and self.tap_rc in (None, 0)

    def errors(self, which: str = "target") -> list[str]:
        """The ERROR log lines of one program."""
        text = self.target_err if which == "target" else self.tap_err
        return [line for line in text.splitlines() if "| ERROR" in line or "ERROR " in line[:40]]

    def explain(self) -> str:
        return (
            f"tap exit {self.tap_rc}, target exit {self.target_rc}\n"
            f"--- tap stderr (tail) ---\n{_tail(self.tap_err)}\n"
            f"--- target stderr (tail) ---\n{_tail(self.target_err)}"
        )


def _tail(text: str, lines: int = 25) -> str:
    return "\n".join(text.splitlines()[-lines:])


def program_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of a run: no inherited plugin settings, test-speed backoff."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_DEEL_", "TARGET_JUMPCLOUD_", "MELTANO_"))
        and key not in {"LOGLEVEL", "PYTHONWARNINGS"}
    }
    env["TAP_DEEL_BACKOFF_SCALE"] = BACKOFF_SCALE
    env["TARGET_JUMPCLOUD_BACKOFF_SCALE"] = BACKOFF_SCALE
    env.update(extra or {})
    return env


def tap_config(w: World | None, **settings: Any) -> dict[str, Any]:
    """A tap config for the Deel emulator (pacing effectively off, small pages)."""
    config: dict[str, Any] = {
        "api_token": SENTINEL_DEEL_TOKEN,
        "api_url": w.deel_api_url if w else "https://deel.invalid/rest/v2",
        "max_requests_per_second": 1000,
        "page_size": 10,
    }
    return _merge(config, settings)


def target_config(w: World | None, out_dir: Path, **settings: Any) -> dict[str, Any]:
    """A target config for the JumpCloud emulator, with the report in the run's directory."""
    config: dict[str, Any] = {
        "api_key": SENTINEL_JC_KEY,
        "api_url": w.jc_api_url if w else "https://jumpcloud.invalid/api",
        "report_path": str(out_dir / "report.json"),
    }
    return _merge(config, settings)


def _merge(config: dict[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    for key, value in settings.items():
        if value is DROP:
            config.pop(key, None)
        else:
            config[key] = value
    return config


def _dirs(run_dir: Path) -> tuple[Path, Path]:
    """`config/` (written by the test: holds the keys) and `out/` (everything the run wrote)."""
    config_dir, out_dir = run_dir / "config", run_dir / "out"
    config_dir.mkdir(parents=True, exist_ok=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    return config_dir, out_dir


def _write_config(path: Path, config: Mapping[str, Any] | str) -> Path:
    path.write_text(config if isinstance(config, str) else json.dumps(config), encoding="utf-8")
    return path


def run_pipeline(
    w: World,
    run_dir: Path,
    *,
    tap_settings: Mapping[str, Any] | None = None,
    target_settings: Mapping[str, Any] | None = None,
    tap_args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    secrets: Sequence[str] = SENTINELS,
) -> Run:
    """`tap-deel --config tap.json | target-jumpcloud --config target.json`, to completion.

    Both programs run from `run_dir/out` with stderr (and the target's stdout) in files there,
    so the leak scan sees all they wrote. A run that outlives `timeout` is killed and fails.
    """
    config_dir, out_dir = _dirs(run_dir)
    tap_path = _write_config(config_dir / "tap.json", tap_config(w, **(tap_settings or {})))
    target_path = _write_config(
        config_dir / "target.json",
        target_config(w, out_dir, **{**w.target_defaults, **(target_settings or {})}),
    )
    faults_before = w.faults_injected()
    full_env = program_env(env)
    with (
        (out_dir / "tap.stderr").open("wb") as tap_err,
        (out_dir / "target.stderr").open("wb") as target_err,
        (out_dir / "target.stdout").open("wb") as target_out,
    ):
        tap = subprocess.Popen(
            [TAP, "--config", str(tap_path), *tap_args],
            stdout=subprocess.PIPE,
            stderr=tap_err,
            env=full_env,
            cwd=out_dir,
        )
        w.pids["tap"] = tap.pid
        target = subprocess.Popen(
            [TARGET, "--config", str(target_path)],
            stdin=tap.stdout,
            stdout=target_out,
            stderr=target_err,
            env=full_env,
            cwd=out_dir,
        )
        w.pids["target"] = target.pid
        assert tap.stdout is not None
        tap.stdout.close()  # the target holds the only reading end: it sees the tap's EOF
        try:
            _wait_all([target, tap], timeout)
        finally:
            w.pids.clear()
    faults = w.faults_injected() - faults_before
    run = Run(out_dir, target.returncode, tap.returncode, sum(faults.values()))
    tally("pipeline runs")
    tally("faults injected", run.faults)
    for kind, count in faults.items():
        tally(f"fault {kind}", count)
    check_hygiene(run, w.secrets(secrets))
    return run


def _argv(
    program: str,
    args: Sequence[str] | None,
    config_path: Path,
    make_config: Callable[[], Mapping[str, Any] | str],
) -> list[str]:
    """The command line; the `CONFIG` placeholder becomes a config file written for this run.

    A test that passes its own `--config` files (no placeholder) gets none written.
    """
    argv = [program, *(args if args is not None else ["--config", "CONFIG"])]
    if "CONFIG" in argv:
        written = str(_write_config(config_path, make_config()))
        argv = [written if part == "CONFIG" else part for part in argv]
    return argv


def run_target(
    w: World | None,
    run_dir: Path,
    stdin: Path | bytes | str,
    *,
    settings: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | str | None = None,
    args: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    secrets: Sequence[str] = SENTINELS,
) -> Run:
    """`target-jumpcloud --config target.json < input`, fed directly (no tap)."""
    config_dir, out_dir = _dirs(run_dir)
    defaults = w.target_defaults if w is not None else {}
    argv = _argv(
        TARGET,
        args,
        config_dir / "target.json",
        lambda: (
            config
            if config is not None
            else target_config(w, out_dir, **{**defaults, **(settings or {})})
        ),
    )
    if isinstance(stdin, Path):
        input_path = stdin
    else:
        input_path = config_dir / "input.singer"
        input_path.write_bytes(stdin.encode("utf-8") if isinstance(stdin, str) else stdin)
    rc = _run_one(argv, input_path, out_dir, "target", env=program_env(env), timeout=timeout)
    run = Run(out_dir, rc)
    tally("target runs")
    check_hygiene(run, w.secrets(secrets) if w is not None else secrets)
    return run


def run_tap(
    w: World | None,
    run_dir: Path,
    *,
    settings: Mapping[str, Any] | None = None,
    config: Mapping[str, Any] | str | None = None,
    args: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = RUN_TIMEOUT,
    secrets: Sequence[str] = SENTINELS,
) -> Run:
    """`tap-deel --config tap.json > tap.stdout` on its own."""
    config_dir, out_dir = _dirs(run_dir)
    argv = _argv(
        TAP,
        args,
        config_dir / "tap.json",
        lambda: config if config is not None else tap_config(w, **(settings or {})),
    )
    rc = _run_one(argv, None, out_dir, "tap", env=program_env(env), timeout=timeout)
    run = Run(out_dir, None, rc)
    tally("tap runs")
    check_hygiene(run, secrets)
    return run


def _run_one(
    argv: list[str],
    input_path: Path | None,
    out_dir: Path,
    role: str,
    *,
    env: dict[str, str],
    timeout: float,
) -> int:
    stdin: IO[bytes] | int = input_path.open("rb") if input_path else subprocess.DEVNULL
    try:
        with (
            (out_dir / f"{role}.stdout").open("wb") as out,
            (out_dir / f"{role}.stderr").open("wb") as err,
        ):
            process = subprocess.Popen(
                argv, stdin=stdin, stdout=out, stderr=err, env=env, cwd=out_dir
            )
            _wait_all([process], timeout)
    finally:
        if not isinstance(stdin, int):
            stdin.close()
    return int(process.returncode)


def _wait_all(processes: list[subprocess.Popen[bytes]], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for process in processes:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        for process in processes:
            with suppress(ProcessLookupError):
                process.kill()
        for process in processes:
            process.wait()
        raise AssertionError(f"the run did not finish within {timeout:.0f} s") from None


# -- output hygiene -----------------------------------------------------------------------------


def secret_forms(secret: str) -> list[bytes]:
    """The ways a key could show up in text: as is, by its prefix, base64, JSON-escaped."""
    prefix = secret.rsplit("-", 1)[0]  # e.g. "SENTINEL-deel": a cut-off key still shows
    forms = {secret, prefix, base64.b64encode(secret.encode()).decode(), json.dumps(secret)[1:-1]}
    return [form.encode() for form in forms]


def leaks(out_dir: Path, secrets: Iterable[str] = SENTINELS) -> list[str]:
    """Where a secret shows up in anything the run wrote (every file under `out_dir`)."""
    found: list[str] = []
    for path in sorted(out_dir.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            found.extend(
                f"{path.relative_to(out_dir)} shows {secret}"
                for secret in secrets
                if any(form in data for form in secret_forms(secret))
            )
    return found


def check_hygiene(run: Run, secrets: Sequence[str] = SENTINELS) -> None:
    """No key anywhere in the run's output, and no Python traceback in either stderr."""
    leaked = leaks(run.out_dir, secrets)
    tally("files scanned for keys", sum(1 for p in run.out_dir.rglob("*") if p.is_file()))
    tally("leaks found", len(leaked))
    assert not leaked, f"secrets leaked: {leaked}"
    tracebacks = [name for name in ("tap.stderr", "target.stderr") if TRACEBACK in run._read(name)]
    tally("tracebacks", len(tracebacks))
    assert not tracebacks, f"traceback in {tracebacks}\n{run.explain()}"


# -- Singer text for direct target runs ---------------------------------------------------------


def worker(
    profile_id: Any,
    first: Any = "Ada",
    last: Any = "Lovelace",
    *,
    email: Any = None,
    active: Any = True,
    **extra: Any,
) -> dict[str, Any]:
    """A worker record as tap-deel emits it (derived fields included)."""
    if email is None:
        email = f"{profile_id}@acme.example"
    record: dict[str, Any] = {
        "id": profile_id,
        "first_name": first,
        "last_name": last,
        "full_name": " ".join(str(p) for p in (first, last) if isinstance(p, str) and p) or None,
        "job_title": "Engineer",
        "work_location": "Lisbon",
        "hiring_type": "eor",
        "hiring_status": "active" if active is True else "inactive",
        "department": {"id": "d1", "name": "Engineering"},
        "client_legal_entity": {"id": "le1", "name": "Acme Lda"},
        "work_email": email,
        "active": active,
        "team": "Platform",
    }
    record.update(extra)
    return record


def schema_line(stream: str = "people", schema: Mapping[str, Any] | None = None) -> str:
    return json.dumps(
        {
            "type": "SCHEMA",
            "stream": stream,
            "schema": dict(schema or PEOPLE_SCHEMA),
            "key_properties": ["id"],
        }
    )


def record_line(record: Mapping[str, Any], stream: str = "people") -> str:
    return json.dumps({"type": "RECORD", "stream": stream, "record": dict(record)})


def singer(*lines: str) -> str:
    """Lines joined as a Singer stream (one message per line)."""
    return "".join(line + "\n" for line in lines)


def people_stream(records: Iterable[Mapping[str, Any]], *, state: bool = True) -> str:
    """SCHEMA, the records, and the tap's end-of-stream STATE."""
    lines = [schema_line(), *(record_line(r) for r in records)]
    if state:
        lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"people": {}}}}))
    return singer(*lines)


def loopback_alias() -> str | None:
    """A host name that /etc/hosts maps to 127.0.0.1 but is not `localhost` (e.g. `vm`).

    An `api_url` of `http://<alias>:<emulator port>` reaches the emulator, so a plugin that
    failed to refuse plain HTTP for a name that is not literally loopback would show up in the
    emulator's request log. Read from the file: no DNS look-up.
    """
    try:
        lines = Path("/etc/hosts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split("#", 1)[0].split()
        if len(fields) >= 2 and fields[0] == "127.0.0.1":
            for name in fields[1:]:
                if name.lower() != "localhost" and not name.lower().startswith("localhost."):
                    return name
    return None


def sync_with_keys_from_env(w: World, run_dir: Path, env: Mapping[str, str]) -> list[Path]:
    """The tap alone, then the target on its output, each with its keys from `env` only.

    Their config files (written here, without any key) take `--config ENV` after them, as an
    administrator's cron line would. Both must succeed; returns the two config files.
    """
    out = run_dir / "run" / "out"
    tap_path = run_dir / "tap.json"
    tap_path.write_text(json.dumps(tap_config(w, api_token=DROP)), encoding="utf-8")
    target_path = run_dir / "target.json"
    target_path.write_text(json.dumps(target_config(w, out, api_key=DROP)), encoding="utf-8")
    tap = run_tap(w, run_dir / "run", args=["--config", str(tap_path), "--config", "ENV"], env=env)
    assert tap.tap_rc == 0, tap.explain()
    target = run_target(
        w,
        run_dir / "run",
        out / "tap.stdout",
        args=["--config", str(target_path), "--config", "ENV"],
        env=env,
    )
    assert target.target_rc == 0, target.explain()
    return [tap_path, target_path]
