"""Contract tests for the JumpCloud emulator, over real HTTP.

Everything the target is tested against rests on this emulator answering like JumpCloud's V1
API, so each route, envelope and error case it promises is pinned down here.
"""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.base import EmulatorServer
from tests.emulators.jumpcloud import JumpCloudApiError, JumpCloudEmulator

if TYPE_CHECKING:
    from collections.abc import Iterator

KEY = "jc-test-key"
ORG = "65f0aa11bb22cc33dd44ee55"
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
CREATED = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
MISSING_ID = "0123456789abcdef01234567"


class Api:
    """A thin `requests` session for the emulator's `/api` routes."""

    def __init__(self, server: EmulatorServer, **headers: str) -> None:
        self.app: JumpCloudEmulator = server.app
        self.root = server.url
        self.session = requests.Session()
        self.session.headers.update({"x-api-key": KEY, "Accept": "application/json"})
        self.session.headers.update(headers)

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, f"{self.root}{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", f"/api{path}", **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", f"/api{path}", **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("PUT", f"/api{path}", **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.call("DELETE", f"/api{path}", **kwargs)

    def create(self, **fields: Any) -> dict[str, Any]:
        response = self.post("/systemusers", json=fields)
        assert response.status_code == 200, response.text
        return response.json()

    def list(self, **params: Any) -> dict[str, Any]:
        response = self.get("/systemusers", params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(jumpcloud_emulator: EmulatorServer) -> Iterator[Api]:
    client = Api(jumpcloud_emulator)
    yield client
    client.session.close()


@pytest.fixture
def app(jumpcloud_emulator: EmulatorServer) -> JumpCloudEmulator:
    emulator = jumpcloud_emulator.app
    assert isinstance(emulator, JumpCloudEmulator)
    return emulator


def person(n: int, **extra: Any) -> dict[str, Any]:
    return {
        "username": f"user.{n:04d}",
        "email": f"user.{n:04d}@example.com",
        "employeeIdentifier": f"E-{n:04d}",
        "firstname": f"First{n}",
        "lastname": f"Last{n:04d}",
        **extra,
    }


def assert_error(response: requests.Response, status: int, *fragments: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert isinstance(body["message"], str)
    assert body["message"]
    assert KEY not in response.text
    for fragment in fragments:
        assert fragment in body["message"], body
    return body


# -- authentication --------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/systemusers"),
    ("POST", "/api/systemusers"),
    ("GET", f"/api/systemusers/{MISSING_ID}"),
    ("PUT", f"/api/systemusers/{MISSING_ID}"),
    ("DELETE", f"/api/systemusers/{MISSING_ID}"),
    ("POST", f"/api/systemusers/{MISSING_ID}/state/suspend"),
    ("POST", f"/api/systemusers/{MISSING_ID}/state/activate"),
    ("POST", "/api/search/systemusers"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "wrong-key", ""])
def test_every_route_needs_the_api_key(
    jumpcloud_emulator: EmulatorServer, method: str, path: str, key: str | None
) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = requests.request(
        method, f"{jumpcloud_emulator.url}{path}", headers=headers, json={}, timeout=10
    )
    body = assert_error(response, 401)
    assert body["code"] == 401


def test_the_right_key_is_accepted_and_x_org_id_ignored_without_an_org(api: Api) -> None:
    assert api.get("/systemusers").status_code == 200
    assert api.get("/systemusers", headers={"x-org-id": "anything"}).status_code == 200


@pytest.fixture
def org_api() -> Iterator[Api]:
    with EmulatorServer(JumpCloudEmulator(api_key=KEY, org_id=ORG)) as server:
        client = Api(server)
        yield client
        client.session.close()


@pytest.mark.parametrize(
    ("org", "status"),
    [(None, 401), ("", 401), ("not-an-id", 400), ("65f0aa11bb22cc33dd44ee56", 400), (ORG, 200)],
)
def test_a_multi_tenant_key_needs_a_matching_x_org_id(
    org_api: Api, org: str | None, status: int
) -> None:
    headers = {} if org is None else {"x-org-id": org}
    response = org_api.get("/systemusers", headers=headers)
    assert response.status_code == status, response.text
    if status != 200:
        assert_error(response, status)


def test_a_multi_tenant_user_belongs_to_the_org(org_api: Api) -> None:
    org_api.session.headers["x-org-id"] = ORG
    assert org_api.create(**person(1))["organization"] == ORG


def test_the_constructor_refuses_a_bad_org_or_default_state() -> None:
    with pytest.raises(ValueError, match="org_id"):
        JumpCloudEmulator(org_id="nope")
    with pytest.raises(ValueError, match="default_state"):
        JumpCloudEmulator(default_state="SUSPENDED")


def test_an_unknown_api_route_is_404_in_the_error_shape(api: Api) -> None:
    body = assert_error(api.get("/systemgroups"), 404)
    assert body == {"code": 404, "message": "Not Found", "status": "Not Found"}


# -- listing -----------------------------------------------------------------------------------


def test_list_envelope_and_default_limit_of_ten(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(n) for n in range(15)])
    page = api.list()
    assert set(page) == {"totalCount", "results"}
    assert page["totalCount"] == 15
    assert [u["username"] for u in page["results"]] == [f"user.{n:04d}" for n in range(10)]
    assert all(u["_id"] == u["id"] for u in page["results"])


def test_limit_up_to_100_and_skip(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(n) for n in range(120)])
    assert len(api.list(limit=100)["results"]) == 100
    page = api.list(limit=100, skip=100)
    assert page["totalCount"] == 120
    assert [u["username"] for u in page["results"]] == [f"user.{n:04d}" for n in range(100, 120)]
    beyond = api.list(limit=5, skip=500)
    assert beyond == {"totalCount": 120, "results": []}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 1000}, "limit"),
        ({"limit": 0}, "limit"),
        ({"limit": -1}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"skip": -1}, "skip"),
        ({"skip": "1.5"}, "skip"),
        ({"filter": "email"}, "filter"),
        ({"filter": "email:eq:a@example.com"}, "operator"),
        ({"filter": "email:$regex:a"}, "operator"),
        ({"search": "ada"}, "search"),
    ],
)
def test_bad_list_parameters_are_400(api: Api, params: dict[str, Any], fragment: str) -> None:
    assert_error(api.get("/systemusers", params=params), 400, fragment)


def test_paging_250_users_by_id_sees_each_exactly_once(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(n) for n in range(250)])
    seen: list[str] = []
    skip = 0
    while True:
        page = api.list(limit=100, skip=skip, sort="_id")
        assert page["totalCount"] == 250
        seen.extend(u["_id"] for u in page["results"])
        if len(page["results"]) < 100:
            break
        skip += 100
    assert len(seen) == 250
    assert len(set(seen)) == 250
    assert seen == sorted(seen)
    assert all(OBJECT_ID.fullmatch(i) for i in seen)


def test_sort_ascending_descending_and_by_several_fields(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users(
        [
            person(1, department="Ops", lastname="Bravo"),
            person(2, department="Eng", lastname="Alpha"),
            person(3, department="Ops", lastname="Alpha"),
            person(4, department="Eng", lastname="Charlie"),
        ]
    )

    def order(sort: str) -> list[str]:
        return [u["username"] for u in api.list(sort=sort)["results"]]

    assert order("lastname") == ["user.0002", "user.0003", "user.0001", "user.0004"]
    assert order("-lastname") == ["user.0004", "user.0001", "user.0002", "user.0003"]
    assert order("department -lastname") == ["user.0004", "user.0002", "user.0001", "user.0003"]
    assert order("-_id") == ["user.0004", "user.0003", "user.0002", "user.0001"]
    assert order("_id") == ["user.0001", "user.0002", "user.0003", "user.0004"]


def test_a_sorted_view_follows_writes(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(1, lastname="B"), person(2, lastname="C")])
    assert [u["lastname"] for u in api.list(sort="lastname")["results"]] == ["B", "C"]
    user_id = app.find_users(username="user.0002")[0]["_id"]
    assert api.put(f"/systemusers/{user_id}", json={"lastname": "A"}).status_code == 200
    assert [u["lastname"] for u in api.list(sort="lastname")["results"]] == ["A", "B"]
    api.create(**person(3, lastname="0"))
    assert [u["lastname"] for u in api.list(sort="lastname")["results"]] == ["0", "A", "B"]


def test_fields_projects_and_keeps_the_ids(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(1)])
    [user] = api.list(fields="email employeeIdentifier nosuchfield")["results"]
    assert set(user) == {"_id", "id", "email", "employeeIdentifier"}
    assert user["email"] == "user.0001@example.com"


def test_filter_eq_is_exact_and_case_sensitive(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(1), person(2, department="Eng")])
    found = api.list(filter="email:$eq:user.0002@example.com")
    assert found["totalCount"] == 1
    assert found["results"][0]["username"] == "user.0002"
    assert api.list(filter="email:$eq:USER.0002@example.com")["totalCount"] == 0
    assert api.list(filter="username:$eq:User.0002")["totalCount"] == 0
    assert api.list(filter="employeeIdentifier:$eq:e-0002")["totalCount"] == 0
    assert api.list(filter="employeeIdentifier:$eq:E-0002")["totalCount"] == 1
    assert api.list(filter="department:$eq:Eng")["totalCount"] == 1
    assert api.list(filter="department:$eq:eng")["totalCount"] == 0


def test_indexed_filters_are_anded_and_or_filters_ored(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users(
        [
            person(1, department="Eng", jobTitle="Dev"),
            person(2, department="Eng", jobTitle="Lead"),
            person(3, department="Ops", jobTitle="Dev"),
        ]
    )
    both = api.list(**{"filter[0]": "department:$eq:Eng", "filter[1]": "jobTitle:$eq:Dev"})
    assert [u["username"] for u in both["results"]] == ["user.0001"]
    indexed_and = api.list(
        **{"filter[0]": "email:$eq:user.0003@example.com", "filter[1]": "department:$eq:Eng"}
    )
    assert indexed_and["totalCount"] == 0
    either = api.list(
        **{"filter[or][0]": "jobTitle:$eq:Lead", "filter[or][1]": "department:$eq:Ops"}
    )
    assert [u["username"] for u in either["results"]] == ["user.0002", "user.0003"]


def test_filter_operators(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users(
        [
            person(1, department="Finance | Sales", unix_uid=7001),
            person(2, department="IT", unix_uid=7002),
            person(3, department="Shipping & Receiving", unix_uid=7003),
            person(4, state="SUSPENDED", unix_uid=7004),
        ]
    )

    def names(expression: str, **headers: str) -> list[str]:
        response = api.get("/systemusers", params={"filter": expression}, headers=headers)
        assert response.status_code == 200, response.text
        return [u["username"][-1] for u in response.json()["results"]]

    assert names("department:$ne:IT") == ["1", "3", "4"]
    assert names("department:$in:Finance|IT|Shipping & Receiving") == ["2", "3"]
    assert names("department:$in:Finance \\| Sales|IT") == ["1", "2"]
    assert names("department:$nin:IT|Shipping & Receiving") == ["1", "4"]
    assert names("department:$sw:Shipping") == ["3"]
    assert names("unix_uid:$gt:7002") == ["3", "4"]
    assert names("unix_uid:$lte:7002") == ["1", "2"]
    assert names("suspended:$eq:true") == ["4"]
    assert names("state:$eq:SUSPENDED") == ["4"]
    by_email = "|".join(f"user.000{n}@example.com" for n in (4, 3, 2, 1))
    assert names(f"email:$in:{by_email}") == ["1", "2", "3", "4"]
    assert names(f"email:$in:{by_email}|nobody@example.com") == ["1", "2", "3", "4"]
    consistent = {"x-eventually-consistent": "true"}
    assert names("department:$sw:Fin|IT", **consistent) == ["1", "2"]
    assert names("department:$co:&", **consistent) == ["3"]
    assert names("department:$ew:Sales", **consistent) == ["1"]
    assert names("department:$nco:i", **consistent) == ["2", "4"]


@pytest.mark.parametrize("expression", ["department:$sw:Fin|IT", "department:$co:Fin"])
def test_eventually_consistent_operators_need_the_header(api: Api, expression: str) -> None:
    assert_error(api.get("/systemusers", params={"filter": expression}), 400, "consistent")


def test_the_email_index_follows_updates_and_deletes(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1))
    new_email = "renamed@example.com"
    assert api.put(f"/systemusers/{user['_id']}", json={"email": new_email}).status_code == 200
    assert api.list(filter="email:$eq:user.0001@example.com")["totalCount"] == 0
    assert api.list(filter=f"email:$eq:{new_email}")["results"][0]["_id"] == user["_id"]
    other = api.create(**person(2, email="user.0001@example.com"))  # the old address is free
    assert api.list(filter="email:$eq:user.0001@example.com")["results"][0]["_id"] == other["_id"]
    api.delete(f"/systemusers/{other['_id']}")
    assert api.delete(f"/systemusers/{user['_id']}").status_code == 200
    assert api.list(filter=f"email:$eq:{new_email}")["totalCount"] == 0
    again = api.create(**person(1, email=new_email))  # every unique value is free again
    assert again["_id"] != user["_id"]
    assert app.user_count == 1


def test_listing_20000_users_in_pages_of_100(api: Api, app: JumpCloudEmulator) -> None:
    app.set_users([person(n, email=f"p{n}@example.com") for n in range(20_000)])
    seen: set[str] = set()
    for skip in range(0, 20_000, 100):
        page = api.list(limit=100, skip=skip, sort="_id", fields="email")
        assert page["totalCount"] == 20_000
        assert len(page["results"]) == 100
        seen.update(u["_id"] for u in page["results"])
    assert len(seen) == 20_000
    assert api.list(limit=100, skip=20_000, sort="_id")["results"] == []


# -- create --------------------------------------------------------------------------------------


def test_create_answers_200_with_the_full_new_user(api: Api, app: JumpCloudEmulator) -> None:
    response = api.post("/systemusers", json=person(1, displayname="First1 Last"))
    assert response.status_code == 200
    user = response.json()
    assert OBJECT_ID.fullmatch(user["_id"])
    assert user["id"] == user["_id"]
    assert CREATED.fullmatch(user["created"])
    assert OBJECT_ID.fullmatch(user["organization"])
    assert isinstance(user["unix_uid"], int)
    assert isinstance(user["unix_guid"], int)
    assert user["unix_uid"] >= 1
    assert user["activated"] is False
    assert user["state"] == "ACTIVATED"
    assert user["suspended"] is False
    assert user["account_locked"] is False
    assert user["attributes"] == []
    assert user["mfa"] == {"configured": False, "exclusion": False}
    assert user["displayname"] == "First1 Last"
    assert user["employeeIdentifier"] == "E-0001"
    assert "password" not in user
    assert app.get_user(user["_id"]) == user
    assert api.get(f"/systemusers/{user['_id']}").json() == user


def test_ids_and_unix_ids_grow_with_each_create(api: Api) -> None:
    first, second = api.create(**person(1)), api.create(**person(2))
    assert second["_id"] > first["_id"]
    assert second["unix_uid"] > first["unix_uid"]


@pytest.mark.parametrize("missing", ["email", "username"])
def test_create_requires_email_and_username(api: Api, missing: str) -> None:
    body = person(1)
    del body[missing]
    assert_error(api.post("/systemusers", json=body), 400, missing)


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ({"employeeId": "E-1"}, "employeeId"),
        ({"_id": MISSING_ID}, "_id"),
        ({"created": "2024-01-01T00:00:00.000Z"}, "created"),
        ({"ssh_keys": []}, "ssh_keys"),
        ({"attributes": [{"name": "a", "value": "b", "extra": 1}]}, "extra"),
        ({"firstname": 5}, "firstname"),
        ({"firstname": None}, "firstname"),
        ({"suspended": "yes"}, "suspended"),
        ({"unix_uid": 0}, "unix_uid"),
        ({"state": "ACTIVE"}, "state"),
        ({"attributes": [{"name": "a"}]}, "value"),
        ({"attributes": [{"name": "a", "value": None}]}, "value"),
        ({"attributes": {"name": "a", "value": "b"}}, "attributes"),
        ({"username": ""}, "username"),
        ({"username": "ada lovelace"}, "username"),
        ({"email": "not-an-email"}, "email"),
        ({"manager": MISSING_ID}, "manager"),
    ],
)
def test_create_refuses_unknown_fields_and_bad_values(
    api: Api, app: JumpCloudEmulator, extra: dict[str, Any], fragment: str
) -> None:
    assert_error(api.post("/systemusers", json=person(1, **extra)), 400, fragment)
    assert app.user_count == 0


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("firstname", 1024),
        ("jobTitle", 1024),
        ("description", 1024),
        ("email", 1024),
        ("employeeIdentifier", 256),
    ],
)
def test_create_enforces_string_lengths(api: Api, name: str, limit: int) -> None:
    def value(length: int) -> str:
        if name == "email":
            return "a" * (length - len("@example.com")) + "@example.com"
        return "x" * length

    assert_error(api.post("/systemusers", json=person(1, **{name: value(limit + 1)})), 400, name)
    assert api.create(**person(1, **{name: value(limit)}))[name] == value(limit)


def test_create_enforces_nested_lengths(api: Api) -> None:
    long_value = [{"name": "note", "value": "x" * 1025}]
    assert_error(api.post("/systemusers", json=person(1, attributes=long_value)), 400, "value")
    long_street = [{"type": "work", "streetAddress": "x" * 1025}]
    assert_error(api.post("/systemusers", json=person(1, addresses=long_street)), 400, "street")


@pytest.mark.parametrize(
    ("clash", "fragment"),
    [
        ({"username": "user.0001"}, "username"),
        ({"username": "USER.0001"}, "username"),
        ({"email": "user.0001@example.com"}, "email"),
        ({"email": "User.0001@Example.COM"}, "email"),
        ({"employeeIdentifier": "E-0001"}, "employeeIdentifier"),
    ],
)
def test_create_refuses_a_taken_unique_value(
    api: Api, app: JumpCloudEmulator, clash: dict[str, str], fragment: str
) -> None:
    api.create(**person(1))
    body = assert_error(api.post("/systemusers", json=person(2, **clash)), 400, fragment)
    assert "already exists" in body["message"]
    assert app.user_count == 1


def test_employee_identifier_is_unique_case_sensitively_and_empty_is_no_value(api: Api) -> None:
    api.create(**person(1))
    assert api.create(**person(2, employeeIdentifier="e-0001"))["employeeIdentifier"] == "e-0001"
    api.create(**person(3, employeeIdentifier=""))
    api.create(**person(4, employeeIdentifier=""))
    assert api.list(filter="employeeIdentifier:$eq:")["totalCount"] == 2


def test_values_are_stored_as_sent(api: Api) -> None:
    user = api.create(**person(1, email="Ada.Lovelace@Example.com", username="Ada.L"))
    assert (user["email"], user["username"]) == ("Ada.Lovelace@Example.com", "Ada.L")


@pytest.mark.parametrize(
    ("given", "state", "suspended"),
    [
        ({}, "ACTIVATED", False),
        ({"state": "STAGED"}, "STAGED", False),
        ({"state": "STAGED", "suspended": False}, "STAGED", False),
        ({"state": "ACTIVATED"}, "ACTIVATED", False),
        ({"state": "SUSPENDED"}, "SUSPENDED", True),
        ({"suspended": True}, "SUSPENDED", True),
        ({"suspended": False}, "ACTIVATED", False),
        ({"state": "SUSPENDED", "suspended": True}, "SUSPENDED", True),
    ],
)
def test_create_keeps_state_and_suspended_consistent(
    api: Api, given: dict[str, Any], state: str, suspended: bool
) -> None:
    user = api.create(**person(1, **given))
    assert (user["state"], user["suspended"]) == (state, suspended)


@pytest.mark.parametrize(
    "pair",
    [
        {"state": "SUSPENDED", "suspended": False},
        {"state": "ACTIVATED", "suspended": True},
        {"state": "STAGED", "suspended": True},
    ],
)
def test_create_refuses_a_conflicting_state_pair(api: Api, pair: dict[str, Any]) -> None:
    assert_error(api.post("/systemusers", json=person(1, **pair)), 400, "conflicts")


def test_the_org_default_state_applies_when_state_is_omitted(
    jumpcloud_emulator: EmulatorServer,
) -> None:
    app = jumpcloud_emulator.app
    assert isinstance(app, JumpCloudEmulator)
    app.default_state = "STAGED"
    client = Api(jumpcloud_emulator)
    assert client.create(**person(1))["state"] == "STAGED"
    with EmulatorServer(JumpCloudEmulator(default_state="STAGED")) as server:
        assert Api(server).create(**person(1))["state"] == "STAGED"


def test_a_password_is_never_returned_nor_kept(api: Api, app: JumpCloudEmulator) -> None:
    sample = "S3cret!pass"
    user = api.create(**person(1, password=sample))
    assert "password" not in user
    assert user["password_date"] is not None
    assert sample not in str(app.users())


def test_addresses_and_phone_numbers_get_ids(api: Api) -> None:
    user = api.create(
        **person(
            1,
            addresses=[{"type": "work", "locality": "Boulder"}],
            phoneNumbers=[{"type": "mobile", "number": "+1 303 555 0100"}],
        )
    )
    assert OBJECT_ID.fullmatch(user["addresses"][0]["id"])
    assert user["addresses"][0]["locality"] == "Boulder"
    assert OBJECT_ID.fullmatch(user["phoneNumbers"][0]["id"])


@pytest.mark.parametrize(
    ("data", "headers", "status"),
    [
        (b"{not json", {"Content-Type": "application/json"}, 400),
        (b"[1, 2]", {"Content-Type": "application/json"}, 400),
        (b"", {"Content-Type": "application/json"}, 400),
        (b'{"username": "a", "email": "a@example.com"}', {"Content-Type": "text/plain"}, 415),
    ],
)
def test_create_refuses_a_body_that_is_not_a_json_object(
    api: Api, data: bytes, headers: dict[str, str], status: int
) -> None:
    assert_error(api.post("/systemusers", data=data, headers=headers), status)


# -- read, update, delete ------------------------------------------------------------------------


@pytest.mark.parametrize("user_id", [MISSING_ID, "not-an-object-id", "66B0F2C4E1A9D3001F000000"])
def test_unknown_or_malformed_ids_are_404(api: Api, user_id: str) -> None:
    assert_error(api.get(f"/systemusers/{user_id}"), 404)
    assert_error(api.put(f"/systemusers/{user_id}", json={"jobTitle": "x"}), 404)
    assert_error(api.delete(f"/systemusers/{user_id}"), 404)
    assert_error(api.post(f"/systemusers/{user_id}/state/suspend"), 404)
    assert_error(api.post(f"/systemusers/{user_id}/state/activate", json={}), 404)


def test_get_one_user_with_fields(api: Api) -> None:
    user = api.create(**person(1))
    response = api.get(f"/systemusers/{user['_id']}", params={"fields": "email"})
    assert response.json() == {"_id": user["_id"], "id": user["_id"], "email": user["email"]}


def test_put_is_a_partial_update(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1, jobTitle="Dev", department="Eng"))
    response = api.put(f"/systemusers/{user['_id']}", json={"jobTitle": "Lead"})
    assert response.status_code == 200
    updated = response.json()
    assert updated == {**user, "jobTitle": "Lead"}
    assert app.get_user(user["_id"]) == updated
    assert api.put(f"/systemusers/{user['_id']}", json={}).json() == updated


def test_put_replaces_arrays_whole(api: Api) -> None:
    user = api.create(
        **person(1, attributes=[{"name": "a", "value": "1"}, {"name": "b", "value": "2"}])
    )
    path = f"/systemusers/{user['_id']}"
    updated = api.put(path, json={"attributes": [{"name": "c", "value": "3"}]}).json()
    assert updated["attributes"] == [{"name": "c", "value": "3"}]
    assert api.put(path, json={"tags": ["x"]}).json()["attributes"] == [{"name": "c", "value": "3"}]
    assert api.put(path, json={"attributes": []}).json()["attributes"] == []


def test_put_accepts_a_round_tripped_address_id(api: Api) -> None:
    user = api.create(**person(1, addresses=[{"type": "work", "locality": "A"}]))
    address = {**user["addresses"][0], "locality": "B"}
    updated = api.put(f"/systemusers/{user['_id']}", json={"addresses": [address]}).json()
    assert updated["addresses"] == [address]


def test_put_refuses_staged(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1))
    assert_error(api.put(f"/systemusers/{user['_id']}", json={"state": "STAGED"}), 400, "STAGED")
    assert app.get_user(user["_id"]) == user


@pytest.mark.parametrize(
    ("initial", "change", "state", "suspended"),
    [
        ("ACTIVATED", {"state": "SUSPENDED"}, "SUSPENDED", True),
        ("ACTIVATED", {"suspended": True}, "SUSPENDED", True),
        ("ACTIVATED", {"state": "SUSPENDED", "suspended": True}, "SUSPENDED", True),
        ("SUSPENDED", {"state": "ACTIVATED"}, "ACTIVATED", False),
        ("SUSPENDED", {"suspended": False}, "ACTIVATED", False),
        ("SUSPENDED", {"state": "ACTIVATED", "suspended": False}, "ACTIVATED", False),
        ("STAGED", {"state": "ACTIVATED"}, "ACTIVATED", False),
        ("STAGED", {"suspended": False}, "STAGED", False),
        ("STAGED", {"suspended": True}, "SUSPENDED", True),
        ("STAGED", {"jobTitle": "x"}, "STAGED", False),
        ("SUSPENDED", {"jobTitle": "x"}, "SUSPENDED", True),
    ],
)
def test_put_keeps_state_and_suspended_consistent(
    api: Api, initial: str, change: dict[str, Any], state: str, suspended: bool
) -> None:
    user = api.create(**person(1, state=initial))
    updated = api.put(f"/systemusers/{user['_id']}", json=change).json()
    assert (updated["state"], updated["suspended"]) == (state, suspended)


@pytest.mark.parametrize(
    "pair", [{"state": "SUSPENDED", "suspended": False}, {"state": "ACTIVATED", "suspended": True}]
)
def test_put_refuses_a_conflicting_state_pair(
    api: Api, app: JumpCloudEmulator, pair: dict[str, Any]
) -> None:
    user = api.create(**person(1))
    assert_error(api.put(f"/systemusers/{user['_id']}", json=pair), 400, "conflicts")
    assert app.get_user(user["_id"]) == user


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"activated": True}, "activated"),  # POST-only field
        ({"passwordless_sudo": True}, "passwordless_sudo"),  # POST-only field
        ({"_id": MISSING_ID}, "_id"),
        ({"jobTitle": "x" * 1025}, "jobTitle"),
        ({"employeeIdentifier": "x" * 257}, "employeeIdentifier"),
        ({"username": "USER.0002"}, "username"),
        ({"email": "user.0002@EXAMPLE.com"}, "email"),
        ({"employeeIdentifier": "E-0002"}, "employeeIdentifier"),
        ({"email": "nope"}, "email"),
    ],
)
def test_put_refuses_what_post_refuses(
    api: Api, app: JumpCloudEmulator, change: dict[str, Any], fragment: str
) -> None:
    user = api.create(**person(1))
    api.create(**person(2))
    assert_error(api.put(f"/systemusers/{user['_id']}", json=change), 400, fragment)
    assert app.get_user(user["_id"]) == user


def test_put_may_keep_or_recase_its_own_unique_values(api: Api) -> None:
    user = api.create(**person(1))
    change = {"username": "USER.0001", "email": user["email"], "employeeIdentifier": "E-0001"}
    updated = api.put(f"/systemusers/{user['_id']}", json=change).json()
    assert updated["username"] == "USER.0001"


def test_put_sets_and_clears_a_manager(api: Api) -> None:
    boss, worker = api.create(**person(1)), api.create(**person(2))
    path = f"/systemusers/{worker['_id']}"
    assert api.put(path, json={"manager": boss["_id"]}).json()["manager"] == boss["_id"]
    assert_error(api.put(path, json={"manager": worker["_id"]}), 400, "manager")
    assert "manager" not in api.put(path, json={"manager": None}).json()


def test_delete_returns_the_deleted_user(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1))
    response = api.delete(f"/systemusers/{user['_id']}")
    assert response.status_code == 200
    assert response.json() == user
    assert app.user_count == 0
    assert_error(api.get(f"/systemusers/{user['_id']}"), 404)
    assert_error(api.delete(f"/systemusers/{user['_id']}"), 404)


def test_deleting_a_manager_is_409_unless_cascaded(api: Api, app: JumpCloudEmulator) -> None:
    boss = api.create(**person(1))
    worker = api.create(**person(2, manager=boss["_id"]))
    assert_error(api.delete(f"/systemusers/{boss['_id']}"), 409, "manager")
    assert app.user_count == 2
    response = api.delete(f"/systemusers/{boss['_id']}", params={"cascade_manager": "null"})
    assert response.status_code == 200
    assert "manager" not in api.get(f"/systemusers/{worker['_id']}").json()


# -- state endpoints --------------------------------------------------------------------------


def test_suspend_endpoint(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1))
    path = f"/systemusers/{user['_id']}/state/suspend"
    assert_error(api.post(path, json={}), 400, "empty")
    response = api.post(path, headers={"Content-Type": "application/json"})
    assert response.status_code == 200
    assert response.content == b""
    stored = app.get_user(user["_id"])
    assert stored is not None
    assert (stored["state"], stored["suspended"]) == ("SUSPENDED", True)
    assert_error(api.post(path), 409, "SUSPENDED")


def test_suspend_endpoint_works_on_a_staged_user(api: Api) -> None:
    user = api.create(**person(1, state="STAGED"))
    assert api.post(f"/systemusers/{user['_id']}/state/suspend").status_code == 200
    assert api.get(f"/systemusers/{user['_id']}").json()["state"] == "SUSPENDED"


@pytest.mark.parametrize("body", [{}, {"email": "welcome@example.com"}, {"email": False}, None])
def test_activate_endpoint_moves_staged_to_activated(
    api: Api, app: JumpCloudEmulator, body: dict[str, Any] | None
) -> None:
    user = api.create(**person(1, state="STAGED"))
    response = api.post(f"/systemusers/{user['_id']}/state/activate", json=body)
    assert response.status_code == 200
    stored = app.get_user(user["_id"])
    assert stored is not None
    assert (stored["state"], stored["suspended"]) == ("ACTIVATED", False)


@pytest.mark.parametrize("state", ["ACTIVATED", "SUSPENDED"])
def test_activate_endpoint_only_serves_staged_users(
    api: Api, app: JumpCloudEmulator, state: str
) -> None:
    user = api.create(**person(1, state=state))
    assert_error(api.post(f"/systemusers/{user['_id']}/state/activate", json={}), 409, "STAGED")
    assert app.get_user(user["_id"]) == user


@pytest.mark.parametrize("body", [{"mail": "x@example.com"}, {"email": 3}, {"email": "nope"}])
def test_activate_endpoint_refuses_a_bad_body(api: Api, body: dict[str, Any]) -> None:
    user = api.create(**person(1, state="STAGED"))
    assert_error(api.post(f"/systemusers/{user['_id']}/state/activate", json=body), 400)


# -- search -----------------------------------------------------------------------------------


@pytest.fixture
def staff(app: JumpCloudEmulator) -> JumpCloudEmulator:
    app.set_users(
        [
            person(1, department="IT", email="ada@jumpcloud.com"),
            person(2, department="Sales", email="bob@example.com"),
            person(3, department="IT", email="cy@example.com", state="SUSPENDED"),
            person(4, department="HR", email="dee@JumpCloud.com"),
        ]
    )
    return app


def search(api: Api, body: dict[str, Any], **params: Any) -> list[str]:
    response = api.post("/search/systemusers", json=body, params=params)
    assert response.status_code == 200, response.text
    page = response.json()
    assert set(page) == {"totalCount", "results"}
    return [u["username"][-1] for u in page["results"]]


@pytest.mark.usefixtures("staff")
def test_search_filter_forms(api: Api) -> None:
    assert search(api, {"filter": [{"department": "IT"}]}) == ["1", "3"]
    assert search(api, {"filter": [{"department": "it"}]}) == []
    assert search(api, {"filter": [{"department": "IT"}, {"suspended": True}]}) == ["3"]
    assert search(api, {"filter": [{"department": "IT", "suspended": False}]}) == ["1"]
    assert search(api, {"filter": {"and": [{"department": "IT"}, {"state": "SUSPENDED"}]}}) == ["3"]
    assert search(api, {"filter": {"or": [{"department": "HR"}, {"department": "Sales"}]}}) == [
        "2",
        "4",
    ]
    assert search(api, {"filter": [{"employeeIdentifier": "E-0002"}]}) == ["2"]
    assert search(api, {"filter": [{"email": "BOB@example.com"}]}) == []
    assert search(api, {}) == ["1", "2", "3", "4"]


@pytest.mark.usefixtures("staff")
def test_search_text_filter_is_partial_and_case_insensitive(api: Api) -> None:
    domain = {"searchFilter": {"searchTerm": "@jumpcloud.com", "fields": ["email"]}}
    assert search(api, domain) == ["1", "4"]
    several = {"searchFilter": {"searchTerm": ["bob", "CY"], "fields": ["email", "username"]}}
    assert search(api, several) == ["2", "3"]
    combined = {**domain, "filter": {"or": [{"department": "HR"}, {"department": "Sales"}]}}
    assert search(api, combined) == ["4"]


@pytest.mark.usefixtures("staff")
def test_search_projection_paging_and_query_filter(api: Api) -> None:
    response = api.post("/search/systemusers", json={"fields": "email", "limit": 2, "skip": 1})
    page = response.json()
    assert page["totalCount"] == 4
    assert [set(u) for u in page["results"]] == [{"_id", "id", "email"}] * 2
    assert [u["email"] for u in page["results"]] == ["bob@example.com", "cy@example.com"]
    assert search(api, {}, limit=1, skip=3) == ["4"]
    assert search(api, {"filter": [{"department": "IT"}]}, filter="state:$eq:ACTIVATED") == ["1"]
    assert search(api, {}, sort="-username", limit=2) == ["4", "3"]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"filters": []}, "filters"),
        ({"filter": "department:$eq:IT"}, "filter"),
        ({"filter": {"department": "IT"}}, "filter"),
        ({"filter": [{"department": ["IT"]}]}, "department"),
        ({"searchFilter": {"searchTerm": "x"}}, "fields"),
        ({"searchFilter": {"searchTerm": 5, "fields": ["email"]}}, "searchTerm"),
        ({"limit": 101}, "limit"),
        ({"skip": -1}, "skip"),
        ({"fields": ["email"]}, "fields"),
    ],
)
def test_search_refuses_a_bad_body(api: Api, body: dict[str, Any], fragment: str) -> None:
    assert_error(api.post("/search/systemusers", json=body), 400, fragment)


def test_search_refuses_a_body_that_is_not_json(api: Api) -> None:
    response = api.post(
        "/search/systemusers", data=b"{", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "JSON")


# -- fault injection -------------------------------------------------------------------------------


def test_429_without_and_with_retry_after(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("429", method="GET")
    plain = api.get("/systemusers")
    body = assert_error(plain, 429)
    assert body["code"] == 429
    assert "Retry-After" not in plain.headers
    app.faults.script("429_retry_after", method="GET", seconds=2)
    told = api.get("/systemusers")
    assert_error(told, 429)
    assert told.headers["Retry-After"] == "2"
    assert api.get("/systemusers").status_code == 200


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_errors_in_jumpcloud_shape(api: Api, app: JumpCloudEmulator, kind: str) -> None:
    app.faults.script(kind, path="/api/systemusers")
    body = assert_error(api.post("/systemusers", json=person(1)), int(kind))
    assert body["code"] == int(kind)
    assert app.user_count == 0  # a plain fault answers before the route runs
    assert api.post("/systemusers", json=person(1)).status_code == 200


def test_a_dropped_connection_is_a_connection_error(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("drop", method="GET")
    with pytest.raises(requests.ConnectionError):
        api.get("/systemusers")
    assert api.get("/systemusers").status_code == 200
    assert [e.status for e in app.requests("GET")] == [0, 200]


def test_a_latency_fault_delays_but_answers(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("latency", method="GET", seconds=0.2)
    started = time.monotonic()
    response = api.get("/systemusers")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2
    assert app.faults.injected["latency"] == 1


def test_auth_is_checked_before_faults(jumpcloud_emulator: EmulatorServer, api: Api) -> None:
    api.app.faults.script("503")
    response = requests.get(f"{jumpcloud_emulator.url}/api/systemusers", timeout=10)
    assert response.status_code == 401
    assert api.get("/systemusers").status_code == 503


def test_a_create_answered_503_was_stored(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("commit_then_503", method="POST", path="/api/systemusers")
    assert_error(api.post("/systemusers", json=person(1)), 503)
    [stored] = app.find_users(email="user.0001@example.com")
    assert stored["username"] == "user.0001"
    assert api.list(filter="email:$eq:user.0001@example.com")["totalCount"] == 1
    assert_error(api.post("/systemusers", json=person(1)), 400, "already exists")


def test_a_create_whose_connection_dropped_was_stored(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("commit_then_drop", method="POST", path="/api/systemusers")
    with pytest.raises(requests.ConnectionError):
        api.post("/systemusers", json=person(1))
    assert len(app.find_users(employeeIdentifier="E-0001")) == 1
    assert app.write_count == 1


@pytest.mark.parametrize("kind", ["commit_then_503", "commit_then_drop"])
def test_an_update_whose_answer_was_lost_was_stored(
    api: Api, app: JumpCloudEmulator, kind: str
) -> None:
    user = api.create(**person(1))
    app.faults.script(kind, method="PUT")
    try:
        response = api.put(f"/systemusers/{user['_id']}", json={"state": "SUSPENDED"})
    except requests.ConnectionError:
        assert kind == "commit_then_drop"
    else:
        assert kind == "commit_then_503"
        assert_error(response, 503)
    stored = app.get_user(user["_id"])
    assert stored is not None
    assert (stored["state"], stored["suspended"]) == ("SUSPENDED", True)


def test_commit_faults_skip_searches(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.script("commit_then_503")
    assert api.post("/search/systemusers", json={}).status_code == 200
    assert api.get("/systemusers").status_code == 200
    assert_error(api.post("/systemusers", json=person(1)), 503)
    assert app.user_count == 1


def test_randomized_faults_follow_the_probability(api: Api, app: JumpCloudEmulator) -> None:
    app.faults.randomize(1.0, ("500", "503"), seed=7)
    statuses = {api.get("/systemusers").status_code for _ in range(10)}
    assert statuses <= {500, 503}
    app.faults.clear()
    assert api.get("/systemusers").status_code == 200


# -- control routes and the Python-side API ----------------------------------------------------


def test_control_routes(api: Api, app: JumpCloudEmulator) -> None:
    root = f"{api.root}/_emulator"
    added = requests.post(f"{root}/users", json=person(1), timeout=10)
    assert added.status_code == 200
    assert added.json()["username"] == "user.0001"
    several = requests.post(f"{root}/users", json=[person(2), person(3)], timeout=10)
    assert [u["username"] for u in several.json()] == ["user.0002", "user.0003"]
    assert_error(requests.post(f"{root}/users", json=person(4, email="x"), timeout=10), 400)
    listed = requests.get(f"{root}/users", timeout=10).json()
    assert [u["username"] for u in listed] == ["user.0001", "user.0002", "user.0003"]
    api.create(**person(5))
    counters = requests.get(f"{root}/counters", timeout=10).json()
    assert counters["users"] == 4
    assert counters["writes"] == {"create": 1}
    app.faults.script("503")
    app.latency = 0.01
    assert requests.post(f"{root}/reset", timeout=10).json() == {"ok": True}
    assert app.user_count == 0
    assert app.requests() == []
    assert app.write_count == 0
    assert app.latency == 0
    assert api.get("/systemusers").status_code == 200  # the scripted fault is gone


def test_add_user_validates_like_post_and_bypasses_the_log(app: JumpCloudEmulator) -> None:
    user = app.add_user(**person(1, state="STAGED"))
    assert user["state"] == "STAGED"
    assert user["_id"] == user["id"]
    with pytest.raises(JumpCloudApiError, match="already exists"):
        app.add_user(**person(2, username="USER.0001"))
    with pytest.raises(ValueError, match="unknown field"):
        app.add_user(**person(3, nickname="x"))
    app.faults.script("503")
    app.add_user(**person(4))
    assert app.requests() == []
    assert app.write_count == 0
    assert app.user_count == 2


def test_python_side_reads_are_copies(app: JumpCloudEmulator) -> None:
    user = app.add_user(**person(1, attributes=[{"name": "a", "value": "1"}]))
    user["attributes"].append({"name": "b", "value": "2"})
    app.users()[0]["username"] = "changed"
    fetched = app.get_user(user["_id"])
    assert fetched is not None
    assert fetched["attributes"] == [{"name": "a", "value": "1"}]
    assert fetched["username"] == "user.0001"
    assert app.get_user(MISSING_ID) is None


def test_find_users_uses_exact_equality(app: JumpCloudEmulator) -> None:
    app.set_users([person(1), person(2, state="SUSPENDED"), person(3, jobTitle="Dev")])
    assert [u["username"] for u in app.find_users(state="SUSPENDED")] == ["user.0002"]
    assert app.find_users(email="USER.0001@example.com") == []
    assert [u["username"] for u in app.find_users(email="user.0001@example.com")] == ["user.0001"]
    assert [u["username"] for u in app.find_users(jobTitle=None)] == ["user.0001", "user.0002"]
    assert app.find_users(suspended=1) == []
    assert len(app.find_users(suspended=False, account_locked=False)) == 2


def test_set_users_restores_a_snapshot_and_is_all_or_nothing(app: JumpCloudEmulator) -> None:
    app.set_users([person(1), person(2)])
    snapshot = app.users()
    app.clear()
    assert app.user_count == 0
    app.set_users(list(reversed(snapshot)))
    assert app.users() == snapshot
    newer = app.add_user(**person(3))
    assert newer["_id"] > snapshot[-1]["_id"]
    with pytest.raises(ValueError, match="already exists"):
        app.set_users([person(1), person(2, email="user.0001@example.com")])
    assert app.user_count == 0
    boss_id = "66b0f2c4e1a9d3001f00ffff"
    app.set_users([person(1, manager=boss_id), person(2, _id=boss_id)])  # manager listed later
    assert [u.get("manager") for u in app.users()] == [boss_id, None]
    with pytest.raises(ValueError, match="manager"):
        app.set_users([person(1, manager=MISSING_ID)])
    assert app.user_count == 0


def test_write_count_counts_committed_api_writes(api: Api, app: JumpCloudEmulator) -> None:
    user = api.create(**person(1, state="STAGED"))
    api.post("/systemusers", json=person(1))  # refused: not a write
    api.put(f"/systemusers/{user['_id']}", json={"jobTitle": "x"})
    api.post(f"/systemusers/{user['_id']}/state/activate", json={})
    api.post(f"/systemusers/{user['_id']}/state/suspend")
    api.post("/search/systemusers", json={})
    api.delete(f"/systemusers/{user['_id']}")
    assert app.writes == {"create": 1, "update": 1, "activate": 1, "suspend": 1, "delete": 1}
    assert app.write_count == 5
    app.reset_log()
    assert app.write_count == 0
