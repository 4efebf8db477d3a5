"""`parse_credentials`: exactly one way to authenticate, the token URL, nothing echoed."""

from __future__ import annotations

from typing import Any

import pytest
from target_jumpcloud.settings.credentials import TOKEN_URLS, ServiceAccount
from target_jumpcloud.settings.sync_settings import ConfigError, parse_credentials, parse_settings

US = "https://console.jumpcloud.com/api"
EU = "https://console.eu.jumpcloud.com/api"
IN = "https://console.in.jumpcloud.com/api"
LOOPBACK = "http://127.0.0.1:47181/api"
SECRET = "cs-7d2f-very-secret"
PAIR = {"client_id": "svc-123", "client_secret": SECRET}


def credentials(api_url: str = US, **config: Any) -> tuple[str | None, ServiceAccount | None]:
    return parse_credentials(config, api_url)


def refusal(api_url: str = US, **config: Any) -> str:
    with pytest.raises(ConfigError) as caught:
        parse_credentials(config, api_url)
    message = str(caught.value)
    assert "\n" not in message  # one line
    for value in config.values():
        if isinstance(value, str) and len(value.strip()) > 3:
            assert value.strip() not in message, "a setting's value was echoed"
    return message


def test_an_api_key_alone_is_the_personal_key_way() -> None:
    assert credentials(api_key=" key-1 ") == ("key-1", None)


def test_a_pair_alone_is_a_service_account_with_the_regions_token_url() -> None:
    for api_url, region in ((US, "US"), (EU, "EU"), (IN, "IN")):
        key, account = credentials(api_url, **PAIR)
        assert key is None
        assert account == ServiceAccount("svc-123", SECRET, TOKEN_URLS[region])


def test_a_given_token_url_wins_and_is_checked() -> None:
    _, account = credentials(US, **PAIR, token_url="https://sso.corp.example/oauth2/token/")
    assert account is not None
    assert account.token_url == "https://sso.corp.example/oauth2/token"
    _, account = credentials(LOOPBACK, **PAIR, token_url="http://127.0.0.1:47181/oauth2/token")
    assert account is not None
    assert account.token_url == "http://127.0.0.1:47181/oauth2/token"
    message = refusal(US, **PAIR, token_url="http://admin-oauth.id.jumpcloud.com/oauth2/token")
    assert message.startswith("token_url: HTTPS is required")


def test_no_default_token_url_for_an_api_url_that_is_not_jumpclouds() -> None:
    message = refusal(LOOPBACK, **PAIR)
    assert message.startswith("token_url: required")


@pytest.mark.parametrize(
    "config",
    [{}, {"api_key": ""}, {"api_key": "  ", "client_id": "", "client_secret": None}],
)
def test_neither_way_is_one_line_naming_the_three_settings(config: dict[str, Any]) -> None:
    message = refusal(**config)
    assert message.startswith("api_key, client_id, client_secret: no credentials")
    assert "`client_id` and `client_secret`" in message


@pytest.mark.parametrize(
    "config",
    [
        {"api_key": "key-1", **PAIR},
        {"api_key": "key-1", "client_id": "svc-123"},
        {"api_key": "key-1", "client_secret": SECRET},
    ],
)
def test_both_ways_are_refused(config: dict[str, Any]) -> None:
    message = refusal(**config)
    assert message.startswith("api_key, client_id, client_secret: both")
    assert "not both" in message


def test_half_a_pair_names_the_missing_half() -> None:
    assert refusal(client_id="svc-123").startswith("client_secret: required with client_id")
    assert refusal(client_secret=SECRET).startswith("client_id: required with client_secret")
    assert refusal(client_id="svc-123", client_secret=" ").startswith("client_secret: required")


@pytest.mark.parametrize("name", ["api_key", "client_id", "client_secret"])
def test_a_credential_of_the_wrong_type_is_refused_without_echo(name: str) -> None:
    config: dict[str, Any] = {**PAIR, name: 987654321}
    if name == "api_key":
        config = {"api_key": 987654321}
    with pytest.raises(ConfigError) as caught:
        parse_credentials(config, US)
    assert str(caught.value) == f"{name}: expected a string"


def test_settings_carry_the_service_account_and_never_show_the_secret() -> None:
    settings = parse_settings({**PAIR, "org_id": "5f1e0c0ffee0c0ffee0000aa"})
    assert settings.api_key is None
    assert settings.service_account == ServiceAccount("svc-123", SECRET, TOKEN_URLS["US"])
    assert settings.org_id == "5f1e0c0ffee0c0ffee0000aa"
    assert SECRET not in repr(settings)
    assert SECRET not in str(settings)


def test_the_token_url_is_ignored_with_an_api_key() -> None:
    settings = parse_settings({"api_key": "key-1", "token_url": "http://127.0.0.1:1/oauth2/token"})
    assert settings.api_key == "key-1"
    assert settings.service_account is None
