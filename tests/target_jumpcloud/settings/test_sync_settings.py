"""Settings validation: every problem is a ConfigError naming the setting; the key never leaks."""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.model import UserState
from target_jumpcloud.settings.sync_settings import (
    ConfigError,
    SuspensionLimit,
    SyncSettings,
    parse_settings,
    parse_suspension_limit,
    require_secure_url,
)
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING

KEY = "jc-secret-key-0123456789"


def settings(**extra: Any) -> SyncSettings:
    return parse_settings({"api_key": KEY, **extra})


# -- defaults -------------------------------------------------------------------------------------


def test_defaults():
    s = settings()
    assert s.api_url == "https://console.jumpcloud.com/api"
    assert s.api_key == KEY
    assert s.org_id is None
    assert s.worker_stream == "people"
    assert s.mapping == dict(DEFAULT_MAPPING)
    assert s.user_state_on_create is UserState.STAGED
    assert s.reactivate_suspended_users is False
    assert s.max_suspensions == SuspensionLimit(20, percent=True)
    assert s.dry_run is False
    assert s.report_path is None


def test_explicit_values():
    s = settings(
        api_url="https://console.eu.jumpcloud.com/api/",
        org_id=" 5a9d7329feb7f81004ecbee4 ",
        worker_stream="workers",
        user_state_on_create="activated",
        reactivate_suspended_users=True,
        max_suspensions="10",
        dry_run="TRUE",
        report_path="/tmp/report.json",
        mapping={"jobTitle": "title", "location": None},
        batch_size_rows=100,  # an SDK setting: ignored
    )
    assert s.api_url == "https://console.eu.jumpcloud.com/api"
    assert s.org_id == "5a9d7329feb7f81004ecbee4"
    assert s.worker_stream == "workers"
    assert s.user_state_on_create is UserState.ACTIVATED
    assert s.reactivate_suspended_users is True
    assert s.max_suspensions == SuspensionLimit(10, percent=False)
    assert s.dry_run is True
    assert s.report_path == "/tmp/report.json"
    assert s.mapping["jobTitle"] == "title"
    assert "location" not in s.mapping


@pytest.mark.parametrize("blank", [None, ""])
def test_blank_optional_values_fall_back_to_defaults(blank):
    s = settings(
        api_url=blank,
        org_id=blank,
        worker_stream=blank,
        user_state_on_create=blank,
        max_suspensions=blank,
        report_path=blank,
        mapping=blank,
        dry_run=None,
    )
    assert s.api_url == "https://console.jumpcloud.com/api"
    assert s.org_id is None
    assert s.worker_stream == "people"
    assert s.user_state_on_create is UserState.STAGED
    assert s.max_suspensions == SuspensionLimit(20, percent=True)
    assert s.report_path is None
    assert s.mapping == dict(DEFAULT_MAPPING)


def test_mapping_given_as_json_text():
    s = settings(mapping='{"jobTitle": "title", "costCenter": null}')
    assert s.mapping["jobTitle"] == "title"
    assert "costCenter" not in s.mapping


# -- the API key ----------------------------------------------------------------------------------


@pytest.mark.parametrize("config", [{}, {"api_key": None}, {"api_key": ""}, {"api_key": "   "}])
def test_missing_api_key(config):
    # (Without a service account either: tests/target_jumpcloud/settings/test_credentials.py.)
    with pytest.raises(ConfigError, match=r"^api_key, client_id, client_secret: no credentials"):
        parse_settings(config)


def test_api_key_of_wrong_type_is_refused_without_echo():
    with pytest.raises(ConfigError, match=r"^api_key: expected a string") as info:
        parse_settings({"api_key": 1234567})
    assert "1234567" not in str(info.value)


def test_api_key_is_not_in_the_repr():
    s = settings()
    assert KEY not in repr(s)
    assert KEY not in str(s)


@pytest.mark.parametrize(
    "extra",
    [
        {"api_url": "http://example.com"},
        {"dry_run": "maybe"},
        {"max_suspensions": "lots"},
        {"user_state_on_create": "SUSPENDED"},
        {"mapping": {"username": "x"}},
        {"org_id": 5},
    ],
)
def test_errors_never_contain_the_key(extra):
    with pytest.raises(ConfigError) as info:
        settings(**extra)
    assert KEY not in str(info.value)


# -- booleans, enums, strings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(True, True), (False, False), ("true", True), ("False", False), (" TRUE ", True)],
)
@pytest.mark.parametrize("name", ["dry_run", "reactivate_suspended_users"])
def test_booleans_accept_true_false_text(name, raw, expected):
    assert getattr(settings(**{name: raw}), name) is expected


@pytest.mark.parametrize("raw", ["yes", "1", 1, 0, "on", [], {}])
@pytest.mark.parametrize("name", ["dry_run", "reactivate_suspended_users"])
def test_booleans_refuse_other_values(name, raw):
    with pytest.raises(ConfigError, match=rf"^{name}: expected true or false"):
        settings(**{name: raw})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("STAGED", UserState.STAGED),
        ("staged", UserState.STAGED),
        ("Activated", UserState.ACTIVATED),
    ],
)
def test_user_state_on_create(raw, expected):
    assert settings(user_state_on_create=raw).user_state_on_create is expected


@pytest.mark.parametrize("raw", ["SUSPENDED", "active", 1, True])
def test_user_state_on_create_refuses_others(raw):
    with pytest.raises(
        ConfigError, match=r"^user_state_on_create: expected 'STAGED' or 'ACTIVATED'"
    ):
        settings(user_state_on_create=raw)


@pytest.mark.parametrize("name", ["org_id", "worker_stream", "report_path"])
def test_string_settings_refuse_other_types(name):
    with pytest.raises(ConfigError, match=rf"^{name}: expected a string"):
        settings(**{name: 42})


def test_api_url_of_wrong_type():
    with pytest.raises(ConfigError, match=r"^api_url: expected a URL string"):
        settings(api_url=42)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", r"^mapping: not a valid JSON object"),
        ("[1, 2]", r"^mapping: expected an object"),
        (["email"], r"^mapping: expected an object"),
        ({"email": None}, r"^mapping: email must have a source path"),
        ({"nickname": "x"}, r"^mapping: unknown JumpCloud attribute 'nickname'"),
    ],
)
def test_mapping_problems(raw, message):
    with pytest.raises(ConfigError, match=message):
        settings(mapping=raw)


# -- require_secure_url ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://console.jumpcloud.com/api", "https://console.jumpcloud.com/api"),
        ("https://console.jumpcloud.com/api/", "https://console.jumpcloud.com/api"),
        ("HTTPS://Console.JumpCloud.com/api//", "HTTPS://Console.JumpCloud.com/api"),
        ("http://localhost:8080/api", "http://localhost:8080/api"),
        ("http://LOCALHOST/api/", "http://LOCALHOST/api"),
        ("http://127.0.0.1:5000/api", "http://127.0.0.1:5000/api"),
        ("http://127.255.3.4/api", "http://127.255.3.4/api"),
        ("http://[::1]:9000/api", "http://[::1]:9000/api"),
        ("  https://example.com  ", "https://example.com"),
    ],
)
def test_secure_urls_accepted(url, expected):
    assert require_secure_url(url, "api_url") == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://console.jumpcloud.com/api",
        "http://10.0.0.1/api",
        "http://128.0.0.1/api",
        "http://localhost.example.com/api",
        "http://127.0.0.1.nip.io/api",
        "http://[::2]/api",
    ],
)
def test_plain_http_refused_for_non_loopback(url):
    with pytest.raises(ConfigError, match=r"^api_url: HTTPS is required"):
        require_secure_url(url, "api_url")


@pytest.mark.parametrize("url", ["", "   ", "console.jumpcloud.com/api", "ftp://x.io", "https://"])
def test_malformed_urls_refused(url):
    with pytest.raises(ConfigError, match=r"^deel_url: "):
        require_secure_url(url, "deel_url")


def test_bad_port_refused():
    with pytest.raises(ConfigError, match=r"^api_url: not a valid URL"):
        require_secure_url("https://example.com:99999/api", "api_url")


def test_credentials_in_url_are_not_echoed():
    with pytest.raises(ConfigError) as info:
        require_secure_url("http://admin:hunter2@example.com/api", "api_url")
    assert "hunter2" not in str(info.value)
    assert "example.com" in str(info.value)


# -- max_suspensions ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (0, SuspensionLimit(0, percent=False)),
        (10, SuspensionLimit(10, percent=False)),
        ("10", SuspensionLimit(10, percent=False)),
        (" 7 ", SuspensionLimit(7, percent=False)),
        ("20%", SuspensionLimit(20, percent=True)),
        (" 20 % ", SuspensionLimit(20, percent=True)),
        ("0%", SuspensionLimit(0, percent=True)),
        ("100%", SuspensionLimit(100, percent=True)),
    ],
)
def test_parse_suspension_limit(raw, expected):
    assert parse_suspension_limit(raw) == expected


@pytest.mark.parametrize(
    "raw", ["abc", "", "%", "2.5%", "1.5", 1.5, True, False, None, [], "-1", "x%"]
)
def test_parse_suspension_limit_refuses(raw):
    with pytest.raises(ConfigError, match=r"^max_suspensions: expected an integer or a percentage"):
        parse_suspension_limit(raw)


def test_parse_suspension_limit_message_names_the_value():
    with pytest.raises(ConfigError) as info:
        parse_suspension_limit("abc")
    assert str(info.value) == (
        "max_suspensions: expected an integer or a percentage like '20%', got 'abc'"
    )


def test_negative_and_over_100_percent_refused():
    with pytest.raises(ConfigError, match=r"^max_suspensions: must not be negative"):
        parse_suspension_limit(-1)
    with pytest.raises(ConfigError, match=r"^max_suspensions: a percentage must be between"):
        parse_suspension_limit("101%")


@pytest.mark.parametrize(
    ("limit", "matched", "expected"),
    [
        (SuspensionLimit(20, percent=True), 100, 20),
        (SuspensionLimit(20, percent=True), 104, 20),  # 20.8 rounds down
        (SuspensionLimit(20, percent=True), 109, 21),  # 21.8 rounds down
        (SuspensionLimit(20, percent=True), 30, 6),
        (SuspensionLimit(20, percent=True), 29, 5),  # 5.8 → 5
        (SuspensionLimit(20, percent=True), 24, 5),  # 4.8 → 4 → floor of 5
        (SuspensionLimit(20, percent=True), 0, 5),
        (SuspensionLimit(0, percent=True), 1000, 5),
        (SuspensionLimit(100, percent=True), 12, 12),
        (SuspensionLimit(33, percent=True), 1000, 330),
        (SuspensionLimit(0, percent=False), 1000, 0),
        (SuspensionLimit(3, percent=False), 1000, 3),
        (SuspensionLimit(3, percent=False), 0, 3),
    ],
)
def test_limit_for(limit, matched, expected):
    assert limit.limit_for(matched) == expected


def test_limit_str():
    assert str(SuspensionLimit(20, percent=True)) == "20%"
    assert str(SuspensionLimit(4, percent=False)) == "4"
