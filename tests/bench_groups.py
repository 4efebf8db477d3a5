"""Groups from HR data at scale (docs/groups.md): the benchmark rows of `python -m tests.bench`.

Three rules (`All staff`, `Dept - {department}`, `{location} office`) over the bench's
workforce, each row against its floor, counted from the emulator and the workforce (never
from the target's own code):
- first sync (empty directory, `create_missing_groups`): writes = user creates + group
  creates + one POST per membership, no PUT (the ledger rides in the create);
- steady state: 0 writes; reads = users' pages + the group pages + sum of ceil(members/100);
- a mover (one worker moves department): 1 PUT + 2 POSTs;
- a rule change that would empty a group: 0 writes (the group guard stops the run);
- CPU: 100,000 workers, dry run against a directory in step (groups and ledgers seeded),
  limits off: >= 10,000 records/s and the target <= 400 MB, as the plain CPU row.

`groups` runs the first four (`--only groups`), `groups-cpu` the last.
"""

from __future__ import annotations

import dataclasses
import math
import random
from collections import Counter
from typing import TYPE_CHECKING, Any

from target_jumpcloud.sync.directory import compared_fields
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from tests.bench import Bench, Row

RULES = [
    {"group": "All staff"},
    {"group": "Dept - {department}"},
    {"group": "{location} office"},
]
SETTINGS = {"group_rules": RULES, "create_missing_groups": True}
LEDGER = "deelSyncGroups"
PAGE = 100
READS_SLACK = 1.10  # reads <= 1.10 x the floor (a V2 list has no total: one short page more)
FIRST_GROUP_ID = 0x67A1B2C3D4E5F60700000000  # the emulator's first group id (usergroups.py)


def _name(text: str) -> str:
    return " ".join(text.split())


def expected_groups(user: dict[str, Any]) -> list[str]:
    """The groups the three rules give a JumpCloud user, worked out here from its attributes."""
    names = ["All staff"]
    department = (user.get("department") or "").strip()
    location = (user.get("location") or "").strip()
    if department:
        names.append(_name(f"Dept - {department}"))
    if location:
        names.append(_name(f"{location} office"))
    return names


# -- commands run in the emulators' processes (bench.py's `groups_call`) --------------------------


def jumpcloud_summary(app: Any) -> dict[str, Any]:
    """The groups now (members each), what the rules expect, and the V2 requests logged."""
    groups = app.groups()
    users = [u for u in app.users() if u.get("state") != "SUSPENDED"]
    expected = Counter(name.casefold() for user in users for name in expected_groups(user))
    actual = {g["name"].casefold(): len(g["members"]) for g in groups}
    logged = [e for e in app.requests() if e.path.startswith("/api/v2/usergroups")]
    return {
        "groups": len(groups),
        "memberships": sum(len(g["members"]) for g in groups),
        "in_step": actual == dict(expected),
        "member_pages": sum(math.ceil(len(g["members"]) / PAGE) for g in groups),
        "group_reads": sum(1 for e in logged if e.method == "GET"),
    }


def jumpcloud_seed(app: Any) -> int:
    """Make the directory as a first sync with the rules leaves it: groups, members, ledgers.

    The groups get the emulator's ids in order of their first member, so each user's ledger
    can be written with the users (one `set_users`), before the groups are made.
    """
    users = app.users()
    order: dict[str, str] = {}  # casefolded name → name
    for user in users:
        for name in expected_groups(user):
            order.setdefault(name.casefold(), name)
    ids = {key: f"{FIRST_GROUP_ID + i:024x}" for i, key in enumerate(order)}
    for user in users:
        ledger = ",".join(sorted(ids[name.casefold()] for name in expected_groups(user)))
        user["attributes"] = [{"name": LEDGER, "value": ledger}]
    app.set_users(users)
    members: dict[str, list[str]] = {key: [] for key in order}
    for user in app.users():
        for name in expected_groups(user):
            members[name.casefold()].append(user["_id"])
    for key, name in order.items():
        made = app.add_group(name, members=members[key])
        if made["id"] != ids[key]:
            raise RuntimeError(f"group {name!r} got id {made['id']}, not {ids[key]}")
    return len(order)


def deel_transfer_one(host: Any, linked: list[str], seed: int) -> str:
    """Move one synced active worker to another department (location kept); its profile id."""
    from tests.emulators.workforce import transfer, work_email_of

    rng = random.Random(seed)
    people = host.deel.people
    emails = Counter((work_email_of(p) or "").casefold() for p in people)
    in_jumpcloud = set(linked)
    person = next(
        p
        for p in people
        if p["id"] in in_jumpcloud
        and p.get("hiring_status") == "active"
        and p.get("department")
        and p.get("work_location")
        and emails[(work_email_of(p) or "").casefold()] == 1
    )
    workforce = host.deel.workforce
    current = person["department"]["name"]
    department = rng.choice([d for d in workforce.departments if d["name"] != current])
    team = rng.choice(workforce.teams)
    transfer(person, department, team, workforce=workforce)
    host.deel.update_person(person["id"])
    host.deel.prewarm()
    return str(person["id"])


# -- the scenarios (in the parent) ---------------------------------------------------------------


class GroupBench:
    """The group rows, on a `Bench` (its host, workspace and table)."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.host = bench.host

    def _jc(self, command: str, **kwargs: Any) -> Any:
        return self.host.jumpcloud.call("groups_call", name=command, **kwargs)

    def _row(
        self,
        scenario: str,
        n: int,
        *,
        reads_floor: int,
        writes: dict[str, int] | Callable[[], tuple[dict[str, int], bool]],
        settings: dict[str, Any],
        goal: str,
        target_exit: int = 0,
        dry_run: bool = False,
        paced: bool = True,
        cpu: bool = False,
    ) -> Row:
        """Run the pipeline once (thrice for CPU), and its row against the floor.

        `writes`: the writes by kind the run must make, or a function that counts them after
        the run (and says whether the groups are in step).
        """
        from tests.bench import (
            DEEL_PAGE,
            JUMPCLOUD_LATENCY,
            _row,
            deel_seconds,
            pages,
            write_seconds,
        )

        bench = self.bench
        bench._configure(rate_limit=paced, jc_latency=JUMPCLOUD_LATENCY if paced else 0.0)
        result, counts = bench._measure(
            lambda: bench.ws.run_pipeline(
                paced=paced, dry_run=dry_run, settings=settings, target_exit=target_exit
            ),
            repeat=cpu,
        )
        deel_floor = pages(n, DEEL_PAGE)
        check = True
        if callable(writes):
            writes, check = writes()
        total_writes = sum(writes.values())
        reads_ok = counts["jc_reads"] <= READS_SLACK * reads_floor
        written = {k: v for k, v in counts["writes"].items() if v}
        row = _row(
            scenario,
            n,
            result,
            counts,
            floors=(deel_floor, reads_floor, total_writes),
            floor_s=None if cpu else deel_seconds(deel_floor) + write_seconds(total_writes),
            goal=goal,
            ok=True,
        )
        ok = (
            counts["deel_requests"] == deel_floor
            and reads_ok
            and written == {k: v for k, v in writes.items() if v}
            and check
        )
        if cpu:
            target_rss = result.target.max_rss_mb if result.target else 0.0
            ok = ok and (n < 100_000 or (n / result.wall >= 10_000 and target_rss <= 400.0))
        return bench._add(dataclasses.replace(row, ok=ok))

    def _user_pages(self) -> int:
        from tests.bench import JUMPCLOUD_PAGE, pages

        return pages(int(self.host.counts()["jc_users"]), JUMPCLOUD_PAGE)

    def nightly(self, n: int, creates: int) -> None:
        """First sync, steady state, a mover, a rule change that empties a group."""
        self.host.clear_directory()

        def made() -> tuple[dict[str, int], bool]:
            summary = self._jc("summary")
            expected = {
                "create": creates,
                "group_create": summary["groups"],
                "member_add": summary["memberships"],
            }
            return expected, bool(summary["in_step"])

        self._row(
            "groups, first sync",
            n,
            reads_floor=2,  # the (empty) user list and the (empty) group list
            writes=made,
            settings=SETTINGS,
            goal="writes = creates + groups + 1 POST per membership, 0 PUTs; groups in step",
        )
        summary = self._jc("summary")
        users = self._user_pages()
        floor = users + 1 + summary["member_pages"]
        self._row(
            "groups, steady state",
            n,
            reads_floor=floor,
            writes={},
            settings=SETTINGS,
            goal=f"0 writes; reads <= {READS_SLACK:g} x (users + group pages + sum ceil(m/100))",
        )
        linked = self.host.jumpcloud.call("linked_profile_ids")
        self.host.deel.call("groups_call", name="transfer_one", linked=linked, seed=5)
        self._row(
            "groups, a mover",
            n,
            reads_floor=floor,
            writes={"update": 1, "member_add": 1, "member_remove": 1},
            settings=SETTINGS,
            goal="1 PUT + 2 POSTs",
        )
        emptied = {**SETTINGS, "group_rules": [{"group": "Everyone"}, *RULES[1:]]}
        emptied["create_missing_groups"] = False
        self._row(
            "groups, a rule change empties a group",
            n,
            reads_floor=floor,
            writes={},
            settings=emptied,
            goal="0 writes: the group guard stops the run (exit 4)",
            target_exit=4,
        )

    def cpu(self, n: int) -> None:
        """100,000 workers, dry run, limits off, against a directory in step with the rules."""
        self.host.seed_directory()
        groups = self._jc("seed")
        fields = compared_fields({**DEFAULT_MAPPING, f"attributes.{LEDGER}": ""})
        self.host.jumpcloud.call("prewarm", fields=fields)
        summary = self._jc("summary")
        floor = self._user_pages() + math.ceil(groups / PAGE) + summary["member_pages"]
        self._row(
            "groups, CPU, dry run, limits off",
            n,
            reads_floor=floor,
            writes={},
            settings={"group_rules": RULES},
            goal=f">= 10,000 rec/s, target <= 400 MB; {groups} groups in step",
            dry_run=True,
            paced=False,
            cpu=True,
        )


def run_groups(bench: Bench, scenarios: Sequence[str], *, n_sync: int, n_cpu: int) -> None:
    """The group rows `scenarios` asks for: `groups` (nightly) and `groups-cpu`."""
    groups = GroupBench(bench)
    if "groups" in scenarios:
        built = bench.workforce(n_sync, seed=7)
        groups.nightly(n_sync, built["creates"])
    if "groups-cpu" in scenarios:
        bench.workforce(n_cpu, seed=3)
        groups.cpu(n_cpu)
