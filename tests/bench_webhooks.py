"""`make bench` rows of the webhook receiver (issue #16): latency and Deel cost.

- Latency: a termination delivered to the receiver -> that JumpCloud user suspended, one event
  at a time, median and p95 over `events` events. Goal: <= debounce + 3 s, on loopback, with
  Deel's 5 requests/s limit on in the emulator and the tap pacing itself to it.
- Cost: a burst of k events for k distinct people costs min(k, ceil(N / 200)) Deel requests,
  with `DEEL_WEBHOOKS_FULL_SYNC_ABOVE` set from N as docs/webhooks.md says (`threshold_for`).
  A burst of k terminations read one by one costs 2k: each leaver adds the re-hire search
  (`GET /people?search=EMAIL`); read in full, ceil(N / 200) as any full read.

The receiver is the real `deel-webhooks` process; its sync command the plain pipeline
`tap-deel | target-jumpcloud` (people only). Run only these rows with
`python -m tests.bench --only webhooks` (or `python -m tests.bench_webhooks`).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tap_deel.webhooks.policy import threshold_for

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.deel_webhooks import worker_updated
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.workforce import generate_workforce, promote, work_email_of
from tests.webhooks.harness import (
    DEEL_TOKEN,
    JC_KEY,
    people_catalog,
    pipeline,
    plugin_env,
    run_shell,
    start_receiver,
    wait_until,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tests.webhooks.harness import Receiver

DEEL_RATE = 5
SLACK_SECONDS = 3.0
PEOPLE_PATH = r"/rest/v2/people(/.*)?"


@dataclass
class WebhookRow:
    """One line of the receiver's table."""

    scenario: str
    n: int
    value: str
    goal: str
    ok: bool


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (p95 of 20 values is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


class Bench:
    """Both emulators (Deel rate-limited), a first full sync, then the receiver."""

    def __init__(self, workdir: Path, n: int, debounce: float) -> None:
        self.workdir = workdir
        self.n = n
        self.debounce = debounce
        self.deel = DeelEmulator(
            token=DEEL_TOKEN, workforce=generate_workforce(n, seed=16), rate_limit=True
        )
        self.deel.rate_limit_per_second = DEEL_RATE
        self.jc = JumpCloudEmulator(api_key=JC_KEY)
        self.stack = contextlib.ExitStack()
        deel_server = self.stack.enter_context(EmulatorServer(self.deel))
        jc_server = self.stack.enter_context(EmulatorServer(self.jc))
        self.env = plugin_env(
            f"{deel_server.url}/rest/v2",
            f"{jc_server.url}/api",
            TAP_DEEL_MAX_REQUESTS_PER_SECOND=str(DEEL_RATE),
        )
        self.command = pipeline(people_catalog(workdir / "catalog.json"))
        run_shell(self.command, self.env, timeout=600)  # the nightly job's first full sync
        self.receiver: Receiver = start_receiver(
            workdir / "state",
            sync_command=self.command,
            env=self.env,
            debounce=debounce,
            full_sync_above=threshold_for(n),
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.receiver.stop()
        self.stack.close()

    def candidates(self) -> list[dict[str, Any]]:
        """Active workers with a JumpCloud user and a work email no one else shares."""
        linked = {u["employeeIdentifier"] for u in self.jc.users()}
        emails: dict[str, int] = {}
        for person in self.deel.people:
            email = (work_email_of(person) or "").lower()
            emails[email] = emails.get(email, 0) + 1
        return [
            p
            for p in self.deel.people
            if p["hiring_status"] == "active"
            and p["id"] in linked
            and emails[(work_email_of(p) or "").lower()] == 1
        ]

    def is_suspended(self, person_id: str) -> bool:
        (user,) = self.jc.find_users(employeeIdentifier=person_id)
        return user["state"] == "SUSPENDED"

    def latency(self, events: int) -> WebhookRow:
        """One termination at a time: delivered -> suspended in JumpCloud."""
        sender = self.receiver.sender()
        seconds: list[float] = []
        for person in self.candidates()[:events]:
            self.deel.terminate_person(person["id"])
            started = time.monotonic()
            (answer,) = sender.deliver(worker_updated(person["id"]))
            if answer.status != 200:
                raise RuntimeError(f"the receiver answered {answer.status}")
            wait_until(partial(self.is_suspended, person["id"]), 120, "a suspension", every=0.01)
            seconds.append(time.monotonic() - started)
            self.receiver.wait_idle()
        median, p95 = statistics.median(seconds), percentile(seconds, 0.95)
        goal = self.debounce + SLACK_SECONDS
        return WebhookRow(
            f"latency, termination -> suspended ({len(seconds)} events)",
            self.n,
            f"median {median:.2f} s, p95 {p95:.2f} s, max {max(seconds):.2f} s",
            f"p95 <= debounce {self.debounce:g} s + {SLACK_SECONDS:g} s = {goal:g} s",
            bool(seconds) and p95 <= goal,
        )

    def cost_of_leavers(self, k: int, offset: int) -> WebhookRow:
        """A burst of k terminations: the person requests plus one search per leaver."""
        people = self.candidates()[offset : offset + k]
        if len(people) < k:
            raise RuntimeError(f"only {len(people)} people left for a burst of {k}")
        self.receiver.wait_idle()
        for person in people:
            self.deel.terminate_person(person["id"])
        syncs_before = len(self.receiver.store().syncs())
        self.deel.reset_log()
        answers = self.receiver.sender().burst([worker_updated(p["id"]) for p in people])
        if {a.status for a in answers} != {200}:
            raise RuntimeError("a delivery of the burst was refused")
        self.receiver.wait_health(lambda h: h["pending"] == 0 and h["sync"] == "idle",
                                  "the burst's sync", timeout=300)  # fmt: skip
        syncs = self.receiver.store().syncs()
        new = syncs[: len(syncs) - syncs_before]
        log = self.deel.requests(path=PEOPLE_PATH)
        targeted = k <= threshold_for(self.n)
        expected = 2 * k if targeted else math.ceil(self.n / 200)
        searches = sum(1 for e in log if "search" in e.query)
        kinds = "/".join(s.kind for s in new)
        return WebhookRow(
            f"cost, burst of {k} terminations ({kinds}, {len(new)} sync)",
            self.n,
            f"{len(log)} Deel requests ({searches} searches)",
            f"= {'k + k leavers' if targeted else 'ceil(N/200)'} = {expected}",
            len(log) == expected
            and searches == (k if targeted else 0)
            and len(new) == 1
            and all(self.is_suspended(p["id"]) for p in people),
        )

    def cost(self, k: int, offset: int) -> WebhookRow:
        """A burst of k events for k distinct people: Deel requests of the one sync."""
        people = self.candidates()[offset : offset + k]
        if len(people) < k:
            raise RuntimeError(f"only {len(people)} people left for a burst of {k}")
        for person in people:
            promote(person, f"Senior {person['job_title']}")
            self.deel.update_person(person["id"])
        self.receiver.wait_idle()
        syncs_before = len(self.receiver.store().syncs())
        self.deel.reset_log()
        answers = self.receiver.sender().burst([worker_updated(p["id"]) for p in people])
        if {a.status for a in answers} != {200}:
            raise RuntimeError("a delivery of the burst was refused")
        self.receiver.wait_health(lambda h: h["pending"] == 0 and h["sync"] == "idle",
                                  "the burst's sync", timeout=300)  # fmt: skip
        syncs = self.receiver.store().syncs()
        new = syncs[: len(syncs) - syncs_before]
        requests = len(self.deel.requests(path=PEOPLE_PATH))
        floor = min(k, math.ceil(self.n / 200))
        kinds = "/".join(s.kind for s in new)
        titles = all(
            (self.jc.find_users(employeeIdentifier=p["id"]) or [{}])[0].get("jobTitle")
            == p["job_title"]
            for p in people
        )
        return WebhookRow(
            f"cost, burst of {k} events ({kinds}, {len(new)} sync)",
            self.n,
            f"{requests} Deel requests",
            f"= min(k, ceil(N/200)) = {floor}",
            requests == floor and len(new) == 1 and titles,
        )


def run(
    *,
    n: int = 1_000,
    events: int = 20,
    debounce: float = 1.0,
    bursts: Sequence[int] = (1, 3, 5, 6, 12),
    leaver_bursts: Sequence[int] = (3,),
    workdir: Path | None = None,
    echo: Callable[[str], None] = print,
) -> list[WebhookRow]:
    """The latency row, one cost row per burst size, one per burst of terminations."""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-wh-")))
        workdir.mkdir(parents=True, exist_ok=True)
        echo(f"webhooks: {n:,} people, debounce {debounce:g} s, Deel at {DEEL_RATE} req/s...")
        bench = Bench(workdir, n, debounce)
        stack.callback(bench.close)
        rows = [bench.latency(events)]
        echo(f"  {rows[0].scenario}: {rows[0].value}")
        offset = events
        for k in bursts:
            rows.append(bench.cost(k, offset))
            offset += k
            echo(f"  {rows[-1].scenario}: {rows[-1].value} ({rows[-1].goal})")
        for k in leaver_bursts:  # (terminated people leave the candidates: no offset)
            rows.append(bench.cost_of_leavers(k, offset))
            echo(f"  {rows[-1].scenario}: {rows[-1].value} ({rows[-1].goal})")
        return rows


def render(rows: Sequence[WebhookRow]) -> str:
    """A fixed-width table."""
    headers = ("webhook receiver", "N", "measured", "goal", "met")
    cells = [headers, *((r.scenario, f"{r.n:,}", r.value, r.goal, "yes" if r.ok else "NO")
                        for r in rows)]  # fmt: skip
    widths = [max(len(line[i]) for line in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)) for line in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(line.rstrip() for line in lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the rows, print the table; exit 1 when a goal is missed."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench_webhooks", description=__doc__)
    parser.add_argument("--n", type=int, default=1_000, help="people in Deel")
    parser.add_argument("--events", type=int, default=20, help="terminations for the latency")
    parser.add_argument(
        "--debounce", type=float, default=1.0, help="DEEL_WEBHOOKS_DEBOUNCE_SECONDS"
    )
    parser.add_argument("--workdir", type=Path, help="keep the receiver's state and logs here")
    args = parser.parse_args(argv)
    rows = run(n=args.n, events=args.events, debounce=args.debounce, workdir=args.workdir)
    print()
    print(render(rows))
    missed = [r for r in rows if not r.ok]
    for row in missed:
        print(f"goal missed: {row.scenario}: {row.value} ({row.goal})")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
