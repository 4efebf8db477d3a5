"""Deel's webhooks, emulated: subscriptions, signed event deliveries, retries, auto-disable.

What Deel documents, as the emulator does it:
- A delivery is an HTTP POST of a JSON body `{"data": {"meta": {...}, "resource": ...},
  "timestamp": ...}` with `x-deel-signature`: the lowercase hex HMAC-SHA256, keyed with the
  subscription's signing key, over `"POST"` followed by the raw body. `x-deel-hmac-label`
  names the key; `x-deel-webhook-version` the payload version.
- Any reply but a 2xx is a failure and the event is sent again later; after 10 failures in a
  row the subscription is disabled, until someone enables it again (`PATCH /webhooks/{id}`).
- An event may arrive more than once, late, or never.

What Deel leaves open, and the emulator's choice: retries keep the event's `tracking_id`;
they wait `retry_base * 2**n` seconds (capped at `retry_cap`), at most `max_attempts` times per
event; `resource` is an object unless `resource_as_list` is set; a subscription created
without a signing key gets one generated (and returned once, at creation).

Tests, the demo and the bench use it two ways: `WebhookSender` posts any body to any URL with
the faults they ask for (duplicates, delays, bursts, a wrong key, no signature); `WebhookHub`
is the Deel side, fed by the emulator's changes to people (see `DeelEmulator`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import queue
import secrets
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import requests

from tests.emulators.base import Response

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from tests.emulators.base import EmulatorApp, Request

WEBHOOK_VERSION = "1.0.0"
DISABLE_AFTER_FAILURES = 10
DELIVERY_TIMEOUT = 30.0  # seconds Deel gives a receiver to answer

#: The worker-lifecycle event types (a part of Deel's catalogue of 100+), with descriptions.
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "worker.v2.created": ("hris", "A worker profile is created."),
    "worker.v2.updated": ("hris", "A worker profile changes (profile, contract, position...)."),
    "worker.v2.deleted": ("hris", "A worker profile is deleted."),
    "employee.updated.direct": ("hris", "A direct employee's information is updated."),
    "contract.created": ("contracts", "A new contract is created."),
    "contract.status.updated": ("contracts", "A contract's status changes."),
    "contract.terminated": ("terminations", "A contract termination is completed."),
    "contract.archived": ("contracts", "A contract is archived."),
    "onboarding.status.updated": ("onboarding", "A worker's onboarding status changes."),
}


def sign(body: bytes, key: str) -> str:
    """Deel's signature of a delivery body: lowercase hex HMAC-SHA256 over "POST" + body."""
    return hmac.new(key.encode("utf-8"), b"POST" + body, hashlib.sha256).hexdigest()


def event_payload(
    event_type: str,
    resource: dict[str, Any] | list[dict[str, Any]],
    *,
    tracking_id: str | None = None,
    organization_id: str = "90001",
    organization_name: str = "Acme",
    timestamp: str | None = None,
) -> dict[str, Any]:
    """A delivery body in Deel's shape (a new `tracking_id` unless one is given)."""
    return {
        "data": {
            "meta": {
                "event_type": event_type,
                "event_type_id": str(uuid.uuid5(uuid.NAMESPACE_URL, event_type)),
                "organization_id": organization_id,
                "organization_name": organization_name,
                "tracking_id": tracking_id or uuid.uuid4().hex,
            },
            "resource": resource,
        },
        "timestamp": timestamp or _now(),
    }


def worker_updated(person_id: str, **meta: Any) -> dict[str, Any]:
    """A `worker.v2.updated` body naming one profile id."""
    return event_payload("worker.v2.updated", {"id": person_id}, **meta)


def contract_terminated(contract_id: str, completion_date: str, **meta: Any) -> dict[str, Any]:
    """A `contract.terminated` body: it names a contract, not a person."""
    return event_payload(
        "contract.terminated", {"id": contract_id, "completion_date": completion_date}, **meta
    )


def encode(payload: dict[str, Any]) -> bytes:
    """Compact UTF-8 JSON, as Deel sends it."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _now() -> str:
    """The current UTC time as Deel writes it (`2024-09-05T08:32:52.119Z`)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# -- posting deliveries ---------------------------------------------------------------------------


@dataclass
class DeliveryResult:
    """One POST of a delivery: what was sent and what came back."""

    tracking_id: str | None
    event_type: str | None
    status: int  # 0: no answer (connection refused, reset or timed out)
    seconds: float  # from sending to the answer
    sent_at: float  # time.monotonic() when sent
    error: str | None = None
    body: bytes = b""


def _meta_of(body: bytes) -> tuple[str | None, str | None]:
    try:
        meta = json.loads(body)["data"]["meta"]
        return meta.get("tracking_id"), meta.get("event_type")
    except (ValueError, KeyError, TypeError):
        return None, None


class WebhookSender:
    """POSTs signed delivery bodies to one URL, with the faults a test asks for."""

    def __init__(
        self,
        url: str,
        signing_key: str,
        *,
        label: str = "Emulated webhook",
        timeout: float = DELIVERY_TIMEOUT,
    ) -> None:
        self.url = url
        self.signing_key = signing_key
        self.label = label
        self.timeout = timeout
        self._local = threading.local()
        self.results: list[DeliveryResult] = []
        self._results_lock = threading.Lock()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            self._local.session = session
        return session

    def headers(
        self, body: bytes, *, key: str | None = None, signature: str | None = None
    ) -> dict[str, str]:
        """Deel's headers for `body`, signed with `key` (default: the right one).

        `signature` replaces the computed signature; an empty string leaves the header out.
        """
        headers = {
            "Content-Type": "application/json",
            "x-deel-hmac-label": self.label,
            "x-deel-webhook-version": WEBHOOK_VERSION,
        }
        value = sign(body, key or self.signing_key) if signature is None else signature
        if value:
            headers["x-deel-signature"] = value
        return headers

    def post(
        self,
        body: bytes,
        *,
        key: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> DeliveryResult:
        """POST one body (signed with `key`, or carrying `signature` as given)."""
        sent = self.headers(body, key=key, signature=signature)
        sent.update(headers or {})
        tracking_id, event_type = _meta_of(body)
        started = time.monotonic()
        try:
            response = self._session().post(self.url, data=body, headers=sent, timeout=self.timeout)
            result = DeliveryResult(
                tracking_id,
                event_type,
                response.status_code,
                time.monotonic() - started,
                started,
                body=response.content,
            )
        except requests.RequestException as exc:
            result = DeliveryResult(
                tracking_id,
                event_type,
                0,
                time.monotonic() - started,
                started,
                error=type(exc).__name__,
            )
        with self._results_lock:
            self.results.append(result)
        return result

    def deliver(
        self,
        payload: dict[str, Any] | bytes,
        *,
        duplicates: int = 0,
        delay: float = 0.0,
        wrong_key: bool = False,
        unsigned: bool = False,
    ) -> list[DeliveryResult]:
        """Deliver one event (after `delay` seconds), then `duplicates` more copies of it."""
        body = payload if isinstance(payload, bytes) else encode(payload)
        if delay:
            time.sleep(delay)
        key = "not-the-" + self.signing_key if wrong_key else None
        signature = "" if unsigned else None
        return [self.post(body, key=key, signature=signature) for _ in range(1 + duplicates)]

    def burst(
        self, payloads: Iterable[dict[str, Any] | bytes], *, concurrency: int = 16
    ) -> list[DeliveryResult]:
        """Deliver many events at once, `concurrency` at a time; results in input order."""
        bodies = [p if isinstance(p, bytes) else encode(p) for p in payloads]
        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(self.post, bodies))

    def flood(
        self,
        payloads: Sequence[dict[str, Any] | bytes],
        *,
        seconds: float,
        concurrency: int = 8,
    ) -> list[DeliveryResult]:
        """Deliver the events spread evenly over `seconds` (a steady flood, not one burst)."""
        bodies = [p if isinstance(p, bytes) else encode(p) for p in payloads]
        start = time.monotonic()
        step = seconds / max(1, len(bodies))

        def paced(index: int) -> DeliveryResult:
            wait = start + index * step - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            return self.post(bodies[index])

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(paced, range(len(bodies))))


# -- the Deel side: subscriptions and emitted events ----------------------------------------------


@dataclass
class Subscription:
    """One `WebhookItem`: where to deliver which events, signed with which key."""

    id: str
    name: str | None
    description: str | None
    status: str
    url: str
    signing_key: str
    api_version: str
    events: list[str]
    created_at: str
    updated_at: str
    failures_in_a_row: int = 0

    def item(self, *, with_key: bool = False) -> dict[str, Any]:
        """The API's `WebhookItem` (the key only when `with_key`: the answer to a create)."""
        return {
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "url": self.url,
            "signing_key": self.signing_key if with_key else None,
            "api_version": self.api_version,
            "events": list(self.events),
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "hidden": False,
            "internal": False,
            "deleted_at": None,
        }


@dataclass
class DeliveryFaults:
    """Faults in the hub's own deliveries (off by default)."""

    duplicates: int = 0  # extra copies of every delivery
    delay: float = 0.0  # seconds before each event's first delivery
    wrong_key: bool = False  # sign with a key the receiver does not know
    resource_as_list: bool = False  # `resource` as a one-item list, as some of Deel's docs show


@dataclass
class Attempt:
    """One delivery attempt the hub made."""

    subscription_id: str
    event_type: str
    tracking_id: str
    attempt: int
    status: int
    at: float


@dataclass
class _Pending:
    subscription_id: str
    event_type: str
    body: bytes
    tracking_id: str
    attempt: int = 1
    due: float = 0.0
    copies: int = 0


@dataclass
class WebhookHub:
    """Deel's webhook service: subscriptions, and events delivered to them in a thread.

    `emit` queues an event for every enabled subscription that lists its type; one thread
    delivers them in order of due time, retrying failures. `wait_idle` returns once nothing
    is left to deliver, so tests never sleep.
    """

    organization_name: str = "Acme"
    retry_base: float = 1.0
    retry_cap: float = 60.0
    max_attempts: int = 8
    faults: DeliveryFaults = field(default_factory=DeliveryFaults)
    subscriptions: dict[str, Subscription] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: queue.Queue[None] = queue.Queue()
        self._pending: list[_Pending] = []
        self._busy = 0
        self._idle = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        self._session = requests.Session()

    # -- subscriptions -------------------------------------------------------------------------

    def subscribe(
        self,
        url: str,
        events: Sequence[str],
        *,
        signing_key: str | None = None,
        name: str | None = "Emulated webhook",
        description: str | None = None,
        status: str = "enabled",
        api_version: str = "v2",
    ) -> Subscription:
        """Create a subscription (as `POST /webhooks` does); a key is made when none given."""
        unknown = [e for e in events if e not in EVENT_TYPES]
        if unknown:
            raise ValueError(f"unknown event types: {', '.join(unknown)}")
        if not events:
            raise ValueError("events must name at least one event type")
        if status not in ("enabled", "disabled"):
            raise ValueError('status must be "enabled" or "disabled"')
        stamp = _now()
        created = Subscription(
            id=str(uuid.uuid4()),
            name=name,
            description=description,
            status=status,
            url=url,
            signing_key=signing_key or secrets.token_hex(24),
            api_version=api_version,
            events=list(events),
            created_at=stamp,
            updated_at=stamp,
        )
        with self._lock:
            self.subscriptions[created.id] = created
        return created

    # -- events ------------------------------------------------------------------------------

    def emit(self, event_type: str, resource: dict[str, Any]) -> list[str]:
        """Queue one event for every enabled subscription to its type; its tracking ids."""
        with self._lock:
            targets = [
                s
                for s in self.subscriptions.values()
                if s.status == "enabled" and event_type in s.events
            ]
            tracking_ids = []
            for subscription in targets:
                shaped: dict[str, Any] | list[dict[str, Any]] = (
                    [resource] if self.faults.resource_as_list else resource
                )
                payload = event_payload(
                    event_type, shaped, organization_name=self.organization_name
                )
                tracking_id = payload["data"]["meta"]["tracking_id"]
                tracking_ids.append(tracking_id)
                self._pending.append(
                    _Pending(
                        subscription.id,
                        event_type,
                        encode(payload),
                        tracking_id,
                        due=time.monotonic() + self.faults.delay,
                    )
                )
            if not targets:
                return []
            self._start()
        self._queue.put(None)
        return tracking_ids

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Block until every queued delivery is done (delivered or given up); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(min(left, 0.1))
        return True

    def attempts_for(self, tracking_id: str) -> list[Attempt]:
        """The attempts made to deliver one event."""
        with self._lock:
            return [a for a in self.attempts if a.tracking_id == tracking_id]

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="deel-webhooks", daemon=True)
            self._thread.start()

    def _next_due(self) -> tuple[_Pending | None, float]:
        if not self._pending:
            return None, 0.5
        item = min(self._pending, key=lambda p: p.due)
        wait = item.due - time.monotonic()
        if wait > 0:
            return None, wait
        self._pending.remove(item)
        self._busy += 1
        return item, 0.0

    def _run(self) -> None:
        while True:
            with self._lock:
                item, wait = self._next_due()
            if item is None:
                with contextlib.suppress(queue.Empty):
                    self._queue.get(timeout=min(wait, 0.5))
                continue
            try:
                self._deliver(item)
            finally:
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _deliver(self, item: _Pending) -> None:
        with self._lock:
            subscription = self.subscriptions.get(item.subscription_id)
            if subscription is None or subscription.status != "enabled":
                return  # deleted or disabled meanwhile: Deel stops sending
            key = subscription.signing_key
            if self.faults.wrong_key:
                key = "not-the-" + key
            url, label = subscription.url, subscription.name or ""
        headers = {
            "Content-Type": "application/json",
            "x-deel-signature": sign(item.body, key),
            "x-deel-hmac-label": label,
            "x-deel-webhook-version": WEBHOOK_VERSION,
        }
        try:
            status = self._session.post(
                url, data=item.body, headers=headers, timeout=DELIVERY_TIMEOUT
            ).status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            self.attempts.append(
                Attempt(
                    item.subscription_id,
                    item.event_type,
                    item.tracking_id,
                    item.attempt,
                    status,
                    time.monotonic(),
                )
            )
            if 200 <= status < 300:
                subscription.failures_in_a_row = 0
                if item.copies < self.faults.duplicates:  # "may be delivered more than once"
                    item.copies += 1
                    item.due = time.monotonic()
                    self._pending.append(item)
                return
            subscription.failures_in_a_row += 1
            if subscription.failures_in_a_row >= DISABLE_AFTER_FAILURES:
                subscription.status = "disabled"
                subscription.updated_at = _now()
                self._pending = [p for p in self._pending if p.subscription_id != subscription.id]
                return
            if item.attempt < self.max_attempts:
                wait = min(self.retry_cap, self.retry_base * 2 ** (item.attempt - 1))
                item.attempt += 1
                item.due = time.monotonic() + wait
                self._pending.append(item)

    # -- Deel's management API (/rest/v2/webhooks...) and control routes ----------------------

    def install(self, app: EmulatorApp, api: str) -> None:
        """Serve Deel's `/webhooks` API under `api` and the `/_emulator/webhooks` routes."""
        app.route("GET", api + "/webhooks/?", self._list)
        app.route("POST", api + "/webhooks/?", self._create)
        app.route("GET", api + "/webhooks/events/types/?", self._types)
        app.route("GET", api + "/webhooks/([^/]+)/?", self._get)
        app.route("PATCH", api + "/webhooks/([^/]+)/?", self._patch)
        app.route("DELETE", api + "/webhooks/([^/]+)/?", self._delete)
        app.route("POST", "/_emulator/webhooks/deliver", self._ctl_deliver)
        app.route("POST", "/_emulator/webhooks/emit", self._ctl_emit)
        app.route("POST", "/_emulator/webhooks/faults", self._ctl_faults)
        app.route("GET", "/_emulator/webhooks/attempts", self._ctl_attempts)
        app.route("POST", "/_emulator/webhooks/wait-idle", self._ctl_wait_idle)

    @staticmethod
    def _response(status: int, body: Any) -> Response:
        return Response(status, body)

    def _bad(self, message: str, status: int = 400) -> Response:
        return self._response(status, {"errors": [{"message": message}]})

    @staticmethod
    def _body(request: Request) -> dict[str, Any] | None:
        try:
            body = request.json()
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    def _list(self, request: Request) -> Response:
        del request
        with self._lock:
            return self._response(200, {"data": [s.item() for s in self.subscriptions.values()]})

    def _types(self, request: Request) -> Response:
        del request
        stamp = "2024-01-01T00:00:00.000Z"
        return self._response(
            200,
            {
                "data": [
                    {
                        "id": index,
                        "module_name": module,
                        "module_label": module.title(),
                        "name": name,
                        "description": description,
                        "payload_example": None,
                        "created_at": stamp,
                        "updated_at": stamp,
                    }
                    for index, (name, (module, description)) in enumerate(EVENT_TYPES.items(), 1)
                ]
            },
        )

    def _create(self, request: Request) -> Response:  # noqa: PLR0911 -- one 400 per rule
        body = self._body(request)
        if body is None:
            return self._bad("the body must be a JSON object")
        missing = [k for k in ("name", "description", "status", "url", "events") if k not in body]
        if missing:
            return self._bad(f"missing required fields: {', '.join(missing)}")
        url, events = body["url"], body["events"]
        if not isinstance(url, str) or not _deliverable(url):
            return self._bad("url must be an https:// URL (http only for loopback)")
        if not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            return self._bad("events must be a list of event type names")
        key = body.get("signing_key")
        if key is not None and (not isinstance(key, str) or not key):
            return self._bad("signing_key must be a non-empty string or null")
        api_version = body.get("api_version", "v2")
        if api_version not in ("v1", "v2"):
            return self._bad('api_version must be "v1" or "v2"')
        try:
            created = self.subscribe(
                url,
                events,
                signing_key=key,
                name=body["name"],
                description=body["description"],
                status=body["status"],
                api_version=api_version,
            )
        except ValueError as exc:
            return self._bad(str(exc))
        return self._response(201, {"data": created.item(with_key=True)})

    def _get(self, request: Request, subscription_id: str) -> Response:
        del request
        with self._lock:
            found = self.subscriptions.get(subscription_id)
        if found is None:
            return self._bad("Webhook not found", 404)
        return self._response(200, {"data": found.item()})

    def _patch(self, request: Request, subscription_id: str) -> Response:
        body = self._body(request)
        if body is None:
            return self._bad("the body must be a JSON object")
        with self._lock:
            found = self.subscriptions.get(subscription_id)
            if found is None:
                return self._bad("Webhook not found", 404)
            if "status" in body:
                if body["status"] not in ("enabled", "disabled"):
                    return self._bad('status must be "enabled" or "disabled"')
                found.status = body["status"]
                if found.status == "enabled":
                    found.failures_in_a_row = 0
            if "url" in body:
                if not isinstance(body["url"], str) or not _deliverable(body["url"]):
                    return self._bad("url must be an https:// URL (http only for loopback)")
                found.url = body["url"]
            if "events" in body:
                events = body["events"]
                if not isinstance(events, list) or any(e not in EVENT_TYPES for e in events):
                    return self._bad("events must be a list of known event types")
                found.events = list(events)
            if body.get("signing_key"):
                found.signing_key = str(body["signing_key"])
            for key in ("name", "description"):
                if key in body:
                    setattr(found, key, body[key])
            found.updated_at = _now()
            return self._response(200, {"data": found.item()})

    def _delete(self, request: Request, subscription_id: str) -> Response:
        del request
        with self._lock:
            deleted = self.subscriptions.pop(subscription_id, None) is not None
        if not deleted:
            return self._bad("Webhook not found", 404)
        return self._response(200, {"data": {"deleted": True}})

    def _ctl_deliver(self, request: Request) -> Response:
        """Post one event to any URL now: `{url, signing_key, event_type, resource,
        tracking_id?, duplicates?, delay?, wrong_key?, unsigned?}`; the answers' statuses."""
        body = self._body(request)
        if body is None:
            return self._bad("the body must be a JSON object")
        try:
            sender = WebhookSender(str(body["url"]), str(body["signing_key"]))
            payload = event_payload(
                str(body["event_type"]),
                body["resource"],
                tracking_id=body.get("tracking_id"),
                organization_name=self.organization_name,
            )
        except KeyError as exc:
            return self._bad(f"missing {exc}")
        results = sender.deliver(
            payload,
            duplicates=int(body.get("duplicates", 0)),
            delay=float(body.get("delay", 0.0)),
            wrong_key=bool(body.get("wrong_key", False)),
            unsigned=bool(body.get("unsigned", False)),
        )
        return self._response(
            200,
            {
                "tracking_id": payload["data"]["meta"]["tracking_id"],
                "statuses": [r.status for r in results],
                "seconds": [round(r.seconds, 4) for r in results],
            },
        )

    def _ctl_emit(self, request: Request) -> Response:
        body = self._body(request)
        if body is None or "event_type" not in body or "resource" not in body:
            return self._bad("give event_type and resource")
        return self._response(
            200, {"tracking_ids": self.emit(str(body["event_type"]), body["resource"])}
        )

    def _ctl_faults(self, request: Request) -> Response:
        body = self._body(request) or {}
        with self._lock:
            for name in ("duplicates", "delay", "wrong_key", "resource_as_list"):
                if name in body:
                    kind = type(getattr(self.faults, name))
                    setattr(self.faults, name, kind(body[name]))
            for name in ("retry_base", "retry_cap", "max_attempts"):
                if name in body:
                    setattr(self, name, type(getattr(self, name))(body[name]))
            return self._response(200, {"ok": True})

    def _ctl_attempts(self, request: Request) -> Response:
        del request
        with self._lock:
            return self._response(200, [vars(a) for a in self.attempts])

    def _ctl_wait_idle(self, request: Request) -> Response:
        body = self._body(request) or {}
        return self._response(200, {"idle": self.wait_idle(float(body.get("timeout", 30.0)))})


def _deliverable(url: str) -> bool:
    """HTTPS, or plain HTTP to loopback (the emulator's concession to local receivers)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
