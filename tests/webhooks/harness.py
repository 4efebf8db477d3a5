"""Run the real receiver (`deel-webhooks`, uvicorn) as a subprocess, and judge what it did.

The receiver listens on an ephemeral loopback port (`DEEL_WEBHOOKS_PORT=0`; the port is read
from `<state dir>/receiver.json`). Its sync command is a real pipeline, `tap-deel | target-
jumpcloud` against the emulators (through `ledger.py`, which notes each sync's start and end),
or the Meltano job. Every wait polls with a deadline; nothing sleeps and hopes.

`STATS` collects the figures the session prints (see conftest.py).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests
from prometheus_client.parser import text_string_to_metric_families
from tap_deel.tap import TapDeel
from tap_deel.webhooks.metrics import CONTENT_TYPE
from tap_deel.webhooks.store import Store

from tests.emulators.deel_webhooks import WebhookSender

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
RECEIVER = BIN / "deel-webhooks"
TAP = BIN / "tap-deel"
TARGET = BIN / "target-jumpcloud"
LEDGER_SCRIPT = Path(__file__).with_name("ledger.py")

SIGNING_KEY = "SENTINEL-whsec-9d41c7"
DEEL_TOKEN = "SENTINEL-deel-webhooks-token"
JC_KEY = "SENTINEL-jc-webhooks-key"
SECRETS = (SIGNING_KEY, DEEL_TOKEN, JC_KEY)
START_TIMEOUT = 30.0
DELIVERIES = "deel_webhooks_deliveries_total"
PENDING = "deel_webhooks_pending_events"
SYNCS = "deel_webhooks_syncs_total"
LATENCY = "deel_webhooks_delivery_to_sync_seconds"

STATS: Counter[str] = Counter()
_STATS_LOCK = threading.Lock()


def tally(name: str, amount: int = 1) -> None:
    """Add to one of the session's figures."""
    with _STATS_LOCK:
        STATS[name] += amount


def wait_until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.05) -> Any:
    """Poll `check` until it returns something truthy; fail naming `what` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(every)


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any inherited plugin or receiver setting."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TAP_DEEL_", "TARGET_JUMPCLOUD_", "DEEL_WEBHOOKS_", "MELTANO_"))
        and key not in {"LOGLEVEL", "PYTHONWARNINGS"}
    }
    env.update(extra or {})
    return env


def people_catalog(path: Path) -> Path:
    """A catalog selecting only `people` (as meltano.yml's `select: [people.*]`)."""
    tap = TapDeel(
        config={"api_token": "x", "api_url": "https://api.letsdeel.com/rest/v2"},
        parse_env_config=False,
    )
    catalog = tap.catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if not entry["breadcrumb"]:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "people"
    path.write_text(json.dumps(catalog), encoding="utf-8")
    return path


def plugin_env(deel_api_url: str, jc_api_url: str, **extra: str) -> dict[str, str]:
    """What `tap-deel --config ENV | target-jumpcloud --config ENV` needs for the emulators."""
    return {
        "TAP_DEEL_API_TOKEN": DEEL_TOKEN,
        "TAP_DEEL_API_URL": deel_api_url,
        "TAP_DEEL_MAX_REQUESTS_PER_SECOND": "1000",
        "TAP_DEEL_BACKOFF_SCALE": "0.01",
        "TARGET_JUMPCLOUD_API_KEY": JC_KEY,
        "TARGET_JUMPCLOUD_API_URL": jc_api_url,
        "TARGET_JUMPCLOUD_BACKOFF_SCALE": "0.01",
        **extra,
    }


def pipeline(catalog: Path) -> str:
    """The plain two-CLI pipeline, as an administrator would write it in a shell."""
    return (
        f"{shlex.quote(str(TAP))} --config ENV --catalog {shlex.quote(str(catalog))} | "
        f"{shlex.quote(str(TARGET))} --config ENV"
    )


def ledger_command(ledger: Path, inner: str) -> str:
    """`inner` wrapped so that each sync notes its start and end in `ledger`."""
    return (
        f"{shlex.quote(sys.executable)} {shlex.quote(str(LEDGER_SCRIPT))} "
        f"{shlex.quote(str(ledger))} -- {shlex.quote(inner)}"
    )


def run_shell(command: str, env: Mapping[str, str], timeout: float = 180.0) -> int:
    """Run a sync command once, directly (e.g. the first full sync before a test)."""
    done = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        env=dict(env),
        capture_output=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-3000:]
    return done.returncode


@dataclass
class Ledger:
    """The sync command's own record of what ran."""

    path: Path

    def lines(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line]

    def starts(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["event"] == "start"]

    def ends(self) -> list[dict[str, Any]]:
        return [line for line in self.lines() if line["event"] == "end"]

    def sync_ids(self) -> list[int]:
        return [int(line["sync_id"]) for line in self.starts()]


@dataclass
class Scrape:
    """One `/metrics` answer: its raw text and every sample by name and labels."""

    text: str
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float]
    types: dict[str, str]

    def value(self, name: str, **labels: str) -> float:
        return self.samples[(name, frozenset(labels.items()))]

    def series(self, name: str) -> dict[frozenset[tuple[str, str]], float]:
        return {labels: v for (n, labels), v in self.samples.items() if n == name}

    def deliveries(self) -> dict[str, float]:
        return {dict(labels)["verdict"]: v for labels, v in self.series(DELIVERIES).items()}

    def syncs(self) -> dict[tuple[str, str], float]:
        return {
            (dict(labels)["kind"], dict(labels)["outcome"]): v
            for labels, v in self.series(SYNCS).items()
        }


@dataclass
class Receiver:
    """One running `deel-webhooks` process."""

    process: subprocess.Popen[bytes]
    state_dir: Path
    log_path: Path
    port: int
    key: str = SIGNING_KEY
    _session: requests.Session = field(default_factory=requests.Session)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/webhooks/deel"

    @property
    def pid(self) -> int:
        return self.process.pid

    def sender(self, key: str | None = None) -> WebhookSender:
        return WebhookSender(self.url, key or self.key)

    def health(self) -> dict[str, Any]:
        response = self._session.get(f"http://127.0.0.1:{self.port}/healthz", timeout=10)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def metrics(self) -> Scrape:
        """GET /metrics with no credentials at all, parsed; the key must never be in it."""
        response = self._session.get(f"http://127.0.0.1:{self.port}/metrics", timeout=10)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == CONTENT_TYPE
        text = response.text
        assert self.key not in text
        samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
        types: dict[str, str] = {}
        for family in text_string_to_metric_families(text):
            types[family.name] = family.type
            for sample in family.samples:
                key = (sample.name, frozenset(sample.labels.items()))
                assert key not in samples, key
                samples[key] = sample.value
        return Scrape(text, samples, types)

    def wait_health(
        self, check: Callable[[dict[str, Any]], bool], what: str, timeout: float = 60
    ) -> dict[str, Any]:
        """Poll /healthz until `check` holds; its last answer."""

        def probe() -> dict[str, Any] | None:
            health = self.health()
            return health if check(health) else None

        found: dict[str, Any] = wait_until(probe, timeout, what)
        return found

    def wait_idle(self, timeout: float = 120.0) -> dict[str, Any]:
        """Until every event is done and no sync runs."""
        result: dict[str, Any] = self.wait_health(
            lambda h: h["pending"] == 0 and h["sync"] == "idle", "every event done", timeout
        )
        return result

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def store(self) -> Store:
        return Store(self.state_dir / "queue.sqlite3")

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, then wait for the process to end."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def kill(self) -> None:
        """SIGKILL the receiver alone (its sync process, in a session of its own, lives on)."""
        with suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait(timeout=30)


def start_receiver(
    state_dir: Path,
    *,
    sync_command: str,
    env: Mapping[str, str] | None = None,
    debounce: float = 0.2,
    full_sync_above: int | None = None,
    retry: tuple[float, float] | None = (0.3, 2.0),
    key: str = SIGNING_KEY,
    argv: list[str] | None = None,
    cwd: Path | None = None,
) -> Receiver:
    """Start `deel-webhooks` on an ephemeral loopback port and wait until it answers."""
    state_dir.mkdir(parents=True, exist_ok=True)
    settings = {
        "DEEL_WEBHOOKS_SIGNING_KEY": key,
        "DEEL_WEBHOOKS_PORT": "0",
        "DEEL_WEBHOOKS_STATE_DIR": str(state_dir),
        "DEEL_WEBHOOKS_DEBOUNCE_SECONDS": f"{debounce:g}",
        "DEEL_WEBHOOKS_SYNC_COMMAND": sync_command,
    }
    if full_sync_above is not None:
        settings["DEEL_WEBHOOKS_FULL_SYNC_ABOVE"] = str(full_sync_above)
    if retry is not None:
        settings["DEEL_WEBHOOKS_RETRY_SECONDS"] = f"{retry[0]:g}"
        settings["DEEL_WEBHOOKS_RETRY_MAX_SECONDS"] = f"{retry[1]:g}"
    state_file = state_dir / "receiver.json"
    state_file.unlink(missing_ok=True)
    log_path = state_dir.parent / f"{state_dir.name}-receiver-{time.monotonic_ns()}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv or [str(RECEIVER)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env({**(env or {}), **settings}),
            cwd=cwd or state_dir.parent,
        )

    def started() -> dict[str, Any] | None:
        if process.poll() is not None:
            raise AssertionError(
                f"deel-webhooks exited {process.returncode}:\n{log_path.read_text()[-3000:]}"
            )
        if not state_file.exists():
            return None
        try:
            found: dict[str, Any] = json.loads(state_file.read_text())
        except ValueError:
            return None
        return found

    info = wait_until(started, START_TIMEOUT, "the receiver to listen")
    receiver = Receiver(process, state_dir, log_path, int(info["port"]), key)
    wait_until(lambda: _answers(receiver), START_TIMEOUT, "the receiver to answer /healthz")
    tally("receivers started")
    return receiver


def _answers(receiver: Receiver) -> bool:
    try:
        return receiver.health()["status"] == "ok"
    except requests.RequestException:
        return False


def leaks(paths: list[Path], secrets: tuple[str, ...] = SECRETS) -> list[str]:
    """Where a secret shows up in the given files (and every file under given folders)."""
    found: list[str] = []
    for root in paths:
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            data = path.read_bytes()
            found.extend(f"{path.name} shows {s}" for s in secrets if s.encode() in data)
    tally("files scanned for secrets", sum(1 for _ in paths))
    return found


def judge_no_loss_no_repeat(receiver_store: Store, ledger: Ledger) -> dict[str, int]:
    """Every event done by exactly one successful sync that really ran, once.

    Returns:
        The figures: events, syncs, lost (events not done), duplicated syncs (a sync id the
        command saw start twice), unrecorded (a sync that ran but the queue does not know),
        phantom (a sync the queue says ran but the command never saw).
    """
    events = receiver_store.events()
    syncs = {s.id: s for s in receiver_store.syncs()}
    started = Counter(ledger.sync_ids())
    lost = sum(1 for e in events if e["status"] != "done")
    bad_link = sum(
        1
        for e in events
        if e["status"] == "done"
        and (e["sync_id"] not in syncs or syncs[e["sync_id"]].status != "succeeded")
    )
    figures = {
        "events": len(events),
        "syncs": len(started),
        "lost": lost + bad_link,
        "duplicated syncs": sum(n - 1 for n in started.values() if n > 1),
        "unrecorded": sum(1 for sync_id in started if sync_id not in syncs),
        "phantom": sum(1 for s in syncs.values() if s.id not in started),
    }
    tally("events judged", figures["events"])
    tally("events lost", figures["lost"])
    tally("duplicated syncs", figures["duplicated syncs"])
    tally("syncs run", figures["syncs"])
    return figures


def count_answers(results: list[Any]) -> dict[str, int]:
    """Tally deliveries by the receiver's verdict (its JSON answer), and the slowest answer."""
    verdicts: Counter[str] = Counter()
    for result in results:
        try:
            verdict = json.loads(result.body)["status"] if result.body else f"http-{result.status}"
        except (ValueError, KeyError, TypeError):
            verdict = f"http-{result.status}"
        verdicts[verdict] += 1
    tally("deliveries sent", len(results))
    for verdict in ("accepted", "duplicate", "rejected"):
        tally(f"deliveries {verdict}", verdicts[verdict])
    slowest = max((int(r.seconds * 1000) for r in results), default=0)
    with _STATS_LOCK:
        STATS["slowest answer ms"] = max(STATS["slowest answer ms"], slowest)
    return dict(verdicts)
