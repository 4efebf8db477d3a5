"""The group settings (docs/groups.md): defaults, accepted values, and one problem per mistake."""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.settings.groups import (
    DEFAULT_LEDGER_ATTRIBUTE,
    GroupSettings,
    read_group_settings,
)
from target_jumpcloud.settings.mapping_table import DEFAULT_MAPPING
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings

MAPPING = {**DEFAULT_MAPPING, "attributes.costCode": "cost_code"}


def read(**config: Any) -> tuple[GroupSettings, list[str]]:
    return read_group_settings(config, MAPPING)


def test_a_config_without_them_has_no_groups() -> None:
    settings, problems = read()
    assert problems == []
    assert settings == GroupSettings()
    assert not settings.enabled
    assert settings.ledger_attribute == DEFAULT_LEDGER_ATTRIBUTE == "deelSyncGroups"
    assert settings.max_removal_percent == 20


def test_rules_are_read_with_their_placeholders_and_conditions() -> None:
    settings, problems = read(
        group_rules=[
            {"group": "All staff"},
            {"group": "Dept - {department}"},
            {"group": "{location} office", "when": {"employeeType": ["employee", " contractor "]}},
            {"group": "Cost {attributes.costCode}", "when": {"attributes.costCode": 42}},
            {"group": "Curly {{literal}}"},
        ],
        create_missing_groups="true",
        group_ledger_attribute="myGroups",
        max_group_removal_percent="35",
    )
    assert problems == []
    assert settings.enabled
    assert [r.placeholders for r in settings.rules] == [
        (),
        ("department",),
        ("location",),
        ("attributes.costCode",),
        (),
    ]
    assert settings.rules[2].when == (("employeeType", frozenset({"employee", "contractor"})),)
    assert settings.rules[3].when == (("attributes.costCode", frozenset({"42"})),)
    assert (settings.create_missing, settings.ledger_attribute) == (True, "myGroups")
    assert settings.max_removal_percent == 35


def test_rules_given_as_json_text_are_read() -> None:
    settings, problems = read(group_rules='[{"group": "All staff"}]')
    assert problems == []
    assert settings.rules[0].template == "All staff"


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"group_rules": {"group": "x"}}, "group_rules: expected a list of rules"),
        ({"group_rules": "[oops"}, "group_rules: not a valid JSON list"),
        ({"group_rules": ["All staff"]}, "group_rules[1]: expected an object"),
        ({"group_rules": [{"group": ""}]}, "group_rules[1]: group: the template is empty"),
        ({"group_rules": [{"group": "   "}]}, "group_rules[1]: group: the template is empty"),
        ({"group_rules": [{"when": {}}]}, "group_rules[1]: group: the template is empty"),
        (
            {"group_rules": [{"group": "Dept {departement}"}]},
            "group_rules[1]: group: unknown placeholder {departement}",
        ),
        (
            {"group_rules": [{"group": "{Department}"}]},
            "did you mean 'department'?",
        ),
        ({"group_rules": [{"group": "{state}"}]}, "unknown placeholder {state}"),
        ({"group_rules": [{"group": "{manager}"}]}, "unknown placeholder {manager}"),
        ({"group_rules": [{"group": "{}"}]}, "an empty placeholder"),
        ({"group_rules": [{"group": "{department!r}"}]}, "has a format or conversion"),
        ({"group_rules": [{"group": "oops {"}]}, "is not a valid template"),
        ({"group_rules": [{"group": "x" * 256}]}, "256 characters, more than JumpCloud's 255"),
        (
            {"group_rules": [{"group": "A", "when": {"team": "x"}}]},
            "when: 'team' is not an attribute the mapping produces",
        ),
        (
            {"group_rules": [{"group": "A", "when": {"department": [" "]}}]},
            "when: department: expected a non-empty text",
        ),
        ({"group_rules": [{"group": "A", "when": ["x"]}]}, "when: expected an object"),
        ({"group_rules": [{"group": "A", "if": {}}]}, "unknown key(s) if"),
        ({"create_missing_groups": "yes"}, "create_missing_groups: expected true or false"),
        ({"group_ledger_attribute": "deel-groups"}, "is not a custom attribute name"),
        ({"group_ledger_attribute": "x" * 32}, "is not a custom attribute name"),
        ({"group_ledger_attribute": "COSTCODE"}, "is also mapped as attributes.costCode"),
        ({"group_ledger_attribute": "deelSyncLeaver"}, "kept by the sync for another purpose"),
        ({"max_group_removal_percent": 101}, "max_group_removal_percent: expected a number"),
        ({"max_group_removal_percent": "lots"}, "max_group_removal_percent: expected a number"),
        ({"max_group_removal_percent": True}, "max_group_removal_percent: expected a number"),
    ],
)
def test_each_mistake_is_one_problem(config: dict[str, Any], problem: str) -> None:
    _, problems = read(**config)
    assert len(problems) == 1, problems
    assert problem in problems[0]


def test_a_placeholder_the_mapping_stopped_producing_is_a_problem() -> None:
    mapping = {k: v for k, v in DEFAULT_MAPPING.items() if k != "department"}
    _, problems = read_group_settings({"group_rules": [{"group": "{department}"}]}, mapping)
    assert "unknown placeholder {department}" in problems[0]


def test_group_problems_come_with_every_other_config_problem() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_settings(
            {
                "api_key": "k",
                "user_state_on_create": "NOPE",
                "group_rules": [{"group": "{nope}"}, {"group": ""}],
                "max_group_removal_percent": -1,
            }
        )
    problems = caught.value.problems
    assert any(p.startswith("user_state_on_create") for p in problems)
    assert sum(p.startswith("group_rules[") for p in problems) == 2
    assert any(p.startswith("max_group_removal_percent") for p in problems)


def test_the_parsed_settings_carry_the_groups() -> None:
    settings = parse_settings({"api_key": "k", "group_rules": [{"group": "All staff"}]})
    assert settings.groups.enabled
    assert settings.groups.rules[0].template == "All staff"
