"""The auth providers on their own: token URLs, the renewal schedule on a fake clock, sharing.

No HTTP here: the grant is a fake that counts its calls, the clock a number the test moves.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest
from hypothesis import given
from hypothesis import strategies as st
from target_jumpcloud.jumpcloud.auth import (
    ASSUMED_LIFETIME,
    RENEWAL_MARGIN,
    ApiKeyAuth,
    Credential,
    ServiceAccountAuth,
    TokenGrant,
    TokenResponseError,
    read_token_response,
    renewal_time,
)
from target_jumpcloud.settings.credentials import (
    TOKEN_URLS,
    ServiceAccount,
    basic_authorization,
    default_token_url,
    region_of,
)

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = "s3cr3t-value-XYZ"
ACCOUNT = ServiceAccount("client-1", SECRET, TOKEN_URLS["US"])


class FakeClock:
    """Seconds that move only when the test says so."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FakeGrant:
    """Mints `token-1`, `token-2`, ... with `lifetime`; `during` runs inside each grant."""

    def __init__(
        self, lifetime: float = 3600.0, during: Callable[[], object] | None = None
    ) -> None:
        self.lifetime = lifetime
        self.during = during
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self) -> TokenGrant:
        with self._lock:
            self.calls += 1
            number = self.calls
        if self.during is not None:
            self.during()
        return TokenGrant(f"token-{number}", self.lifetime)


def bearer(credential: Credential) -> str:
    return credential.headers["Authorization"].removeprefix("Bearer ")


# -- region → token URL --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_url", "region"),
    [
        ("https://console.jumpcloud.com/api", "US"),
        ("https://CONSOLE.JumpCloud.com/api/", "US"),
        ("https://console.jumpcloud.com./api", "US"),
        ("https://jumpcloud.com/api", "US"),
        ("https://console.eu.jumpcloud.com/api", "EU"),
        ("https://console.in.jumpcloud.com/api", "IN"),
        ("https://console.eu.jumpcloud.com:443/api", "EU"),
        ("http://127.0.0.1:8080/api", None),
        ("https://jumpcloud.com.attacker.example/api", None),
        ("https://notjumpcloud.com/api", None),
        ("https://proxy.corp.example/jumpcloud/api", None),
    ],
)
def test_the_region_comes_from_the_console_host(api_url: str, region: str | None) -> None:
    assert region_of(api_url) == region
    assert default_token_url(api_url) == (TOKEN_URLS[region] if region else None)


def test_the_token_urls_are_the_admin_oauth_endpoints() -> None:
    assert TOKEN_URLS == {
        "US": "https://admin-oauth.id.jumpcloud.com/oauth2/token",
        "EU": "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token",
        "IN": "https://admin-oauth.id.in.jumpcloud.com/oauth2/token",
    }


# -- the schedule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lifetime", "renew_after"),
    [(3600, 3570), (300, 270), (60, 30), (40, 20), (10, 5), (1, 0.5)],
)
def test_a_token_is_renewed_30_s_or_half_its_life_before_it_runs_out(
    lifetime: float, renew_after: float
) -> None:
    assert renewal_time(100.0, lifetime) == pytest.approx(100.0 + renew_after)


@given(
    minted=st.floats(min_value=0, max_value=1e9, allow_nan=False),
    lifetime=st.floats(min_value=0.01, max_value=1e7, allow_nan=False),
)
def test_renewal_always_falls_in_the_second_half_of_the_life_before_expiry(
    minted: float, lifetime: float
) -> None:
    renew = renewal_time(minted, lifetime)
    assert renew < minted + lifetime or lifetime < 1e-6 * minted  # (float rounding)
    assert renew >= minted + lifetime / 2 - 1e-6 * max(1.0, minted)
    assert renew >= minted + lifetime - RENEWAL_MARGIN - 1e-6 * max(1.0, minted)


def test_the_token_is_minted_once_and_reused_until_its_renewal_time() -> None:
    clock, grant = FakeClock(), FakeGrant(lifetime=3600)
    auth = ServiceAccountAuth(ACCOUNT, grant, clock=clock)
    assert grant.calls == 0  # nothing is minted before the first request
    first = auth.current()
    assert bearer(first) == "token-1"
    for step in (1, 600, 3000, 3569.9):
        clock.now = 1000.0 + step
        assert auth.current() is first
    assert grant.calls == 1
    clock.now = 1000.0 + 3570
    renewed = auth.current()
    assert bearer(renewed) == "token-2"
    assert grant.calls == 2
    assert auth.grants == 2
    assert auth.current() is renewed


def test_a_short_lived_token_is_renewed_at_half_its_life() -> None:
    clock, grant = FakeClock(), FakeGrant(lifetime=40)
    auth = ServiceAccountAuth(ACCOUNT, grant, clock=clock)
    auth.current()
    clock.now += 19.99
    auth.current()
    assert grant.calls == 1
    clock.now += 0.01
    auth.current()
    assert grant.calls == 2


def test_the_lifetime_counts_from_when_the_grant_was_asked_for() -> None:
    clock = FakeClock(0.0)

    def slow() -> None:
        clock.now += 20.0  # the token endpoint took 20 s to answer

    auth = ServiceAccountAuth(ACCOUNT, FakeGrant(lifetime=3600, during=slow), clock=clock)
    assert auth.current().renew_at == pytest.approx(3570.0)


def test_a_401_renews_once_and_a_stale_rejection_reuses_the_new_token() -> None:
    clock, grant = FakeClock(), FakeGrant()
    auth = ServiceAccountAuth(ACCOUNT, grant, clock=clock)
    old = auth.current()
    fresh = auth.renew(old)
    assert bearer(fresh) == "token-2"
    # Another request sent with the old token comes back 401 later: no grant of its own.
    assert auth.renew(old) is fresh
    assert grant.calls == 2
    assert auth.current() is fresh


# -- sharing between threads -----------------------------------------------------------------


def test_concurrent_401s_with_the_same_token_share_exactly_one_grant() -> None:
    threads_count = 12
    arrived = threading.Barrier(threads_count)
    release = threading.Event()
    grant = FakeGrant(during=release.wait)
    auth = ServiceAccountAuth(ACCOUNT, grant, clock=FakeClock())
    release.set()
    old = auth.current()  # token-1
    release.clear()
    got: list[Credential] = []
    lock = threading.Lock()

    def rejected() -> None:
        arrived.wait()  # all threads saw their 401 with token-1 at the same moment
        credential = auth.renew(old)
        with lock:
            got.append(credential)

    threads = [threading.Thread(target=rejected) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    release.set()  # let the one grant finish (the others queue behind the lock meanwhile)
    for thread in threads:
        thread.join(timeout=10)
    assert grant.calls == 2  # token-1, then exactly one renewal for all twelve
    assert len(got) == threads_count
    assert {bearer(c) for c in got} == {"token-2"}


def test_threads_that_find_the_token_stale_together_share_one_grant() -> None:
    clock = FakeClock()
    release = threading.Event()
    grant = FakeGrant(lifetime=60, during=release.wait)
    auth = ServiceAccountAuth(ACCOUNT, grant, clock=clock)
    release.set()
    auth.current()
    release.clear()
    clock.now += 31  # past the renewal time (half of 60 s)
    got: list[str] = []
    threads = [threading.Thread(target=lambda: got.append(bearer(auth.current()))) for _ in "x" * 8]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert grant.calls == 2
    assert got == ["token-2"] * 8


def test_a_failed_grant_is_remembered_so_the_endpoint_is_not_asked_again() -> None:
    calls = 0

    def broken() -> TokenGrant:
        nonlocal calls
        calls += 1
        raise RuntimeError("the token endpoint gave up")

    auth = ServiceAccountAuth(ACCOUNT, broken, clock=FakeClock())
    for _ in range(5):
        with pytest.raises(RuntimeError, match="gave up"):
            auth.current()
    assert calls == 1


# -- what each provider sends, and keeps secret ------------------------------------------------


def test_the_service_account_sends_a_bearer_token_and_never_the_key_header() -> None:
    auth = ServiceAccountAuth(ACCOUNT, FakeGrant(), clock=FakeClock())
    credential = auth.current()
    assert credential.headers == {"Authorization": "Bearer token-1"}
    assert auth.basic_credential().headers == {
        "Authorization": basic_authorization("client-1", SECRET)
    }
    assert auth.settings == ("client_id", "client_secret")


def test_the_api_key_is_sent_as_x_api_key_and_cannot_be_renewed() -> None:
    auth = ApiKeyAuth("key-123")
    credential = auth.current()
    assert credential.headers == {"x-api-key": "key-123"}
    assert credential.renew_at == float("inf")
    assert auth.current() is credential
    assert auth.renew(credential) is None
    assert auth.secrets() == ("key-123",)
    assert "key-123" not in repr(auth) + repr(credential)


def test_basic_authorization_is_base64_of_id_colon_secret() -> None:
    # RFC 7617's own example.
    assert basic_authorization("Aladdin", "open sesame") == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
    assert basic_authorization("é", "ü") == "Basic w6k6w7w="  # UTF-8


def test_secrets_hold_the_client_secret_the_basic_value_and_every_token() -> None:
    clock = FakeClock()
    auth = ServiceAccountAuth(ACCOUNT, FakeGrant(lifetime=60), clock=clock)
    auth.current()
    clock.now += 31
    auth.current()
    found = auth.secrets()
    assert SECRET in found
    assert basic_authorization("client-1", SECRET).removeprefix("Basic ") in found
    assert {"token-1", "token-2"} <= set(found)
    shown = repr(auth) + repr(auth.current()) + repr(ACCOUNT) + repr(TokenGrant("token-9", 1))
    for secret in (SECRET, "token-1", "token-2", "token-9"):
        assert secret not in shown


# -- reading the token endpoint's answer ---------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "lifetime"),
    [
        ({"access_token": "abc", "token_type": "Bearer", "expires_in": 3600}, 3600.0),
        ({"access_token": "abc", "token_type": "bearer", "expires_in": 3599.5}, 3599.5),
        ({"access_token": "abc", "expires_in": "1800"}, 1800.0),
        ({"access_token": "abc"}, ASSUMED_LIFETIME),
        ({"access_token": "abc", "expires_in": 0}, ASSUMED_LIFETIME),
        ({"access_token": "abc", "expires_in": -5}, ASSUMED_LIFETIME),
        ({"access_token": "abc", "expires_in": True}, ASSUMED_LIFETIME),
        ({"access_token": "abc", "expires_in": "soon"}, ASSUMED_LIFETIME),
        ({"access_token": "abc", "expires_in": None}, ASSUMED_LIFETIME),
    ],
)
def test_a_grant_is_read_with_a_safe_lifetime(body: dict[str, object], lifetime: float) -> None:
    grant = read_token_response(body)
    assert grant.access_token == "abc"
    assert grant.expires_in == lifetime


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "abc",
        {},
        {"access_token": ""},
        {"access_token": 42},
        {"access_token": "two words"},
        {"access_token": "line\r\nx-injected: 1"},
        {"access_token": "abc", "token_type": "mac"},
        {"access_token": "abc", "token_type": 1},
    ],
)
def test_an_answer_without_a_usable_bearer_token_is_refused_without_quoting_it(
    body: object,
) -> None:
    with pytest.raises(TokenResponseError) as caught:
        read_token_response(body)
    assert "line" not in str(caught.value)
    assert "words" not in str(caught.value)
