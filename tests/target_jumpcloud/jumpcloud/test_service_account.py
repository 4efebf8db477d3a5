"""JumpCloudClient with a service account, against the emulator over loopback HTTP.

The grant's shape, Bearer on every request, renewal on schedule (fake clock) and after a 401,
one renewal for concurrent threads, refused and unavailable token endpoints, secrets.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    TokenUnavailableError,
)
from target_jumpcloud.model import UserState
from target_jumpcloud.settings.credentials import ServiceAccount
from target_jumpcloud.settings.sync_settings import ConfigError

from tests.emulators.base import EmulatorServer, Request, Response
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.jumpcloud_oauth import TOKEN_PATH
from tests.reliability.harness import HookedJumpCloud
from tests.target_jumpcloud.target_io_helpers import FAST_CLIENT

if TYPE_CHECKING:
    from collections.abc import Iterator

CLIENT_ID = "svc-client-01"
SECRET = "svc-secret-5b8e1f"
ORG = "5f1e0c0ffee0c0ffee0000aa"
FAST: dict[str, Any] = dict(FAST_CLIENT)


@pytest.fixture
def server() -> Iterator[EmulatorServer[HookedJumpCloud]]:
    app = HookedJumpCloud(api_key="unused-key", service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        yield running


def sa_client(
    server: EmulatorServer[Any], *, secret: str = SECRET, **options: Any
) -> JumpCloudClient:
    account = ServiceAccount(CLIENT_ID, secret, f"{server.url}{TOKEN_PATH}")
    return JumpCloudClient(f"{server.url}/api", service_account=account, **{**FAST, **options})


def token_requests(app: JumpCloudEmulator) -> int:
    return len(app.requests("POST", TOKEN_PATH))


def seed(app: JumpCloudEmulator, count: int) -> None:
    app.set_users([{"username": f"u{i}", "email": f"u{i}@acme.example"} for i in range(count)])


# -- the grant and the headers -------------------------------------------------------------------


def test_one_grant_serves_every_request_with_a_bearer_token(server) -> None:
    app = server.app
    seed(app, 250)
    client = sa_client(server)
    assert token_requests(app) == 0  # constructing connects to nothing
    assert len(list(client.iter_users(concurrency=4))) == 250
    client.find_users_by("email", "u7@acme.example")
    client.update_user(app.users()[0]["_id"], {"jobTitle": "Chief"})
    assert app.oauth.grants == 1
    assert client.grants == 1
    # The emulator refuses a request with both headers, and accepts no key here: every API
    # request carried the Bearer token alone.
    statuses = {e.status for e in app.requests() if e.path != TOKEN_PATH}
    assert statuses == {200}
    (headers,) = app.oauth.request_headers
    assert "authorization" in headers
    assert "x-api-key" not in headers
    assert "x-org-id" not in headers
    assert headers >= {"content-type", "content-length"}


def test_the_grant_is_a_form_with_basic_client_authentication(server) -> None:
    app = server.app
    app.log_bodies = True
    sa_client(server).check_access()
    (entry,) = app.requests("POST", TOKEN_PATH)
    assert entry.body == "grant_type=client_credentials&scope=api"
    assert entry.status == 200


def test_org_id_is_still_sent_as_x_org_id() -> None:
    app = JumpCloudEmulator(org_id=ORG, service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        client = JumpCloudClient(
            f"{running.url}/api",
            org_id=ORG,
            service_account=ServiceAccount(CLIENT_ID, SECRET, f"{running.url}{TOKEN_PATH}"),
            **FAST,
        )
        client.check_access()  # the emulator requires a matching x-org-id
        without = sa_client(running)
        with pytest.raises(AuthenticationError) as caught:
            without.check_access()
        assert "`org_id`" in str(caught.value)
        assert "x-org-id is required" in str(caught.value)


# -- renewal on schedule (fake clock) and after a 401 ---------------------------------------------


def test_the_token_is_renewed_on_the_clients_clock_before_it_expires(server) -> None:
    app = server.app
    app.oauth.lifetime = 3600
    now = [5000.0]
    client = sa_client(server, clock=lambda: now[0])
    client.check_access()
    now[0] += 3569
    client.check_access()
    assert app.oauth.grants == 1
    now[0] += 1  # 30 s before the hour is up
    client.check_access()
    assert app.oauth.grants == 2
    assert {e.status for e in app.requests("GET", "/api/systemusers")} == {200}


def test_a_retry_after_a_long_wait_carries_the_token_of_that_moment(server) -> None:
    app = server.app
    now = [0.0]

    def sleep(seconds: float) -> None:
        del seconds
        now[0] += 4000  # the backoff outlasted the token's renewal time

    client = sa_client(server, clock=lambda: now[0], sleep=sleep)
    client.check_access()
    app.faults.script("503", method="GET", path="/api/systemusers")
    client.check_access()
    assert [e.status for e in app.requests("GET", "/api/systemusers")] == [200, 503, 200]
    assert app.oauth.grants == 2  # renewed before the retry, not refused with 401 after it


def test_a_401_renews_the_token_once_and_repeats_the_request(server) -> None:
    app = server.app
    seed(app, 3)
    client = sa_client(server)
    client.check_access()
    app.oauth.expire_all()  # JumpCloud stops taking the token before the client expects it
    user = client.update_user(app.users()[0]["_id"], {"jobTitle": "Renewed"})
    assert user["jobTitle"] == "Renewed"
    puts = [e.status for e in app.requests("PUT")]
    assert puts == [401, 200]
    assert app.oauth.grants == 2
    assert app.writes == {"update": 1}


def test_a_create_refused_with_401_is_sent_again_and_stored_once(server) -> None:
    app = server.app
    client = sa_client(server)
    client.check_access()
    app.oauth.expire_all()
    created = client.create_user({"username": "new.user", "email": "new@acme.example"})
    assert created["_id"]
    assert [e.status for e in app.requests("POST", "/api/systemusers")] == [401, 200]
    assert app.writes == {"create": 1}
    assert app.user_count == 1


def test_a_second_401_stops_with_the_settings_to_check(server) -> None:
    app = server.app
    client = sa_client(server)
    client.check_access()

    def refuse_every_token(request: Request, response: Response | None) -> None:
        if request.path == TOKEN_PATH and response is not None and response.status == 200:
            app.oauth.expire_all()  # each new token is dead on arrival

    app.oauth.expire_all()
    app.hook = refuse_every_token
    with pytest.raises(AuthenticationError) as caught:
        client.update_user("66b0f2c4e1a9d3001f000000", {"jobTitle": "x"})
    message = str(caught.value)
    assert "`client_id` and `client_secret`" in message
    assert caught.value.setting == "client_id"
    assert caught.value.status == 401
    assert [e.status for e in app.requests("PUT")] == [401, 401]  # renewed once, then stopped
    assert app.oauth.grants == 2


def test_listing_threads_that_hit_an_expired_token_share_one_renewal(server) -> None:
    app = server.app
    seed(app, 1500)
    client = sa_client(server, pool_size=8)
    client.start_user_listing()
    pages = [0]
    lock = threading.Lock()

    def expire_after_the_third_page(request: Request, response: Response | None) -> None:
        if request.path == "/api/systemusers" and response is not None and response.status == 200:
            with lock:
                pages[0] += 1
                if pages[0] == 3:
                    app.oauth.expire_all()

    app.hook = expire_after_the_third_page
    users = list(client.iter_users(concurrency=8))
    assert len(users) == 1500
    assert len({u["_id"] for u in users}) == 1500
    assert app.oauth.grants == 2  # the first token, and one renewal for every thread
    refused = [e for e in app.requests("GET", "/api/systemusers") if e.status == 401]
    assert refused  # (some pages were refused and fetched again)


# -- the token endpoint refuses or is down --------------------------------------------------------


def test_a_wrong_secret_is_refused_once_naming_the_pair(server) -> None:
    app = server.app
    client = sa_client(server, secret="wrong-secret-value")
    with pytest.raises(AuthenticationError) as caught:
        client.check_access()
    message = str(caught.value)
    assert "refused the service account's credentials (HTTP 401: invalid_client)" in message
    assert "`client_id` and `client_secret`" in message
    assert "wrong-secret-value" not in message
    assert caught.value.setting == "client_id"
    assert token_requests(app) == 1  # never retried
    assert app.requests("GET", "/api/systemusers") == []


def test_a_revoked_service_account_is_refused(server) -> None:
    app = server.app
    sa_client(server).check_access()
    app.oauth.revoke_client(CLIENT_ID)
    client = sa_client(server)
    with pytest.raises(AuthenticationError, match="invalid_client"):
        client.check_access()


def test_a_flaky_token_endpoint_is_retried_like_the_api(server) -> None:
    app = server.app
    for kind in ("503", "drop", "429_retry_after", "500"):
        app.faults.script(kind, method="POST", path=TOKEN_PATH, seconds=0.01)
    client = sa_client(server)
    client.check_access()
    assert [e.status for e in app.requests("POST", TOKEN_PATH)] == [503, 0, 429, 500, 200]
    assert app.oauth.grants == 1


def test_a_token_endpoint_that_stays_down_fails_once_and_is_not_asked_again(server) -> None:
    app = server.app
    app.faults.script("503", method="POST", path=TOKEN_PATH, count=100)
    client = sa_client(server, min_attempts=3)
    with pytest.raises(TokenUnavailableError) as caught:
        client.check_access()
    assert "Could not get an access token" in str(caught.value)
    assert "gave up after 3 attempts" in str(caught.value)
    assert isinstance(caught.value, JumpCloudError)
    assert not isinstance(caught.value, AuthenticationError)
    with pytest.raises(TokenUnavailableError):
        client.update_user("66b0f2c4e1a9d3001f000000", {"jobTitle": "x"})
    assert token_requests(app) == 3  # the later request asked nobody
    assert app.requests("PUT") == []


def test_a_token_url_that_is_not_a_token_endpoint_names_token_url(server) -> None:
    # A 404, and a 200 without a token (emulator control routes: no API auth on them).
    for path in ("/_emulator/no-such-route", "/_emulator/reset-log"):
        account = ServiceAccount(CLIENT_ID, SECRET, f"{server.url}{path}")
        client = JumpCloudClient(f"{server.url}/api", service_account=account, **FAST)
        with pytest.raises(AuthenticationError) as caught:
            client.check_access()
        assert caught.value.setting == "token_url"
        assert "`token_url`" in str(caught.value)


def test_a_plain_http_token_url_is_refused_before_any_connection(monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("no connection may be opened")

    monkeypatch.setattr(socket, "create_connection", refuse)
    account = ServiceAccount(CLIENT_ID, SECRET, "http://admin-oauth.id.jumpcloud.com/oauth2/token")
    with pytest.raises(ConfigError, match=r"^token_url: HTTPS is required"):
        JumpCloudClient("https://console.jumpcloud.com/api", service_account=account)


def test_a_key_and_a_service_account_together_are_refused() -> None:
    account = ServiceAccount(CLIENT_ID, SECRET, "https://admin-oauth.id.jumpcloud.com/oauth2/token")
    with pytest.raises(AuthenticationError, match="either `api_key` or"):
        JumpCloudClient("https://console.jumpcloud.com/api", "key", service_account=account)


# -- secrets ---------------------------------------------------------------------------------------


class _EchoingJumpCloud(HookedJumpCloud):
    """A JumpCloud whose error messages quote the request's Authorization header."""

    def authenticate(self, request: Request) -> Response | None:
        if request.path.startswith("/api/") and request.method == "PUT":
            echoed = request.headers.get("authorization", "")
            return Response(400, {"message": f"bad request with {echoed}"})
        return super().authenticate(request)


def test_messages_are_scrubbed_of_tokens_and_the_secret_even_when_echoed() -> None:
    app = _EchoingJumpCloud(service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        client = sa_client(running)
        client.check_access()
        with pytest.raises(JumpCloudError) as caught:
            client.update_user("66b0f2c4e1a9d3001f000000", {"jobTitle": "x"})
        message = str(caught.value)
        assert "bad request with Bearer ***" in message
        for token in app.oauth.issued_tokens():
            assert token not in message
        assert SECRET not in repr(client) + message


def test_v2_scheduled_states_go_through_the_service_account_too(server) -> None:
    app = server.app
    seed(app, 2)
    user_id = app.users()[0]["_id"]
    client = sa_client(server)
    at = datetime.now(UTC) + timedelta(days=3)
    scheduled = client.schedule_state(UserState.SUSPENDED, at, [user_id])
    assert not scheduled.failed
    (job,) = client.list_scheduled_jobs(user_id=user_id)
    app.oauth.expire_all()  # refused once on the V2 route, renewed, sent again
    assert client.cancel_scheduled_job(job.id)
    assert client.list_scheduled_jobs(user_id=user_id) == []
    v2 = [e for e in app.requests() if e.path.startswith("/api/v2/")]
    assert [e.status for e in v2 if e.method == "DELETE"] == [401, 204]
    assert app.oauth.grants == 2
