"""Contract tests for the JumpCloud emulator's service accounts, over real HTTP.

The token endpoint (client credentials, Basic client auth only, `invalid_client`), Bearer
tokens on every API route, expiry and its control, revocation, grant counters, and faults on
the token endpoint through the emulator's own fault machinery.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.emulators.jumpcloud_oauth import TOKEN_PATH

if TYPE_CHECKING:
    from collections.abc import Iterator

CLIENT_ID = "svc-contract"
SECRET = "contract-secret-42"
KEY = "jc-test-key"
ORG = "65f0aa11bb22cc33dd44ee55"
MISSING_ID = "0123456789abcdef01234567"
FORM = {"grant_type": "client_credentials", "scope": "api"}
ROUTES = [
    ("GET", "/api/systemusers", 200),
    ("POST", "/api/systemusers", 400),  # (an empty body: refused after auth)
    ("GET", f"/api/systemusers/{MISSING_ID}", 404),
    ("PUT", f"/api/systemusers/{MISSING_ID}", 404),
    ("DELETE", f"/api/systemusers/{MISSING_ID}", 404),
    ("POST", f"/api/systemusers/{MISSING_ID}/state/suspend", 400),  # (a body: refused)
    ("POST", f"/api/systemusers/{MISSING_ID}/state/activate", 404),
    ("POST", "/api/search/systemusers", 200),
    ("GET", "/api/v2/bulk/userstates", 200),  # V2 scheduled states
    ("DELETE", f"/api/v2/bulk/userstates/{MISSING_ID}", 404),
    ("GET", "/api/v2/usergroups", 200),  # V2 user groups
    ("POST", "/api/v2/usergroups", 400),  # (an empty body: refused after auth)
    ("PUT", f"/api/v2/usergroups/{MISSING_ID}", 404),
    ("POST", f"/api/v2/usergroups/{MISSING_ID}/members", 400),
    ("POST", f"/api/systemusers/{MISSING_ID}/resetmfa", 404),
    ("POST", f"/api/systemusers/{MISSING_ID}/expire", 400),  # (a body: refused)
    ("GET", "/api/v2/anything", 404),  # any route takes the token
]


def basic(client_id: str = CLIENT_ID, secret: str = SECRET) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


@pytest.fixture
def server() -> Iterator[EmulatorServer[JumpCloudEmulator]]:
    app = JumpCloudEmulator(api_key=KEY, service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        yield running


def grant(
    server: EmulatorServer[Any],
    *,
    authorization: str | None = None,
    form: dict[str, str] | None = None,
    **kwargs: Any,
) -> requests.Response:
    headers = {"Authorization": authorization or basic()}
    headers.update(kwargs.pop("headers", {}))
    return requests.post(
        f"{server.url}{TOKEN_PATH}",
        data=FORM if form is None else form,
        headers=headers,
        timeout=10,
        **kwargs,
    )


def token_of(server: EmulatorServer[Any]) -> str:
    response = grant(server)
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def api(server: EmulatorServer[Any], method: str, path: str, **headers: str) -> requests.Response:
    body: dict[str, Any] | None = {} if method in {"POST", "PUT"} else None
    return requests.request(method, f"{server.url}{path}", headers=headers, json=body, timeout=10)


def oauth_error(response: requests.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error
    assert isinstance(body["error_description"], str)
    assert SECRET not in response.text


# -- the grant ----------------------------------------------------------------------------------


def test_a_grant_answers_a_bearer_token_with_its_lifetime(server) -> None:
    response = grant(server)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"].lower() == "bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "api"
    assert response.headers["Cache-Control"] == "no-store"
    assert server.app.oauth.grants == 1
    assert server.app.counters()["grants"] == 1
    assert token_of(server) != body["access_token"]  # a new token per grant
    assert server.app.oauth.issued_tokens()[0] == body["access_token"]


def test_the_lifetime_is_configurable(server) -> None:
    server.app.oauth.lifetime = 90
    assert grant(server).json()["expires_in"] == 90
    server.app.oauth.lifetime = 2.5
    assert grant(server).json()["expires_in"] == 2.5


@pytest.mark.parametrize(
    "authorization",
    [
        basic(secret="wrong"),
        basic(client_id="nobody"),
        basic(secret=SECRET + "x"),
        "Basic not-base64!!",
        "Basic " + base64.b64encode(b"no-colon-here").decode(),
        "Bearer " + "x" * 20,
        "Digest abc",
    ],
)
def test_a_wrong_pair_is_invalid_client_401_with_a_basic_challenge(server, authorization) -> None:
    response = grant(server, authorization=authorization)
    oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert server.app.oauth.grants == 0


def test_credentials_in_the_body_are_refused_basic_is_the_only_way(server) -> None:
    form = {**FORM, "client_id": CLIENT_ID, "client_secret": SECRET}
    oauth_error(grant(server, form=form), 401, "invalid_client")
    response = requests.post(f"{server.url}{TOKEN_PATH}", data=form, timeout=10)
    oauth_error(response, 401, "invalid_client")


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "scope": "api"}, "unsupported_grant_type"),
        ({"scope": "api"}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "invalid_scope"),
        ({"grant_type": "client_credentials", "scope": "admin"}, "invalid_scope"),
    ],
)
def test_only_the_client_credentials_grant_for_the_api_scope(server, form, error) -> None:
    oauth_error(grant(server, form=form), 400, error)


def test_the_body_must_be_a_form(server) -> None:
    response = requests.post(
        f"{server.url}{TOKEN_PATH}",
        json=FORM,
        headers={"Authorization": basic()},
        timeout=10,
    )
    oauth_error(response, 400, "invalid_request")
    response = requests.get(f"{server.url}{TOKEN_PATH}", timeout=10)
    assert response.status_code == 405


def test_the_token_requests_header_names_are_kept_never_their_values(server) -> None:
    grant(server, headers={"x-org-id": ORG})
    (names,) = server.app.oauth.request_headers
    assert {"authorization", "x-org-id", "content-type"} <= names
    assert all(SECRET not in name for name in names)


# -- Bearer tokens on the API ----------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "status"), ROUTES)
def test_a_live_bearer_token_is_taken_on_every_route(server, method, path, status) -> None:
    token = token_of(server)
    response = api(server, method, path, Authorization=f"Bearer {token}")
    assert response.status_code == status, response.text
    assert api(server, method, path, **{"x-api-key": KEY}).status_code == status
    refused = api(server, method, path, Authorization=f"Bearer {token}x")
    assert refused.status_code == 401


def test_the_scheme_is_case_insensitive_but_a_key_and_a_token_together_are_refused(
    server,
) -> None:
    token = token_of(server)
    assert api(server, "GET", "/api/systemusers", Authorization=f"bearer {token}").ok
    both = api(
        server, "GET", "/api/systemusers", Authorization=f"Bearer {token}", **{"x-api-key": KEY}
    )
    assert both.status_code == 400
    assert "not both" in both.json()["message"]


def test_a_token_expires_after_its_lifetime(server) -> None:
    server.app.oauth.lifetime = 0.3
    token = token_of(server)
    assert api(server, "GET", "/api/systemusers", Authorization=f"Bearer {token}").ok
    time.sleep(0.35)
    expired = api(server, "GET", "/api/systemusers", Authorization=f"Bearer {token}")
    assert expired.status_code == 401
    assert expired.json()["message"] == "Unauthorized: the access token has expired"


def test_expire_all_refuses_every_token_at_once_and_new_grants_work(server) -> None:
    tokens = [token_of(server) for _ in range(3)]
    assert server.app.oauth.expire_all() == 3
    for token in tokens:
        response = api(server, "GET", "/api/systemusers", Authorization=f"Bearer {token}")
        assert response.status_code == 401
    fresh = token_of(server)
    assert api(server, "GET", "/api/systemusers", Authorization=f"Bearer {fresh}").ok
    assert server.app.oauth.grants == 4


def test_a_revoked_service_account_loses_its_tokens_and_its_grant(server) -> None:
    token = token_of(server)
    server.app.oauth.revoke_client(CLIENT_ID)
    assert (
        api(server, "GET", "/api/systemusers", Authorization=f"Bearer {token}").status_code == 401
    )
    oauth_error(grant(server), 401, "invalid_client")
    server.app.oauth.add_client(CLIENT_ID, "rotated-secret")
    oauth_error(grant(server), 401, "invalid_client")
    assert grant(server, authorization=basic(secret="rotated-secret")).ok


def test_a_multi_tenant_token_needs_x_org_id() -> None:
    app = JumpCloudEmulator(org_id=ORG, service_accounts={CLIENT_ID: SECRET})
    with EmulatorServer(app) as running:
        token = token_of(running)
        bearer = f"Bearer {token}"
        assert api(running, "GET", "/api/systemusers", Authorization=bearer).status_code == 401
        with_org = api(
            running, "GET", "/api/systemusers", Authorization=bearer, **{"x-org-id": ORG}
        )
        assert with_org.ok


def test_the_grant_counts_are_reset_with_the_log(server) -> None:
    token_of(server)
    server.app.reset_log()
    assert server.app.oauth.grants == 0
    assert server.app.oauth.request_headers == []
    assert len(server.app.oauth.issued_tokens()) == 1  # (the leak scans still see it)


# -- faults and control routes -------------------------------------------------------------------


def test_faults_reach_the_token_endpoint_through_the_fault_machinery(server) -> None:
    app = server.app
    app.faults.script("503", method="POST", path=TOKEN_PATH)
    app.faults.script("429_retry_after", method="POST", path=TOKEN_PATH, seconds=3)
    assert grant(server).status_code == 503
    limited = grant(server)
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "3"
    app.faults.script("drop", method="POST", path=TOKEN_PATH)
    with pytest.raises(requests.ConnectionError):
        grant(server)
    assert grant(server).ok
    assert app.oauth.grants == 1
    assert [e.status for e in app.requests("POST", TOKEN_PATH)] == [503, 429, 0, 200]
    app.faults.script("commit_then_503", method="POST", path=TOKEN_PATH)
    assert grant(server).status_code == 503
    assert app.oauth.grants == 2  # granted, then the answer was lost


def test_random_faults_can_be_aimed_at_the_token_endpoint(server) -> None:
    server.app.faults.randomize(1.0, ("500",), paths=TOKEN_PATH)
    assert grant(server).status_code == 500
    assert api(server, "GET", "/api/systemusers", **{"x-api-key": KEY}).ok


def test_the_control_route_adds_revokes_expires_and_sets_the_lifetime(server) -> None:
    control = f"{server.url}/_emulator/service-accounts"
    token = token_of(server)
    answer = requests.post(
        control, json={"add": {"svc-2": "two"}, "lifetime": 120, "expire": True}, timeout=10
    ).json()
    assert answer == {"ok": True, "expired": 1, "grants": 1}
    assert (
        api(server, "GET", "/api/systemusers", Authorization=f"Bearer {token}").status_code == 401
    )
    second = grant(server, authorization=basic("svc-2", "two"))
    assert second.json()["expires_in"] == 120
    requests.post(control, json={"revoke": ["svc-2"]}, timeout=10)
    oauth_error(grant(server, authorization=basic("svc-2", "two")), 401, "invalid_client")
    bad = requests.post(control, json={"lifetime": "soon"}, timeout=10)
    assert bad.status_code == 400
    assert requests.get(f"{server.url}/_emulator/counters", timeout=10).json()["grants"] == 2


def test_the_cli_registers_a_service_account_from_the_environment() -> None:
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(repo), "JUMPCLOUD_EMULATOR_CLIENT_SECRET": SECRET}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulators", "--workers", "1",
         "--jumpcloud-client-id", CLIENT_ID, "--jumpcloud-token-lifetime", "60"],
        cwd=repo, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert SECRET not in line
        token_url = json.loads(line)["jumpcloud_token_url"]
        answer = requests.post(token_url, data=FORM, headers={"Authorization": basic()}, timeout=10)
        assert answer.json()["expires_in"] == 60
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
