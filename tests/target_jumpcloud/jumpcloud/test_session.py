"""The lean GET of list pages (`ApiSession.get_page`) sends what `Session.request` sends.

Each case captures the prepared request the adapter is handed on both paths and compares
method, URL, headers and body, then checks the answer read through the lean path.
"""

from __future__ import annotations

from typing import Any

import pytest
import requests
from target_jumpcloud.jumpcloud.auth import Credential
from target_jumpcloud.jumpcloud.session import ApiSession

from tests.target_jumpcloud.target_io_helpers import KEY, fast_client, seed_user

AUTH = Credential({"x-api-key": "k"})
PARAMS: list[dict[str, Any]] = [
    {"limit": 100, "skip": 300},
    {"limit": 100, "sort": "_id", "fields": "_id username email attributes"},
    {"filter": "employeeIdentifier:$eq:E-1 ü/&=+#?", "skip": 0},
    {},
]


def _sent(session: ApiSession, send: Any) -> requests.PreparedRequest:
    captured: list[requests.PreparedRequest] = []

    def capture(request: requests.PreparedRequest, **_: Any) -> requests.Response:
        captured.append(request)
        response = requests.Response()
        response.status_code, response._content = 200, b"[]"
        response.request = request
        return response

    adapter = session.get_adapter("http://127.0.0.1/")
    original = adapter.send
    adapter.send = capture  # type: ignore[method-assign,assignment]
    try:
        send()
    finally:
        adapter.send = original  # type: ignore[method-assign]
    return captured[-1]


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("url", ["http://127.0.0.1:8/api/systemusers", "http://127.0.0.1:8/a?x=1"])
def test_a_page_is_requested_exactly_as_requests_would(
    url: str, params: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    session = ApiSession()
    session.headers.update({"Accept": "application/json", "User-Agent": "target-jumpcloud"})
    for _ in range(2):  # (the second time from the prepared URL kept)
        with monkeypatch.context() as patched:  # the lean path, not `request`
            patched.setattr(session, "request", None)
            lean = _sent(
                session, lambda: session.get_page(url, params=params, auth=AUTH, timeout=5)
            )
        plain = _sent(
            session, lambda: session.request("GET", url, params=params, auth=AUTH, timeout=5)
        )
        assert (lean.method, lean.url, lean.body) == (plain.method, plain.url, plain.body)
        assert dict(lean.headers) == dict(plain.headers)


def test_out_of_the_plain_case_the_usual_path_is_taken() -> None:
    session = ApiSession()
    session.cookies.set("seen", "1")
    sent = _sent(session, lambda: session.get_page("http://127.0.0.1:8/a", auth=AUTH))
    assert sent.headers["Cookie"] == "seen=1"
    session = ApiSession()
    sent = _sent(session, lambda: session.get_page("http://127.0.0.1:8/a", params={"on": True}))
    assert sent.url == "http://127.0.0.1:8/a?on=True"


def test_pages_read_through_the_lean_path_match_the_directory(jumpcloud_emulator) -> None:
    app = jumpcloud_emulator.app
    ids = [seed_user(app, f"u{i}", f"u{i}@acme.example")["_id"] for i in range(250)]
    group = app.add_group("All staff", members=ids)
    client = fast_client(f"{jumpcloud_emulator.url}/api")
    assert client.list_group_members(str(group["id"])) == ids
    users = list(client.iter_users(["_id", "username"]))
    assert [u["_id"] for u in users] == sorted(ids)
    assert KEY  # (the client authenticated with the emulator's key on every page)
