"""The leaver settings: defaults, every problem named, a bad regex one `Bad config:` line."""

from __future__ import annotations

import pytest
from target_jumpcloud.engine import EXIT_CONFIG
from target_jumpcloud.settings.leavers import (
    DEFAULT_LEAVER_STEPS,
    LeaverStep,
    OutOfScopeMode,
    read_leaver_settings,
)
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings

from tests.target_jumpcloud.target_io_helpers import config_for, person, run_cli, singer_text


def test_the_defaults():
    settings, problems = read_leaver_settings({})
    assert problems == []
    assert settings.out_of_scope is OutOfScopeMode.REPORT
    assert settings.out_of_scope_after == 2
    assert settings.protected_group is None
    assert settings.leaver_steps == DEFAULT_LEAVER_STEPS == (LeaverStep.REMOVE_GROUPS,)
    assert settings.is_deel_id("0B4F3A52-1111-4C4C-8C8C-000000000001")
    assert not settings.is_deel_id("E-1001")
    assert not settings.is_deel_id("0b4f3a52-1111-4c4c-8c8c-000000000001-extra")  # in full


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"out_of_scope": "disable"}, "out_of_scope: expected 'report' or 'suspend'"),
        ({"out_of_scope_after": 0}, "out_of_scope_after: expected a whole number of runs, 1 or"),
        ({"out_of_scope_after": True}, "out_of_scope_after: expected a whole number"),
        ({"out_of_scope_id_pattern": "(["}, "out_of_scope_id_pattern: not a valid regular expr"),
        ({"protected_group": 7}, "protected_group: expected a JumpCloud user group's name"),
        ({"leaver_steps": ["wipe"]}, "leaver_steps: unknown step(s) 'wipe'; the steps are"),
        ({"leaver_steps": "reset_mfa"}, None),  # an environment value: a comma list
    ],
)
def test_each_problem_names_its_setting(config, expected):
    settings, problems = read_leaver_settings(config)
    if expected is None:
        assert problems == []
        assert settings.leaver_steps == (LeaverStep.RESET_MFA,)
    else:
        (problem,) = problems
        assert problem.startswith(expected)


def test_steps_run_in_their_own_order_once_each():
    settings, _ = read_leaver_settings(
        {"leaver_steps": ["expire_password", "reset_mfa", "expire_password"]}
    )
    assert settings.leaver_steps == (LeaverStep.RESET_MFA, LeaverStep.EXPIRE_PASSWORD)
    settings, _ = read_leaver_settings({"leaver_steps": []})
    assert settings.leaver_steps == ()
    settings, _ = read_leaver_settings({"leaver_steps": '["reset_mfa"]'})
    assert settings.leaver_steps == (LeaverStep.RESET_MFA,)


def test_the_settings_parser_reports_them_with_the_rest():
    with pytest.raises(ConfigError) as caught:
        parse_settings({"api_key": "k", "out_of_scope": "x", "max_suspensions": "abc"})
    names = [problem.split(":")[0] for problem in caught.value.problems]
    assert "out_of_scope" in names
    assert "max_suspensions" in names
    settings = parse_settings(
        {"api_key": "k", "out_of_scope": "SUSPEND", "protected_group": " A  B "}
    )
    assert settings.leavers.out_of_scope is OutOfScopeMode.SUSPEND
    assert settings.leavers.protected_group == "A B"


def test_a_bad_regex_is_one_bad_config_line(jumpcloud_api_url, tmp_path):
    config = {**config_for(jumpcloud_api_url), "out_of_scope_id_pattern": "[a-"}
    result = run_cli(config, singer_text([person("p1", "Ada", "Lovelace")]), tmp_path)
    assert result.returncode == EXIT_CONFIG
    (error,) = [line for line in result.stderr.splitlines() if "Bad config:" in line]
    assert "out_of_scope_id_pattern: not a valid regular expression" in error
    assert "Traceback" not in result.stderr
