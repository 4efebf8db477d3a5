"""The Deel emulator's single-person endpoint and its webhooks behave as Deel documents.

`GET /people/{id}` is checked against the field lists of Deel's schema for it (copied here),
with the same auth, rate limit and faults as every route. The webhook side: the management
API (`/webhooks`), signed deliveries of the events a change makes, retries with the same
tracking id, auto-disable after ten failures, and the sender's faults.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.emulators.base import EmulatorApp, EmulatorServer, Request, Response
from tests.emulators.deel_webhooks import (
    DISABLE_AFTER_FAILURES,
    WebhookSender,
    encode,
    sign,
    worker_updated,
)
from tests.emulators.workforce import generate_workforce

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.emulators.deel import DeelEmulator

TOKEN = "deel-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
KEY = "whsec-test-key"
# Deel's schema for GET /people/{hris_profile_id} (2026-01-01): the person's properties and
# an employment's. Nothing outside these lists may appear.
DETAIL_FIELDS = frozenset(
    [
        "active_worker_termination_status",
        "addresses",
        "birth_date",
        "client_legal_entity",
        "completion_date",
        "country",
        "created_at",
        "custom_fields",
        "department",
        "direct_employee_termination_last_day",
        "direct_manager",
        "direct_reports",
        "direct_reports_count",
        "emails",
        "employments",
        "external_id",
        "first_name",
        "full_name",
        "hiring_status",
        "hiring_type",
        "id",
        "job_title",
        "last_name",
        "nationalities",
        "new_hiring_status",
        "preferred_first_name",
        "preferred_last_name",
        "profile_organizational_structures",
        "seniority",
        "start_date",
        "state",
        "timezone",
        "updated_at",
        "work_location",
        "worker_id",
    ]
)
DETAIL_EMPLOYMENT_FIELDS = frozenset(
    [
        "client_legal_entity",
        "completion_date",
        "contract_coverage",
        "contract_has_contractor",
        "contract_is_archived",
        "contract_status",
        "country",
        "email",
        "has_eor_termination",
        "hiring_status",
        "hiring_type",
        "hris_direct_employee_invitation",
        "id",
        "is_ended",
        "is_user_contract_deleted",
        "job_title",
        "name",
        "new_hiring_status",
        "payment",
        "seniority",
        "start_date",
        "state",
        "team",
        "termination_last_day",
        "timezone",
        "voluntarily_left",
        "work_email",
    ]
)


class Catcher(EmulatorApp):
    """A stand-in receiver: keeps every POST; answers `fail_first` 500s first."""

    name = "catcher"

    def __init__(self) -> None:
        super().__init__()
        self.received: list[Request] = []
        self.fail_first = 0
        self.always_fail = False
        self.got = threading.Event()
        self.route("POST", "/hook", self._hook)

    def _hook(self, request: Request) -> Response:
        with self.lock:
            self.received.append(request)
            self.got.set()
            if self.always_fail or self.fail_first > 0:
                self.fail_first -= 1
                return Response(500, {"message": "down"})
        return Response(200, {"ok": True})

    def bodies(self) -> list[dict[str, Any]]:
        with self.lock:
            return [json.loads(r.body) for r in self.received]


@pytest.fixture
def deel(deel_emulator: EmulatorServer[DeelEmulator]) -> DeelEmulator:
    app = deel_emulator.app
    app.set_workforce(generate_workforce(40, seed=3))
    app.rate_limit_enabled = False
    app.webhooks.retry_base = 0.01
    return app


@pytest.fixture
def catcher() -> Iterator[EmulatorServer[Catcher]]:
    with EmulatorServer(Catcher()) as server:
        yield server


def get(url: str, path: str, **kwargs: Any) -> requests.Response:
    return requests.get(url + path, headers=AUTH, timeout=10, **kwargs)


# -- GET /people/{id} -----------------------------------------------------------------------------


def test_one_person_carries_only_the_detail_schemas_fields(deel, deel_api_url):
    for person in deel.people[:10]:
        data = get(deel_api_url, f"/people/{person['id']}").json()["data"]
        assert set(data) <= DETAIL_FIELDS, set(data) - DETAIL_FIELDS
        assert data["id"] == person["id"]
        assert data["hiring_status"] == person["hiring_status"]
        for employment in data["employments"]:
            assert set(employment) <= DETAIL_EMPLOYMENT_FIELDS, employment.keys()


def test_the_flags_are_booleans(deel, deel_api_url):
    path = f"/people/{deel.people[0]['id']}"
    ok = get(deel_api_url, path, params={"include_custom_fields": "true"})
    assert ok.status_code == 200
    for name in ("include_custom_fields", "include_worker_relations"):
        bad = get(deel_api_url, path, params={name: "yes"})
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["path"] == name


def test_one_person_is_rate_limited_and_authenticated_like_the_list(deel, deel_api_url):
    deel.rate_limit_enabled = True
    deel.reset_rate_limit()
    path = f"/people/{deel.people[0]['id']}"
    statuses = [get(deel_api_url, path).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert requests.get(deel_api_url + path, timeout=10).status_code == 401


def test_faults_reach_the_single_person_route(deel, deel_api_url):
    path = f"/people/{deel.people[0]['id']}"
    deel.faults.script("503", path=r"/rest/v2/people/.+")
    failed = get(deel_api_url, path)
    assert failed.status_code == 503
    assert failed.json()["error"]["code"] == "service_unavailable"
    assert get(deel_api_url, path).status_code == 200


# -- the management API ---------------------------------------------------------------------------


def create(deel_api_url: str, **overrides: Any) -> requests.Response:
    body = {
        "name": "JumpCloud sync",
        "description": "deel-webhooks",
        "status": "enabled",
        "url": "https://sync.example.com/webhooks/deel",
        "signing_key": KEY,
        "api_version": "v2",
        "events": ["worker.v2.updated", "contract.terminated"],
    }
    body.update(overrides)
    return requests.post(deel_api_url + "/webhooks", json=body, headers=AUTH, timeout=10)


def test_create_list_get_patch_delete(deel, deel_api_url):
    created = create(deel_api_url)
    assert created.status_code == 201
    item = created.json()["data"]
    assert item["signing_key"] == KEY  # shown once, at creation
    assert item["events"] == ["worker.v2.updated", "contract.terminated"]
    listed = get(deel_api_url, "/webhooks").json()["data"]
    assert [w["id"] for w in listed] == [item["id"]]
    assert listed[0]["signing_key"] is None
    assert get(deel_api_url, f"/webhooks/{item['id']}").json()["data"]["status"] == "enabled"
    patched = requests.patch(
        deel_api_url + f"/webhooks/{item['id']}",
        json={"status": "disabled"},
        headers=AUTH,
        timeout=10,
    )
    assert patched.json()["data"]["status"] == "disabled"
    gone = requests.delete(deel_api_url + f"/webhooks/{item['id']}", headers=AUTH, timeout=10)
    assert gone.json() == {"data": {"deleted": True}}
    assert get(deel_api_url, f"/webhooks/{item['id']}").status_code == 404


def test_a_key_is_made_when_none_is_given(deel, deel_api_url):
    item = create(deel_api_url, signing_key=None).json()["data"]
    assert isinstance(item["signing_key"], str)
    assert len(item["signing_key"]) >= 32


@pytest.mark.parametrize(
    "bad",
    [
        {"url": "http://sync.example.com/hook"},  # plain http to a remote host
        {"events": ["no.such.event"]},
        {"events": []},
        {"status": "on"},
        {"api_version": "v3"},
    ],
)
def test_create_refuses_bad_bodies(deel, deel_api_url, bad):
    assert create(deel_api_url, **bad).status_code == 400


def test_event_types_catalogue(deel, deel_api_url):
    names = {t["name"] for t in get(deel_api_url, "/webhooks/events/types").json()["data"]}
    assert {"worker.v2.updated", "contract.terminated", "worker.v2.created"} <= names


def test_webhooks_need_a_token_but_no_scope(deel_api_url):
    assert requests.get(deel_api_url + "/webhooks", timeout=10).status_code == 401


# -- deliveries -----------------------------------------------------------------------------------


def verify(request: Request, key: str = KEY) -> bool:
    expected = hmac.new(key.encode(), b"POST" + request.body, hashlib.sha256).hexdigest()
    return request.headers.get("x-deel-signature") == expected


def test_a_termination_is_delivered_signed(deel, catcher):
    deel.webhooks.subscribe(
        f"{catcher.url}/hook", ["worker.v2.updated", "contract.terminated"], signing_key=KEY
    )
    leaver = next(p for p in deel.people if p["hiring_status"] == "active")
    deel.terminate_person(leaver["id"])
    assert deel.webhooks.wait_idle(10)
    received = catcher.app.received
    assert all(verify(r) for r in received)
    assert all(r.headers["x-deel-webhook-version"] == "1.0.0" for r in received)
    types = [json.loads(r.body)["data"]["meta"]["event_type"] for r in received]
    assert types[0] == "worker.v2.updated"
    assert set(types) == {"worker.v2.updated", "contract.terminated"}
    first = json.loads(received[0].body)["data"]
    assert first["resource"] == {"id": leaver["id"]}
    assert first["meta"]["organization_name"] == deel.workforce.organizations[0]["name"]
    tracking = [json.loads(r.body)["data"]["meta"]["tracking_id"] for r in received]
    assert len(set(tracking)) == len(tracking)


def test_only_subscribed_types_go_out(deel, catcher):
    deel.webhooks.subscribe(f"{catcher.url}/hook", ["contract.terminated"], signing_key=KEY)
    deel.update_person(deel.people[0]["id"], job_title="Chief")  # worker.v2.updated: not wanted
    deel.hire("Ana", "Lima", seed=2)  # worker.v2.created: not wanted
    assert deel.webhooks.wait_idle(10)
    assert catcher.app.received == []


def test_a_failed_delivery_is_retried_with_the_same_tracking_id(deel, catcher):
    catcher.app.fail_first = 2
    deel.webhooks.subscribe(f"{catcher.url}/hook", ["worker.v2.updated"], signing_key=KEY)
    deel.update_person(deel.people[0]["id"])
    assert deel.webhooks.wait_idle(10)
    bodies = catcher.app.bodies()
    assert len(bodies) == 3
    assert len({b["data"]["meta"]["tracking_id"] for b in bodies}) == 1
    assert [a.status for a in deel.webhooks.attempts] == [500, 500, 200]


def test_ten_failures_in_a_row_disable_the_subscription(deel, catcher, deel_api_url):
    catcher.app.always_fail = True
    deel.webhooks.max_attempts = 3
    subscription = deel.webhooks.subscribe(
        f"{catcher.url}/hook", ["worker.v2.updated"], signing_key=KEY
    )
    for person in deel.people[:6]:  # 6 events x 3 attempts > 10 failures
        deel.update_person(person["id"])
    assert deel.webhooks.wait_idle(20)
    assert len(catcher.app.received) == DISABLE_AFTER_FAILURES
    item = get(deel_api_url, f"/webhooks/{subscription.id}").json()["data"]
    assert item["status"] == "disabled"
    deel.update_person(deel.people[7]["id"])  # nothing goes to a disabled subscription
    assert deel.webhooks.wait_idle(5)
    assert len(catcher.app.received) == DISABLE_AFTER_FAILURES
    # Re-enabled by hand, it receives again.
    catcher.app.always_fail = False
    requests.patch(
        deel_api_url + f"/webhooks/{subscription.id}",
        json={"status": "enabled"},
        headers=AUTH,
        timeout=10,
    ).raise_for_status()
    deel.update_person(deel.people[8]["id"])
    assert deel.webhooks.wait_idle(5)
    assert catcher.app.received[-1].body
    assert verify(catcher.app.received[-1])


def test_hub_faults_duplicates_wrong_key_and_list_resources(deel, catcher):
    deel.webhooks.faults.duplicates = 1
    deel.webhooks.faults.resource_as_list = True
    deel.webhooks.subscribe(f"{catcher.url}/hook", ["worker.v2.updated"], signing_key=KEY)
    person = deel.people[0]["id"]
    deel.update_person(person)
    assert deel.webhooks.wait_idle(10)
    bodies = catcher.app.bodies()
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert bodies[0]["data"]["resource"] == [{"id": person}]
    deel.webhooks.faults.duplicates = 0
    deel.webhooks.faults.wrong_key = True
    deel.update_person(person)
    assert deel.webhooks.wait_idle(10)
    assert not verify(catcher.app.received[-1])


def test_a_delay_holds_the_event_back(deel, catcher):
    deel.webhooks.faults.delay = 0.3
    deel.webhooks.subscribe(f"{catcher.url}/hook", ["worker.v2.updated"], signing_key=KEY)
    started = time.monotonic()
    deel.update_person(deel.people[0]["id"])
    assert catcher.app.got.wait(5)
    assert time.monotonic() - started >= 0.3


# -- the sender -----------------------------------------------------------------------------------


def test_sender_signs_as_deel_and_can_break_it_on_purpose(catcher):
    sender = WebhookSender(f"{catcher.url}/hook", KEY)
    payload = worker_updated("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    sender.deliver(payload, duplicates=2)
    sender.deliver(payload, wrong_key=True)
    sender.deliver(payload, unsigned=True)
    received = catcher.app.received
    assert len(received) == 5
    assert [verify(r) for r in received] == [True, True, True, False, False]
    assert "x-deel-signature" not in received[4].headers
    assert received[0].body == encode(payload)
    assert sign(b"{}", "k") == hmac.new(b"k", b"POST{}", hashlib.sha256).hexdigest()


def test_burst_and_flood(catcher):
    sender = WebhookSender(f"{catcher.url}/hook", KEY)
    payloads = [worker_updated(f"7c9e6679-7425-40de-944b-{n:012d}") for n in range(40)]
    results = sender.burst(payloads, concurrency=8)
    assert [r.status for r in results] == [200] * 40
    started = time.monotonic()
    flooded = sender.flood(payloads[:10], seconds=0.5, concurrency=4)
    assert all(r.status == 200 for r in flooded)
    assert time.monotonic() - started >= 0.45  # spread over the time asked
    assert len(catcher.app.received) == 50


def test_control_route_delivers_to_any_url(deel, deel_emulator, catcher):
    answer = requests.post(
        f"{deel_emulator.url}/_emulator/webhooks/deliver",
        json={
            "url": f"{catcher.url}/hook",
            "signing_key": KEY,
            "event_type": "worker.v2.updated",
            "resource": {"id": deel.people[0]["id"]},
            "duplicates": 1,
        },
        timeout=10,
    ).json()
    assert answer["statuses"] == [200, 200]
    assert all(verify(r) for r in catcher.app.received)
    assert (
        json.loads(catcher.app.received[0].body)["data"]["meta"]["tracking_id"]
        == (answer["tracking_id"])
    )
