"""Leavers at scale (docs/leavers.md): `python -m tests.bench_leavers` (`make bench` runs it).

What the leaver rules cost in requests, through the real pipe (`tap-deel | target-jumpcloud`)
against the emulators, Deel's rate limit off (the counts, not the pacing, are the point):

- complete listing: the same steady-state run with and without tap-deel's ACTIVATE_VERSION;
  the complete one adds 0 requests to Deel and 0 to JumpCloud;
- out of scope, counted: K workers deleted in Deel; one PUT per out-of-scope user (the count);
- out of scope, suspended: the next run; per user one PUT (the suspension with the count),
  one POST per leaver step (reset_mfa, expire_password) and one PUT recording them;
- afterwards: nothing, ever again (the steps ran once).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tests.emulators.base import EmulatorServer
from tests.emulators.deel import DeelEmulator
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.workforce import generate_workforce, work_email_of

if TYPE_CHECKING:
    from collections.abc import Sequence

BIN = Path(sys.executable).parent
DEEL_TOKEN = "deel-test-token"
JUMPCLOUD_KEY = "jc-test-key"
STEPS = ["reset_mfa", "expire_password"]
TARGET_SETTINGS = {"out_of_scope": "suspend", "out_of_scope_after": 2, "leaver_steps": STEPS}


@dataclasses.dataclass
class LeaverRow:
    """One line: the requests a run made, by kind, against what the rule allows."""

    scenario: str
    n: int
    deel: int
    jc_reads: int
    writes: dict[str, int]
    expected: dict[str, int]
    seconds: float
    goal: str
    # For the complete-listing row: the requests of the same run without ACTIVATE_VERSION.
    deel_expected: int | None = None
    reads_expected: int | None = None

    @property
    def ok(self) -> bool:
        return (
            self.writes == self.expected
            and self.deel_expected in {None, self.deel}
            and self.reads_expected in {None, self.jc_reads}
        )


class _World:
    """Both emulators in process, and a folder for the configs and reports."""

    def __init__(self, n: int, folder: Path) -> None:
        self.folder = folder
        self.deel = DeelEmulator(token=DEEL_TOKEN, rate_limit=False)
        self.deel.set_workforce(generate_workforce(n, seed=5))
        self.jc = JumpCloudEmulator(api_key=JUMPCLOUD_KEY)

    def run(self, *, complete: bool, settings: dict[str, Any], deel_url: str, jc_url: str) -> float:
        tap = {
            "api_token": DEEL_TOKEN,
            "api_url": f"{deel_url}/rest/v2",
            "max_requests_per_second": 100_000,
            "emit_activate_version_messages": complete,
        }
        target = {
            "api_key": JUMPCLOUD_KEY,
            "api_url": f"{jc_url}/api",
            "report_path": str(self.folder / "report.json"),
            **settings,
        }
        tap_path, target_path = self.folder / "tap.json", self.folder / "target.json"
        tap_path.write_text(json.dumps(tap))
        target_path.write_text(json.dumps(target))
        self.deel.reset_log()
        self.jc.reset_log()
        started = time.perf_counter()
        with (
            (self.folder / "tap.log").open("wb") as tap_err,
            (self.folder / "target.log").open("wb") as target_err,
        ):
            producer = subprocess.Popen(
                [str(BIN / "tap-deel"), "--config", str(tap_path)],
                stdout=subprocess.PIPE,
                stderr=tap_err,
            )
            consumer = subprocess.Popen(
                [str(BIN / "target-jumpcloud"), "--config", str(target_path)],
                stdin=producer.stdout,
                stdout=subprocess.DEVNULL,
                stderr=target_err,
            )
            assert producer.stdout is not None
            producer.stdout.close()
            if consumer.wait(600) or producer.wait(600):
                raise RuntimeError(f"a run failed; see {self.folder}/target.log and tap.log")
        return time.perf_counter() - started

    def writes(self) -> dict[str, int]:
        """The JumpCloud writes of the last run, by kind."""
        kinds: Counter[str] = Counter()
        for entry in self.jc.requests():
            if entry.method == "PUT":
                kinds["PUT"] += 1
            elif entry.method == "POST" and entry.path.endswith("/resetmfa"):
                kinds["POST resetmfa"] += 1
            elif entry.method == "POST" and entry.path.endswith("/expire"):
                kinds["POST expire"] += 1
            elif entry.method in {"POST", "DELETE"}:
                kinds[f"{entry.method} other"] += 1
        return dict(kinds)

    def reads(self) -> int:
        return sum(1 for entry in self.jc.requests() if entry.method == "GET")


def run(n: int = 2_000, deleted: int = 20, workdir: Path | None = None) -> list[LeaverRow]:
    """The four rows (see the module docstring)."""
    with tempfile.TemporaryDirectory(prefix="bench-leavers-") as scratch:
        folder = workdir or Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        world = _World(n, folder)
        with EmulatorServer(world.deel) as deel, EmulatorServer(world.jc) as jc:
            urls = {"deel_url": deel.url, "jc_url": jc.url}
            world.run(complete=True, settings={}, **urls)  # the first sync creates everyone
            rows: list[LeaverRow] = []
            seconds = world.run(complete=False, settings=TARGET_SETTINGS, **urls)
            partial = (len(world.deel.requests()), world.reads(), world.writes())
            seconds_complete = world.run(complete=True, settings=TARGET_SETTINGS, **urls)
            deel_partial = partial[0]
            rows.append(
                LeaverRow(
                    "complete listing (ACTIVATE_VERSION), nothing out of scope",
                    n,
                    len(world.deel.requests()),
                    world.reads(),
                    world.writes(),
                    partial[2],
                    seconds_complete,
                    f"Deel {deel_partial} requests and JumpCloud {partial[1]} reads, "
                    f"as without it ({seconds:.2f} s); 0 writes",
                    deel_expected=deel_partial,
                    reads_expected=partial[1],
                )
            )
            people = sorted(world.deel.people, key=lambda p: str(p["id"]))
            emails = Counter((work_email_of(p) or "").casefold() for p in people)
            linked = {u.get("employeeIdentifier") for u in world.jc.users()}
            gone = [
                p
                for p in people
                if p["id"] in linked
                and p.get("hiring_status") == "active"
                and emails[(work_email_of(p) or "").casefold()] == 1
            ][:deleted]
            for person in gone:
                world.deel.remove_person(person["id"])
            k = len(gone)
            for scenario, expected in (
                (f"out of scope, counted ({k} deleted in Deel)", {"PUT": k}),
                (
                    f"out of scope, suspended, 2 leaver steps ({k} users)",
                    {"PUT": 2 * k, "POST resetmfa": k, "POST expire": k},
                ),
                (f"the run after ({k} suspended leavers)", {}),
            ):
                seconds = world.run(complete=True, settings=TARGET_SETTINGS, **urls)
                rows.append(
                    LeaverRow(
                        scenario,
                        n - k,
                        len(world.deel.requests()),
                        world.reads(),
                        world.writes(),
                        expected,
                        seconds,
                        "writes = " + (", ".join(f"{v} {w}" for w, v in expected.items()) or "0"),
                    )
                )
            return rows


def render(rows: Sequence[LeaverRow]) -> list[str]:
    """The table, one line per row."""
    lines = [
        (
            "scenario                                                    N      Deel  JC reads  "
            "JC writes                                   s      goal -> met"
        )
    ]
    for row in rows:
        writes = ", ".join(f"{v} {k}" for k, v in sorted(row.writes.items())) or "0"
        lines.append(
            f"{row.scenario:<59} {row.n:<6,} {row.deel:<5} {row.jc_reads:<9} {writes:<43} "
            f"{row.seconds:>5.2f}  {row.goal} -> {'ok' if row.ok else 'MISSED'}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Print the table; exit 1 when a row costs more than the rule allows."""
    parser = argparse.ArgumentParser(prog="python -m tests.bench_leavers", description=__doc__)
    parser.add_argument("--n", type=int, default=2_000, help="workers")
    parser.add_argument("--deleted", type=int, default=20, help="workers deleted in Deel")
    args = parser.parse_args(argv)
    rows = run(args.n, args.deleted)
    for line in render(rows):
        print(line)
    return 0 if all(row.ok for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
