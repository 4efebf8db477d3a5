"""The directory load's fast paths: pages read from their bodies, indexes built in bulk, and
bodies read in one piece. Each must give exactly what the plain way gives."""

from __future__ import annotations

import json
import socket
import threading
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
import requests
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.model import DirectoryUser, UserState
from target_jumpcloud.settings.mapping_table import synced_attributes
from target_jumpcloud.sync.directory import Directory, UserReader, compared_fields
from target_jumpcloud.sync.mapping import DEFAULT_MAPPING

from tests.emulators.base import EmulatorServer, Request, Response
from tests.emulators.jumpcloud import JumpCloudEmulator
from tests.target_jumpcloud.target_io_helpers import KEY, fast_client

if TYPE_CHECKING:
    from collections.abc import Iterator

ATTRIBUTES = synced_attributes(DEFAULT_MAPPING)
FIELDS = compared_fields(DEFAULT_MAPPING)

# Users whose page is read straight from its body: every value a string or null.
PLAIN: list[dict[str, Any]] = [
    {
        "_id": "u1",
        "id": "u1",
        "username": " ada ",
        "email": " Ada@X.io ",
        "state": "suspended",
        "suspended": False,
        "jobTitle": "  Engineer ",
        "department": "",
        "company": None,
        "firstname": "Zoë",
        "lastname": "伊藤",
        "employeeIdentifier": " p1 ",
    },
    {"id": "only-id", "username": "b", "email": "b@x.io", "suspended": True},
    {"_id": "", "id": " x ", "state": " staged "},
    {"_id": "   ", "state": "ACTIVATED", "suspended": None, "department": "Sales"},
    {"_id": "u4", "state": "weird", "department": " Sales", "location": "\t"},
    {"_id": "u5", "state": None, "unknownField": [1, {"a": 2}], "costCenter": "R&D"},
    {},
]
# Users that send the page the general way: numbers, bools, objects, lists where strings go.
ODD: list[Any] = [
    {"_id": 7, "username": "n"},
    {"_id": "o1", "jobTitle": 12, "company": 1.5, "department": -0.0},
    {"_id": "o2", "department": True, "location": False},
    {"_id": "o3", "location": {"a": 1}, "costCenter": ["x"]},
    {"_id": "o4", "suspended": "yes", "state": "SUSPENDED"},
    {"_id": "o5", "state": 5},
    {"_id": "o6", "employeeIdentifier": 10**30},
    "not an object",
]


def _text(value: Any) -> str | None:
    """The reference: a trimmed string, numbers as text, anything else None."""
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    return None


def _expected(obj: dict[str, Any]) -> DirectoryUser:
    """What the reader gave before it had a fast path (spelled out independently)."""
    state = UserState.ACTIVATED
    if obj.get("suspended") is True:
        state = UserState.SUSPENDED
    elif isinstance(obj.get("state"), str):
        state = {s.value: s for s in UserState}.get(obj["state"].strip().upper(), state)
    return DirectoryUser(
        id=_text(obj.get("_id")) or _text(obj.get("id")) or "",
        username=_text(obj.get("username")) or "",
        email=_text(obj.get("email")) or "",
        state=state,
        attributes={name: _text(obj.get(name)) for name in ATTRIBUTES},
    )


def _body(results: list[Any], total: Any = None) -> bytes:
    total = len(results) if total is None else total
    return json.dumps({"totalCount": total, "results": results}).encode()


class _RawPages(JumpCloudEmulator):
    """Serves one fixed page body for every listing request."""

    def __init__(self, body: bytes) -> None:
        super().__init__(api_key=KEY)
        self.body = body

    def _list(self, request: Request) -> Response:
        return Response(raw=self.body)


def _listed(body: bytes) -> list[DirectoryUser]:
    with EmulatorServer(_RawPages(body)) as server:
        client = fast_client(f"{server.url}/api")
        pages = client.iter_user_pages(UserReader(ATTRIBUTES), FIELDS, concurrency=4)
        return [user for page in pages for user in page]


def test_a_plain_page_is_read_from_its_body_as_the_objects_were() -> None:
    body = _body(PLAIN)
    users, total = UserReader(ATTRIBUTES).read_page(body)  # (no fallback taken)
    expected = [_expected(obj) for obj in PLAIN]
    assert (users, total) == (expected, len(PLAIN))
    assert _listed(body) == expected
    assert UserReader(ATTRIBUTES).read_users(PLAIN) == expected


@pytest.mark.parametrize("odd", ODD, ids=range(len(ODD)))
def test_a_page_with_any_other_value_is_read_the_general_way(odd: Any) -> None:
    body = _body([*PLAIN, odd])
    with pytest.raises(msgspec.ValidationError):
        UserReader(ATTRIBUTES).read_page(body)
    objects = [obj for obj in [*PLAIN, odd] if isinstance(obj, dict)]
    assert _listed(body) == [_expected(obj) for obj in objects]


@pytest.mark.parametrize("total", ["7", 7.0, True, None])
def test_an_odd_total_count_is_none_either_way(total: Any) -> None:
    body = json.dumps({"results": PLAIN[:2], "totalCount": total}).encode()
    reader = UserReader(ATTRIBUTES)
    if total is None:
        assert reader.read_page(body)[1] is None
    else:
        with pytest.raises(msgspec.ValidationError):
            reader.read_page(body)
    assert _listed(body) == [_expected(obj) for obj in PLAIN[:2]]


def test_a_reader_without_attributes_and_an_empty_page() -> None:
    reader = UserReader([])
    users, _ = reader.read_page(_body(PLAIN))
    assert [user.attributes for user in users] == [{} for _ in PLAIN]
    assert [user.id for user in users] == [_expected(obj).id for obj in PLAIN]
    assert reader.read_page(_body([], 0)) == ([], 0)


def test_equal_values_are_one_string_and_a_full_table_still_trims() -> None:
    reader = UserReader(["department", "displayname"])
    page = [
        {"_id": f"u{i}", "department": "Sales" if i % 2 else " Sales ", "displayname": f" n{i} "}
        for i in range(5000)
    ]
    users = [
        user
        for start in range(0, 5000, 100)
        for user in reader.read_page(_body(page[start : start + 100], 5000))[0]
    ]
    departments = {id(user.attributes["department"]) for user in users}
    assert len(departments) == 1
    assert [user.attributes["displayname"] for user in users] == [f"n{i}" for i in range(5000)]


def test_the_first_page_of_the_key_check_is_read_by_the_reader(
    jumpcloud_emulator: Any, jumpcloud_api_url: str
) -> None:
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.set_users(
        [{"username": f"u{i}", "email": f"U{i}@x.io", "department": "D"} for i in range(250)]
    )
    client = fast_client(jumpcloud_api_url)
    client.start_user_listing(FIELDS)
    pages = list(client.iter_user_pages(UserReader(ATTRIBUTES), FIELDS, concurrency=4))
    assert [len(page) for page in pages] == [100, 100, 50]
    objects = list(client.iter_users(FIELDS))
    assert [user for page in pages for user in page] == [_expected(obj) for obj in objects]
    assert len(app.requests("GET", "/api/systemusers")) == 3 + 3


def _user(user_id: str, email: str, employee_id: str | None, username: str) -> DirectoryUser:
    return DirectoryUser(
        id=user_id,
        username=username,
        email=email,
        state=UserState.ACTIVATED,
        attributes={"email": email, "employeeIdentifier": employee_id},
    )


def _indexes(directory: Directory) -> list[Any]:
    return [
        {key: [user.id for user in users] for key, users in directory._by_employee_id.items()},
        {key: [user.id for user in users] for key, users in directory._by_email.items()},
        list(directory._usernames.items()),
        list(directory._by_id.items()),
    ]


@pytest.mark.parametrize("duplicate_id", [False, True])
def test_the_bulk_indexes_are_those_add_builds(duplicate_id: bool) -> None:
    users = [
        _user("a", "Ann@X.io", "p1", "Ann"),
        _user("b", "ann@x.io", "p1", "ann"),
        _user("c", "", None, "cat"),
        _user("d", "d@x.io", "", "ANN"),
        _user("e", "e@x.io", "p2", "e"),
    ]
    if duplicate_id:
        users.append(_user("b", "b@x.io", "p3", "bee"))
    one_by_one = Directory()
    for user in users:
        one_by_one.add(user)
    bulk = Directory(users)
    assert _indexes(bulk) == _indexes(one_by_one)
    assert bulk.usernames() == one_by_one.usernames()
    copied = Directory()
    for user in bulk:  # (a copy, as `apply_to_directory` makes one)
        copied.add(user)
    assert _indexes(Directory(bulk)) == _indexes(copied)


# -- bodies in one piece -----------------------------------------------------------------------


def _serve_once(answer: bytes) -> Iterator[str]:
    """A one-shot HTTP server that sends `answer` and hangs up; yields its URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            with connection:
                connection.recv(65536)
                connection.sendall(answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        listener.close()


@pytest.fixture
def truncated_server() -> Iterator[str]:
    body = _body(PLAIN)
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body) + 500}\r\n\r\n".encode()
    yield from _serve_once(head + body)


def _error_of(call: Any) -> type[BaseException]:
    with pytest.raises(requests.RequestException) as caught:
        call()
    return caught.type


def test_a_truncated_body_fails_as_with_plain_requests(truncated_server: str) -> None:
    client = JumpCloudClient(truncated_server, KEY, retry_budget=0, min_attempts=1)
    plain = _error_of(lambda: requests.get(f"{truncated_server}/systemusers", timeout=5))
    ours = _error_of(lambda: client.session.get(f"{truncated_server}/systemusers", timeout=5))
    assert ours is plain is requests.exceptions.ChunkedEncodingError


def test_a_body_is_read_whole_and_streaming_still_streams(
    jumpcloud_emulator: Any, jumpcloud_api_url: str
) -> None:
    app: JumpCloudEmulator = jumpcloud_emulator.app
    app.set_users([{"username": f"u{i}", "email": f"u{i}@x.io"} for i in range(100)])
    client = fast_client(jumpcloud_api_url)
    url = f"{jumpcloud_api_url}/systemusers"
    key = {"x-api-key": KEY}  # (the client adds it per request, not to the session)
    whole = client.session.get(url, params={"limit": 100}, headers=key, timeout=5)
    assert whole.json()["totalCount"] == 100
    streamed = client.session.get(url, params={"limit": 100}, headers=key, timeout=5, stream=True)
    assert not streamed.raw.isclosed()  # not read yet
    assert streamed.content == whole.content
