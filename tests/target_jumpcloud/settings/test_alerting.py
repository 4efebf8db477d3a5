"""The alert settings: notify URLs in every form a config or the environment gives, never echoed."""

from __future__ import annotations

import json

import pytest
from target_jumpcloud.settings.alerting import (
    DEFAULT_NOTIFY_STATE_PATH,
    AlertSettings,
    notify_urls,
    read_alert_settings,
)
from target_jumpcloud.settings.sync_settings import ConfigError, parse_settings

SLACK = "slack://T0000AAAA/B0000BBBB/abcdefghijklmnopqrstuvwx/#it-alerts"
HOOK = "json://127.0.0.1:8080/hooks/secret-hook-token-42"


@pytest.mark.parametrize(
    "raw",
    [
        [SLACK, HOOK],
        json.dumps([SLACK, HOOK]),
        f"{SLACK},{HOOK}",
        f"{SLACK}\n{HOOK}",
        f" {SLACK} {HOOK} ",
    ],
)
def test_notify_is_a_list_from_a_config_or_an_environment_text(raw):
    assert notify_urls(raw) == [SLACK, HOOK]
    settings, problems = read_alert_settings({"notify": raw})
    assert problems == []
    assert settings.notify == (SLACK, HOOK)


def test_the_defaults_send_nothing_and_keep_the_state_under_output():
    settings, problems = read_alert_settings({})
    assert problems == []
    assert settings == AlertSettings()
    assert settings.notify == ()
    assert (
        settings.notify_state_path
        == DEFAULT_NOTIFY_STATE_PATH
        == ("output/target-jumpcloud-notify.json")
    )
    assert settings.metrics_path is None


def test_a_url_apprise_cannot_use_is_one_problem_that_never_shows_it():
    bad = "slak://T0000AAAA/B0000BBBB/abcdefghijklmnopqrstuvwx"
    settings, problems = read_alert_settings({"notify": [SLACK, bad, "no-scheme-secret-123456"]})
    assert len(problems) == 2
    assert problems[0].startswith("notify: URL #2 is a slak:// URL that Apprise cannot use")
    assert problems[1].startswith("notify: URL #3 is not a URL")
    text = "\n".join(problems)
    assert "abcdefghijklmnopqrstuvwx" not in text
    assert "no-scheme-secret-123456" not in text
    assert settings.notify == (SLACK,)  # the usable ones are kept, to announce the bad config


def test_parse_settings_reports_a_bad_notify_with_the_other_problems():
    config = {"api_key": "k" * 20, "notify": ["nope://x"], "metrics_path": 5, "dry_run": "maybe"}
    with pytest.raises(ConfigError) as caught:
        parse_settings(config)
    names = [problem.split(":", 1)[0] for problem in caught.value.problems]
    assert sorted(names) == ["dry_run", "metrics_path", "notify"]


def test_the_urls_stay_out_of_the_settings_repr():
    settings = parse_settings({"api_key": "k" * 20, "notify": [HOOK], "metrics_path": "m.prom"})
    assert settings.alerts.notify == (HOOK,)
    assert settings.alerts.metrics_path == "m.prom"
    assert "secret-hook-token-42" not in repr(settings)


@pytest.mark.parametrize("raw", [42, [1, 2], "[not json", {"a": SLACK}])
def test_notify_that_is_not_a_list_of_urls_is_a_problem(raw):
    _, problems = read_alert_settings({"notify": raw})
    assert len(problems) == 1
    assert problems[0].startswith("notify: ")
