"""Generated usernames (docs/sync-rules.md): clean(), the first.last base, numbered collisions."""

from __future__ import annotations

import threading

import pytest
from target_jumpcloud.sync.usernames import BASE_LIMIT, UsernameAllocator, base_username, clean


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("José", "jose"),
        ("Łukasz", "lukasz"),
        ("Ærø", "aero"),
        ("王伟", "wangwei"),
        ("O'Brien", "obrien"),
        ("Anne-Marie", "anne-marie"),
        ("van der Berg", "vanderberg"),
        ("--x--", "x"),
        ("Zoë", "zoe"),
        ("Þór", "thor"),
        ("Straße", "strasse"),
        ("Дмитрий", "dmitriy"),
        ("J. R. R.", "jrr"),
        ("Mary_Jane", "maryjane"),
        ("R2-D2", "r2-d2"),
        ("-", ""),
        ("'.'", ""),
        ("", ""),
        (None, ""),
        ("😀", ""),
        ("Ada😀", "ada"),
        ("Acme™", "acme"),
        ("½", "12"),  # a number, not a symbol: transliterated
    ],
)
def test_clean(text, expected):
    assert clean(text) == expected


@pytest.mark.parametrize(
    ("first", "last", "email", "expected"),
    [
        ("Alpha", "Zed", "x@y.io", "alpha.zed"),
        ("José", "García López", "x@y.io", "jose.garcialopez"),
        ("Anne-Marie", "O'Brien", "x@y.io", "anne-marie.obrien"),
        ("王", "伟", "x@y.io", "wang.wei"),
        ("Ada", None, "x@y.io", "ada"),
        ("Ada", "", "x@y.io", "ada"),
        ("Ada", "☃", "x@y.io", "ada"),  # a symbol counts as empty
        ("😀", "Lovelace", "x@y.io", "lovelace"),
        (None, "Lovelace", "x@y.io", "lovelace"),
        (None, None, "Ada.Lovelace@example.com", "adalovelace"),
        ("", "  ", "first_last+tag@example.com", "firstlasttag"),
        ("42", "Smith", "x@y.io", "u42.smith"),
        (None, "1st", "x@y.io", "u1st"),
        (None, None, "007@example.com", "u007"),
        (None, None, "...@example.com", "u"),
        ("-", "-", "@", "u"),
    ],
)
def test_base_username(first, last, email, expected):
    assert base_username(first, last, email) == expected


def test_very_long_names_keep_room_for_the_number():
    base = base_username("a" * 600, "b" * 600, "x@y.io")
    assert len(base) == BASE_LIMIT
    assert base == "a" * 600 + "." + "b" * (BASE_LIMIT - 601)
    cut_at_dot = base_username("a" * BASE_LIMIT, "b", "x@y.io")
    assert cut_at_dot == "a" * BASE_LIMIT


# -- the allocator --------------------------------------------------------------------------------


def test_collisions_take_the_next_number():
    allocator = UsernameAllocator(["alpha.zed"])
    assert allocator.allocate("alpha.zed") == "alpha.zed1"
    assert allocator.allocate("alpha.zed") == "alpha.zed2"
    assert allocator.allocate("beta") == "beta"
    assert allocator.allocate("beta") == "beta1"


def test_first_allocation_takes_the_plain_base():
    allocator = UsernameAllocator([])
    assert [allocator.allocate("alpha.zed") for _ in range(3)] == [
        "alpha.zed",
        "alpha.zed1",
        "alpha.zed2",
    ]


def test_taken_is_case_insensitive():
    allocator = UsernameAllocator(["Alpha.Zed", "ALPHA.ZED1"])
    assert allocator.is_taken("alpha.zed")
    assert allocator.is_taken("Alpha.zed1")
    assert not allocator.is_taken("alpha.zed2")
    assert allocator.allocate("alpha.zed") == "alpha.zed2"


def test_gaps_are_filled_in_order():
    allocator = UsernameAllocator(["ada", "ada1", "ada3"])
    assert [allocator.allocate("ada") for _ in range(3)] == ["ada2", "ada4", "ada5"]


def test_mark_taken_is_respected_later():
    allocator = UsernameAllocator([])
    assert allocator.allocate("ada") == "ada"
    allocator.mark_taken("ADA1")
    allocator.mark_taken("ada2")
    assert allocator.is_taken("ada1")
    assert allocator.allocate("ada") == "ada3"


def test_a_base_that_looks_numbered_does_not_collide():
    allocator = UsernameAllocator([])
    assert allocator.allocate("ada") == "ada"
    assert allocator.allocate("ada1") == "ada1"  # someone whose base ends in 1
    assert allocator.allocate("ada") == "ada2"
    assert allocator.allocate("ada1") == "ada11"


def test_counter_makes_shared_names_cheap():
    """Hundreds of workers sharing a name must not rescan base1..baseN each time."""

    class CountingSet(set[str]):
        lookups = 0

        def __contains__(self, item: object) -> bool:
            CountingSet.lookups += 1
            return super().__contains__(item)

    allocator = UsernameAllocator([f"alpha.zed{n}" for n in range(1, 200)] + ["alpha.zed"])
    allocator._taken = CountingSet(allocator._taken)
    names = [allocator.allocate("alpha.zed") for _ in range(1000)]
    assert names == [f"alpha.zed{n}" for n in range(200, 1200)]
    # 200 probes to skip the taken run once, then about two per allocation.
    assert CountingSet.lookups < 200 + 3 * 1000


def test_allocator_is_thread_safe():
    allocator = UsernameAllocator(["ada"])
    results: list[str] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [allocator.allocate("ada") for _ in range(300)]
        with lock:
            results.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 2400
    assert len(set(results)) == 2400
    assert set(results) == {f"ada{n}" for n in range(1, 2401)}
