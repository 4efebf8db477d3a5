"""A bad config is reported whole in one run, and secrets are masked only where they stand."""

from __future__ import annotations

from target_jumpcloud.engine import EXIT_CONFIG
from target_jumpcloud.singer.exits import MIN_SECRET_LENGTH, Scrubber

from tests.target_jumpcloud.target_io_helpers import KEY, config_for, person, run_cli, singer_text


def _errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if "Bad config:" in line]


def test_every_config_mistake_is_reported_in_one_run(jumpcloud_api_url, tmp_path):
    config = {
        **config_for(jumpcloud_api_url),
        "max_suspensions": "abc",
        "mapping": {"jobtitel": "job_title", "email": None},
        "user_state_on_create": "ACTIVE",
    }
    result = run_cli(config, singer_text([person("p1", "Ada", "Lovelace")]), tmp_path)
    assert result.returncode == EXIT_CONFIG
    errors = _errors(result)
    assert len(errors) == 4, result.stderr
    text = "\n".join(errors)
    assert "max_suspensions: expected an integer or a percentage" in text
    assert "mapping: unknown JumpCloud attribute 'jobtitel'" in text
    assert "mapping: email must have a source path" in text
    assert "user_state_on_create" in text
    assert "Traceback" not in result.stdout + result.stderr


def test_a_setting_refused_by_the_schema_and_the_parser_is_named_once(jumpcloud_api_url, tmp_path):
    config = {**config_for(jumpcloud_api_url), "user_state_on_create": "ACTIVE"}
    result = run_cli(config, "", tmp_path)
    assert result.returncode == EXIT_CONFIG
    (error,) = _errors(result)
    assert "user_state_on_create" in error


def test_a_bad_secret_setting_never_shows_its_value(jumpcloud_api_url, tmp_path):
    config = {**config_for(jumpcloud_api_url), "api_key": ["a-key-in-a-list-123456"]}
    result = run_cli(config, "", tmp_path)
    assert result.returncode == EXIT_CONFIG
    assert "a-key-in-a-list-123456" not in result.stdout + result.stderr
    assert any("api_key:" in line for line in _errors(result))


def test_the_scrubber_masks_whole_occurrences_only():
    scrub = Scrubber(["s3cr3t-key-9f8e7d"])
    assert scrub("sent x-api-key: s3cr3t-key-9f8e7d to host") == "sent x-api-key: *** to host"
    assert scrub("'s3cr3t-key-9f8e7d'") == "'***'"
    # Not the key: a longer token that merely contains it.
    assert scrub("xs3cr3t-key-9f8e7dx") == "xs3cr3t-key-9f8e7dx"


def test_a_short_value_is_not_treated_as_a_secret():
    short = "e" * (MIN_SECRET_LENGTH - 1)
    message = "mapping: unknown JumpCloud attribute 'employee'; allowed: email"
    assert Scrubber([short, "e"])(message) == message


def test_secrets_from_config_and_environment_are_both_masked(monkeypatch):
    monkeypatch.setenv("TARGET_JUMPCLOUD_API_KEY", "env-key-0123456789")
    scrub = Scrubber.for_config(
        {"api_key": KEY + "-long"}, ["api_key"], parse_env=True, prefix="TARGET_JUMPCLOUD_"
    )
    assert scrub(f"a {KEY}-long b env-key-0123456789 c") == "a *** b *** c"


def test_group_rule_mistakes_are_bad_config_lines_with_the_others(jumpcloud_api_url, tmp_path):
    """docs/groups.md: an unknown placeholder, an empty template, a `when` on an attribute the
    mapping does not produce: one line each, beside every other problem, before any request."""
    config = {
        **config_for(jumpcloud_api_url),
        "max_suspensions": "abc",
        "group_rules": [
            {"group": "Dept - {departement}"},
            {"group": ""},
            {"group": "Contractors", "when": {"hiring_type": "contractor"}},
        ],
        "group_ledger_attribute": "deel-groups",
    }
    result = run_cli(config, singer_text([person("p1", "Ada", "Lovelace")]), tmp_path)
    assert result.returncode == EXIT_CONFIG
    errors = _errors(result)
    assert len(errors) == 5, result.stderr
    text = "\n".join(errors)
    assert "group_rules[1]: group: unknown placeholder {departement}" in text
    assert "group_rules[2]: group: the template is empty" in text
    assert "group_rules[3]: when: 'hiring_type' is not an attribute the mapping produces" in text
    assert "group_ledger_attribute" in text
    assert "Traceback" not in result.stdout + result.stderr
