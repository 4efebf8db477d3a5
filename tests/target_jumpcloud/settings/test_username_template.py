"""Username templates and the length cap (docs/directory-attributes.md)."""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.model import DirectoryUser, UserState
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings
from target_jumpcloud.settings.username_template import DEFAULT_TEMPLATE, check_max_length
from target_jumpcloud.sync.directory import Directory
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING, map_record
from target_jumpcloud.sync.usernames import (
    DEFAULT_USERNAME_TEMPLATE,
    UsernameAllocator,
    base_username,
    parse_template,
    template_base,
)


def base(template: str, first: str | None, last: str | None, email: str = "x@y.io") -> str:
    return template_base(parse_template(template), first, last, email)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{first}.{last}", "jose.garcia-lopez"),
        ("{f}{last}", "jgarcia-lopez"),
        ("{first}{last}", "josegarcia-lopez"),
        ("{last}.{f}", "garcia-lopez.j"),
        ("{first}_{last}", "jose_garcia-lopez"),
        ("{email_local}", "jgarcialopez"),
        ("{f}.{email_local}", "j.jgarcialopez"),
        ("ext-{first}", "ext-jose"),
        ("{first}.{last}-ext", "jose.garcia-lopez-ext"),
    ],
)
def test_each_placeholder_is_cleaned(template, expected):
    assert base(template, "José", "García-López", "J.Garcia.Lopez@acme.example") == expected


@pytest.mark.parametrize(
    ("template", "first", "last", "expected"),
    [
        ("{first}.{last}", "Ada", None, "ada"),
        ("{first}.{last}", None, "Lovelace", "lovelace"),
        ("{f}.{last}", "", "Lovelace", "lovelace"),
        ("{first}.{f}-{last}", "Ada", "Lovelace", "ada.a-lovelace"),
        ("{last}.{first}", "Ada", "", "ada"),
        ("{first}.{last}", "😀", "'", "adal"),  # both empty: the email's local part
        ("{f}{last}", None, None, "adal"),
        ("{first}.{last}", "42", "Zed", "u42.zed"),  # must start with a letter
        ("{email_local}", "Ada", "L", "adal"),  # cleaned: the dot goes too
    ],
)
def test_empty_parts_drop_their_separators_and_the_base_falls_back(template, first, last, expected):
    assert base(template, first, last, "Ada.L@acme.example") == expected


def test_an_email_local_part_that_cleans_to_nothing_gives_u():
    assert base("{email_local}", None, None, "..@acme.example") == "u"
    assert base("{first}.{last}", None, None, "9@acme.example") == "u9"


def test_the_default_template_is_the_rule_of_section_5():
    assert parse_template(DEFAULT_TEMPLATE) == DEFAULT_USERNAME_TEMPLATE
    assert DEFAULT_USERNAME_TEMPLATE.text == "{first}.{last}"
    for first, last, email in [
        ("Alpha", "Zed", "a@x.io"),
        ("José", None, "a@x.io"),
        (None, None, "O'Brien@x.io"),
        ("王伟", "Łukasz", "a@x.io"),
        ("-", "-", "-@x.io"),
        ("x" * 600, "y" * 600, "a@x.io"),
    ]:
        assert base_username(first, last, email) == template_base(
            DEFAULT_USERNAME_TEMPLATE, first, last, email
        )
    assert len(base_username("x" * 600, "y" * 600, "a@x.io")) == 1000


def test_names_in_other_scripts_and_the_way_out_with_email_local():
    """The demo's directory, tried as a new administrator would (see docs)."""
    assert base_username("فاطمة", "خليل", "fatima.khalil@acme.example") == "ftmh.khlyl"
    # Japanese kanji are read as Chinese by the transliteration.
    assert base_username("大輝", "田中", "daiki.tanaka@acme.example") == "dahui.tianzhong"
    assert base("{email_local}", "فاطمة", "خليل", "fatima.khalil@acme.example") == "fatimakhalil"
    assert base("{email_local}", "大輝", "田中", "daiki.tanaka@acme.example") == "daikitanaka"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{first}.{middle}", r"unknown placeholder \{middle\}"),
        ("{First}", r"unknown placeholder \{First\}"),
        ("{}", r"unknown placeholder \{\}"),
        ("first.last", "has no placeholder"),
        ("{first", "unbalanced brace"),
        ("{first}}", "unbalanced brace"),
        ("{first} {last}", "may hold only"),
        ("{first}+{last}", "may hold only"),
        ("{first}.{last}@x", "may hold only"),
        ("X{first}", "may hold only"),
        (7, "expected a template"),
        (["{first}"], "expected a template"),
    ],
)
def test_bad_templates_are_config_errors_naming_the_setting(template, message):
    with pytest.raises(ConfigError, match=f"^username_template: .*{message}"):
        parse_settings({"api_key": "k", "username_template": template})


def test_a_blank_template_is_the_default_in_settings_and_an_error_when_parsed():
    assert parse_settings({"api_key": "k", "username_template": " "}).username_template is None
    with pytest.raises(ConfigError, match="expected a template"):
        parse_template("  ")


def test_settings_carry_the_template_and_the_cap():
    parsed = parse_settings(
        {"api_key": "k", "username_template": " {f}{last} ", "username_max_length": "12"}
    )
    assert parsed.username_template == parse_template("{f}{last}")
    assert parsed.username_max_length == 12
    default = parse_settings({"api_key": "k"})
    assert (default.username_template, default.username_max_length) == (None, None)
    options = PlanOptions.from_settings(default)
    assert options.username_template == DEFAULT_USERNAME_TEMPLATE


@pytest.mark.parametrize("value", [7, 0, -1, "7", 1025, True, "twelve", 12.5, [12]])
def test_bad_max_lengths_are_config_errors(value):
    length, problems = check_max_length(value)
    assert length is None
    assert len(problems) == 1
    assert problems[0].startswith("username_max_length: ")
    with pytest.raises(ConfigError, match=r"username_max_length: "):
        parse_settings({"api_key": "k", "username_max_length": value})


@pytest.mark.parametrize(("value", "expected"), [(None, None), ("", None), (8, 8), ("1024", 1024)])
def test_max_length_values(value, expected):
    assert check_max_length(value) == (expected, [])


# -- the cap and collisions -------------------------------------------------------------------


def test_three_people_with_one_long_name_capped_at_12():
    allocator = UsernameAllocator()
    names = [allocator.allocate("alexandra.papadopoulou", 12) for _ in range(3)]
    assert names == ["alexandra.pa", "alexandra.p1", "alexandra.p2"]
    assert all(len(name) <= 12 for name in names)


def test_the_cap_counts_the_number_and_skips_names_already_taken():
    allocator = UsernameAllocator(["alexandra.pa", "alexandra.p1", "ALEXANDRA.P3"])
    assert allocator.allocate("alexandra.papadopoulou", 12) == "alexandra.p2"
    assert allocator.allocate("alexandra.papadopoulou", 12) == "alexandra.p4"
    many = [allocator.allocate("alexandra.papadopoulou", 12) for _ in range(10)]
    assert many[-1] == "alexandra14"  # two digits: cut one more, and the dot goes
    assert all(len(name) <= 12 for name in many)
    assert len(set(many)) == len(many)


def test_a_cut_never_ends_in_a_separator():
    allocator = UsernameAllocator()
    assert allocator.allocate("alexandra.papadopoulou", 10) == "alexandra"
    assert allocator.allocate("alexandra.papadopoulou", 10) == "alexandra1"
    assert allocator.allocate("abcdefg-hij", 8) == "abcdefg"
    assert allocator.allocate("abcdefg-hij", 8) == "abcdefg1"


def test_short_names_are_not_cut():
    allocator = UsernameAllocator()
    assert [allocator.allocate("ada.l", 8) for _ in range(2)] == ["ada.l", "ada.l1"]


def worker(profile_id: str, first: str, last: str, email: str) -> dict[str, Any]:
    return {
        "id": profile_id,
        "first_name": first,
        "last_name": last,
        "work_email": email,
        "active": True,
    }


def test_the_plan_uses_the_template_and_the_cap_against_the_directory():
    taken = DirectoryUser("66b0", "alexandra.pa", "old@acme.example", UserState.ACTIVATED, {})
    records = [
        map_record(
            worker(f"p{i}", "Alexandra", "Papadopoulou", f"a{i}@acme.example"), DEFAULT_MAPPING, i
        )
        for i in range(3)
    ]
    options = PlanOptions(username_max_length=12)
    plan = plan_sync(records, Directory([taken]), options)
    assert [a.username for a in plan.actions] == ["alexandra.p1", "alexandra.p2", "alexandra.p3"]
    assert {(a.username_base, a.username_max_length) for a in plan.actions} == {
        ("alexandra.papadopoulou", 12)
    }
    templated = plan_sync(
        records, Directory(), PlanOptions(username_template=parse_template("{f}{last}"))
    )
    assert [a.username for a in templated.actions] == [
        "apapadopoulou",
        "apapadopoulou1",
        "apapadopoulou2",
    ]
