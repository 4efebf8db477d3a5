"""The workforce's reporting lines: the default tree is unchanged, the quirks are opt-in."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import pytest

from tests.emulators.workforce import (
    ManagerQuirks,
    Workforce,
    add_manager_quirks,
    generate_workforce,
    work_email_of,
)

# sha256 of each workforce as generated before the quirks existed (json, sorted keys): every
# seeded workforce the suites, the demo and the bench use must stay byte for byte the same.
GOLDEN = {
    (0, 1): "6bea5da0bd7c98fcaf8ffe4dc63ab228608b2d2d2567aa5d9041302ad66bdf06",
    (60, 11): "44239eba9cbab6af7505913fff7c40aba3c6b7d948dfdc61e34d9f742856b20f",
    (300, 42): "2916e7850164c6fce65bd3851fe1e9ff88300e30421cc540d432ebd3e1cca972",
    (1000, 7): "c52012b1d0d9811a95e8e2a4aac107bb2a267cd7a52e0c3c3b40ca87fc6d7e07",
    (10000, 7): "a4caae145a537763b5f07a15dbdff709d62c5a0736b4ebc817f884e572bd303c",
}


# The workforce's data as it was when the digests were taken (later fields, such as the
# effective-dating bookkeeping, are not part of it).
DATA_FIELDS = (
    "people",
    "legal_entities",
    "departments",
    "teams",
    "groups",
    "working_locations",
    "organizations",
    "domain",
    "seed",
)


def digest(workforce: Workforce) -> str:
    data = {name: getattr(workforce, name) for name in DATA_FIELDS}
    text = json.dumps(data, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.parametrize(("size", "seed"), sorted(GOLDEN))
def test_seeded_workforces_without_quirks_are_unchanged(size, seed):
    assert digest(generate_workforce(size, seed)) == GOLDEN[size, seed]
    assert digest(generate_workforce(size, seed, manager_quirks=None)) == GOLDEN[size, seed]


def manager_of(workforce: Workforce) -> dict[str, str | None]:
    return {p["id"]: (p["direct_manager"] or {}).get("id") for p in workforce.people}


def depth(chart: dict[str, str | None], person_id: str) -> int:
    seen: list[str] = []
    current: str | None = person_id
    while current in chart and current not in seen:
        seen.append(current)
        current = chart[current]
    return len(seen)


@pytest.fixture(scope="module")
def quirky() -> tuple[Workforce, dict[str, list[str]]]:
    workforce = generate_workforce(500, 5)
    return workforce, add_manager_quirks(workforce, ManagerQuirks())


def test_quirks_are_deterministic_and_the_same_through_generate_workforce(quirky):
    workforce, _ = quirky
    assert digest(generate_workforce(500, 5, manager_quirks=ManagerQuirks())) == digest(workforce)
    assert digest(workforce) != digest(generate_workforce(500, 5))


def test_the_default_tree_is_already_several_levels_deep():
    chart = manager_of(generate_workforce(1000, 7))
    assert max(depth(chart, p) for p in chart) >= 4


def test_a_chain_adds_levels_below_a_leaf(quirky):
    workforce, chosen = quirky
    chart = manager_of(workforce)
    chain = chosen["chain"]
    assert len(chain) == 8
    for above, below in itertools.pairwise(chain):
        assert chart[below] == above
    assert depth(chart, chain[-1]) >= 8 + 2  # under the head and the CEO at least


def test_cycles_of_two_and_three(quirky):
    workforce, chosen = quirky
    chart = manager_of(workforce)
    two, three = chosen["cycles"][:2], chosen["cycles"][2:]
    assert len(three) == 3
    assert chart[two[0]] == two[1]
    assert chart[two[1]] == two[0]
    assert [chart[p] for p in three] == [three[1], three[2], three[0]]


def test_managers_outside_the_workforce(quirky):
    workforce, chosen = quirky
    ids = {p["id"] for p in workforce.people}
    assert len(chosen["outside"]) == 3
    for person_id, manager_id in zip(chosen["outside"], chosen["outside_managers"], strict=True):
        ref = workforce.by_id(person_id)["direct_manager"]
        assert ref["id"] == manager_id
        assert manager_id not in ids
        assert set(ref) == {"id", "first_name", "last_name", "work_email", "worker_id"}


def test_managers_without_a_work_email_have_reports(quirky):
    workforce, chosen = quirky
    assert len(chosen["without_email"]) == 2
    for manager_id in chosen["without_email"]:
        manager = workforce.by_id(manager_id)
        assert work_email_of(manager) is None
        assert manager["direct_reports_count"] == 3
        for report in manager["direct_reports"]:
            ref = workforce.by_id(report["id"])["direct_manager"]
            assert ref["id"] == manager_id
            assert ref["work_email"] is None


def test_direct_reports_agree_with_direct_managers(quirky):
    workforce, _ = quirky
    expected: dict[str, list[str]] = {}
    for person in workforce.people:
        ref = person["direct_manager"]
        if ref is not None and person["hiring_status"] != "inactive":
            expected.setdefault(ref["id"], []).append(person["id"])
    for person in workforce.people:
        reports = [r["id"] for r in person["direct_reports"]]
        assert reports == expected.get(person["id"], [])
        assert person["direct_reports_count"] == len(reports)


def test_quirks_fit_a_small_workforce():
    workforce = generate_workforce(20, 3)
    chosen: dict[str, Any] = add_manager_quirks(workforce, ManagerQuirks())
    taken = [
        p for key in ("chain", "cycles", "outside", "without_email", "reports") for p in chosen[key]
    ]
    assert len(taken) == len(set(taken))  # nobody is used twice
    assert len(workforce.people) == 20
