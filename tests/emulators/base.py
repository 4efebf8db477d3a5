"""The HTTP plumbing both API emulators share: routing, latency, fault injection, request log.

Each emulator is an `EmulatorApp` (routes plus state) served by an `EmulatorServer` on a loopback
port in a background thread. Tests drive the state directly in Python; the demo and the CLI drive
it over the `/_emulator/...` routes.
"""

from __future__ import annotations

import contextlib
import json
import random
import re
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from collections.abc import Callable

# Fault kinds. "commit_then_*" only applies to writes: the change is stored, then the answer fails.
FAULT_KINDS = (
    "429",
    "429_retry_after",
    "500",
    "502",
    "503",
    "drop",
    "latency",
    "commit_then_503",
    "commit_then_drop",
)
COMMIT_FAULTS = ("commit_then_503", "commit_then_drop")


@dataclass
class Request:
    """One parsed HTTP request, as a route handler sees it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body parsed as JSON (raises ValueError on a malformed body)."""
        if not self.body:
            return None
        return json.loads(self.body)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else default

    def args(self, name: str) -> list[str]:
        """Every value of an array parameter, in the three encodings clients use.

        `k=a&k=b`, `k[]=a&k[]=b` and `k=a,b` all give `["a", "b"]`.
        """
        raw = self.query.get(name, []) + self.query.get(f"{name}[]", [])
        return [part for value in raw for part in value.split(",") if part]


@dataclass
class Response:
    """What a route handler answers."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None  # pre-serialised body, to skip json.dumps on hot paths


@dataclass
class Fault:
    """One injected fault: its kind, and for 429_retry_after / latency how many seconds."""

    kind: str
    seconds: float = 0.0


@dataclass
class ScriptedFault:
    """A fault served to the next `count` requests matching `method` and the `path` regex."""

    fault: Fault
    method: str = "*"
    path: str = ".*"
    count: int = 1


@dataclass
class LogEntry:
    """One served request, for assertions on counts, order and pacing."""

    at: float
    method: str
    path: str
    query: dict[str, list[str]]
    status: int
    fault: str | None
    body: Any = None


class FaultPlan:
    """Decides which requests fail, by script (exact, first) and by probability (seeded)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.scripted: list[ScriptedFault] = []
        self.probability = 0.0
        self.kinds: tuple[str, ...] = ()
        self.paths = ".*"
        self.retry_after = 1.0
        self.latency_spike = 0.2
        self._rng = random.Random(0)
        self.injected: Counter[str] = Counter()

    def script(
        self,
        kind: str,
        *,
        method: str = "*",
        path: str = ".*",
        count: int = 1,
        seconds: float = 0.0,
    ) -> None:
        """Queue `count` faults of `kind` for requests that match `method` and `path`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self.scripted.append(ScriptedFault(Fault(kind, seconds), method, path, count))

    def randomize(
        self,
        probability: float,
        kinds: tuple[str, ...] = FAULT_KINDS,
        *,
        seed: int = 0,
        paths: str = ".*",
        retry_after: float = 1.0,
        latency_spike: float = 0.2,
    ) -> None:
        """Fail each matching request with `probability`, the kind drawn from `kinds`."""
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}")
        with self._lock:
            self.probability = probability
            self.kinds = tuple(kinds)
            self.paths = paths
            self.retry_after = retry_after
            self.latency_spike = latency_spike
            self._rng = random.Random(seed)

    def clear(self) -> None:
        """No more faults (the count of those injected so far is kept)."""
        with self._lock:
            self.scripted.clear()
            self.probability = 0.0
            self.kinds = ()

    def draw(self, method: str, path: str, *, is_write: bool) -> Fault | None:
        """The fault for this request, if any; commit faults only ever hit writes."""
        with self._lock:
            for item in self.scripted:
                if (
                    item.method in ("*", method)
                    and re.fullmatch(item.path, path)
                    and (is_write or item.fault.kind not in COMMIT_FAULTS)
                ):
                    item.count -= 1
                    if item.count <= 0:
                        self.scripted.remove(item)
                    self.injected[item.fault.kind] += 1
                    return item.fault
            if self.probability <= 0 or not self.kinds or not re.fullmatch(self.paths, path):
                return None
            if self._rng.random() >= self.probability:
                return None
            kinds = [k for k in self.kinds if is_write or k not in COMMIT_FAULTS]
            if not kinds:
                return None
            kind = self._rng.choice(kinds)
            seconds = self.retry_after if kind == "429_retry_after" else self.latency_spike
            self.injected[kind] += 1
            return Fault(kind, seconds)


Route = tuple[str, re.Pattern[str], "Callable[..., Response]"]


class EmulatorApp:
    """Routes plus the state of one emulated API. Subclasses add routes in `__init__`."""

    name = "emulator"
    write_methods = frozenset({"POST", "PUT", "PATCH", "DELETE"})

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.faults = FaultPlan()
        self.latency = 0.0  # seconds added to every API request
        self.log: list[LogEntry] = []
        self.log_bodies = False  # keep write bodies in the log (tests that assert payloads)
        self.lock = threading.RLock()  # guards the emulated state
        self._log_lock = threading.Lock()
        self.route("GET", "/_emulator/log", self._get_log)
        self.route("GET", "/_emulator/counters", self._get_counters)
        self.route("POST", "/_emulator/faults", self._post_faults)
        self.route("POST", "/_emulator/latency", self._post_latency)
        self.route("POST", "/_emulator/reset-log", self._reset_log)

    # -- routing -----------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Callable[..., Response]) -> None:
        """Serve `handler(request, *groups)` for `method` and the full-match regex `pattern`."""
        self.routes.append((method, re.compile(pattern), handler))

    def is_write(self, request: Request) -> bool:
        """Whether a request may change state, so commit faults can pick it (by method here)."""
        return request.method in self.write_methods

    def authenticate(self, request: Request) -> Response | None:
        """Return an error response when the request is not authorised (subclasses decide)."""
        del request
        return None

    def rate_limit(self, request: Request) -> Response | None:
        """Return a 429 response when the request is over the limit (subclasses decide)."""
        del request
        return None

    def fault_response(self, fault: Fault) -> Response:
        """The response for an injected HTTP-status fault, in this API's error shape."""
        headers = {"Retry-After": f"{fault.seconds:g}"} if fault.kind == "429_retry_after" else {}
        status = 429 if fault.kind.startswith("429") else int(fault.kind[-3:])
        return Response(status, {"message": "injected fault"}, headers)

    def not_found(self) -> Response:
        """The answer for an unknown route."""
        return Response(404, {"message": "Not Found"})

    def dispatch(self, request: Request) -> tuple[Response | None, Fault | None]:  # noqa: PLR0911
        """Serve one request. A `None` response means: drop the connection without answering."""
        internal = request.path.startswith("/_emulator/")
        fault: Fault | None = None
        if not internal:
            if self.latency:
                time.sleep(self.latency)
            denied = self.authenticate(request)
            if denied is not None:
                return denied, None
            fault = self.faults.draw(request.method, request.path, is_write=self.is_write(request))
            if fault is not None and fault.kind == "latency":
                time.sleep(fault.seconds)
                fault = None
            if fault is not None and fault.kind not in COMMIT_FAULTS:
                if fault.kind == "drop":
                    return None, fault
                return self.fault_response(fault), fault
            limited = self.rate_limit(request)
            if limited is not None:
                return limited, None
        response = self._call_route(request)
        if fault is not None:  # a commit fault: the change above is stored, the answer is lost
            if fault.kind == "commit_then_drop":
                return None, fault
            return self.fault_response(Fault("503")), fault
        return response, None

    def _call_route(self, request: Request) -> Response:
        path_matched = False
        for method, pattern, handler in self.routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            path_matched = True
            if method == request.method:
                return handler(request, *match.groups())
        if path_matched:
            return Response(405, {"message": "Method Not Allowed"})
        return self.not_found()

    def record(self, request: Request, status: int, fault: Fault | None) -> None:
        """Append to the request log (the control routes are not logged)."""
        if request.path.startswith("/_emulator/"):
            return
        body = None
        if self.log_bodies and request.method in self.write_methods and request.body:
            try:
                body = request.json()
            except ValueError:
                body = request.body.decode("utf-8", "replace")
        entry = LogEntry(
            time.monotonic(),
            request.method,
            request.path,
            request.query,
            status,
            fault.kind if fault else None,
            body,
        )
        with self._log_lock:
            self.log.append(entry)

    # -- observation ----------------------------------------------------------------------------

    def requests(self, method: str | None = None, path: str | None = None) -> list[LogEntry]:
        """Logged requests, optionally filtered by method and by a full-match path regex."""
        with self._log_lock:
            entries = list(self.log)
        return [
            e
            for e in entries
            if (method is None or e.method == method)
            and (path is None or re.fullmatch(path, e.path))
        ]

    def counters(self) -> dict[str, Any]:
        """Request counts by method and status, and injected faults by kind."""
        with self._log_lock:
            entries = list(self.log)
        return {
            "requests": len(entries),
            "by_method": dict(Counter(e.method for e in entries)),
            "by_status": {str(k): v for k, v in Counter(e.status for e in entries).items()},
            "faults_injected": dict(self.faults.injected),
        }

    def reset_log(self) -> None:
        """Forget the request log (state and faults stay)."""
        with self._log_lock:
            self.log.clear()

    # -- control routes ----------------------------------------------------------------------------

    def _get_log(self, request: Request) -> Response:
        del request
        return Response(
            200,
            [
                {
                    "method": e.method,
                    "path": e.path,
                    "query": e.query,
                    "status": e.status,
                    "fault": e.fault,
                }
                for e in self.requests()
            ],
        )

    def _get_counters(self, request: Request) -> Response:
        del request
        return Response(200, self.counters())

    def _post_faults(self, request: Request) -> Response:
        spec = request.json() or {}
        if spec.get("clear"):
            self.faults.clear()
        for item in spec.get("script", []):
            self.faults.script(
                item["kind"],
                method=item.get("method", "*"),
                path=item.get("path", ".*"),
                count=item.get("count", 1),
                seconds=item.get("seconds", 0.0),
            )
        if "probability" in spec:
            self.faults.randomize(
                spec["probability"],
                tuple(spec.get("kinds", FAULT_KINDS)),
                seed=spec.get("seed", 0),
                paths=spec.get("paths", ".*"),
                retry_after=spec.get("retry_after", 1.0),
            )
        return Response(200, {"ok": True})

    def _post_latency(self, request: Request) -> Response:
        self.latency = float((request.json() or {}).get("seconds", 0.0))
        return Response(200, {"ok": True})

    def _reset_log(self, request: Request) -> Response:
        del request
        self.reset_log()
        return Response(200, {"ok": True})


def _make_handler(app: EmulatorApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real APIs
        # Headers and body go out in two writes: without TCP_NODELAY a small answer waits ~40 ms
        # for the client's delayed ACK (Nagle), which swamps every latency and pacing figure.
        disable_nagle_algorithm = True
        server_version = app.name

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Stay quiet: the app keeps its own request log."""

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            request = Request(
                method=self.command,
                path=parts.path,
                query=parse_qs(parts.query, keep_blank_values=True),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            try:
                response, fault = app.dispatch(request)
            except Exception as exc:  # an emulator bug must show up as a 500, not a hang
                response, fault = Response(500, {"message": f"emulator error: {exc!r}"}), None
            if response is None:
                app.record(request, 0, fault)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            app.record(request, response.status, fault)
            payload = (
                response.raw
                if response.raw is not None
                else (b"" if response.body is None else json.dumps(response.body).encode())
            )
            try:
                self.send_response(response.status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(payload)))
                for key, value in response.headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client timed out, hung up or was killed while we answered: its loss,
                # not a server error (and no traceback on the test output).
                self.close_connection = True

        def handle(self) -> None:
            """Serve the connection; a client that hangs up mid-request is not an error."""
            try:
                super().handle()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve  # noqa: N815

    return Handler


AppT = TypeVar("AppT", bound=EmulatorApp)


class EmulatorServer(Generic[AppT]):
    """Serve an `EmulatorApp` on 127.0.0.1 in a daemon thread (port 0 = an ephemeral port)."""

    def __init__(self, app: AppT, port: int = 0, host: str = "127.0.0.1") -> None:
        self.app = app
        self.httpd = ThreadingHTTPServer((host, port), _make_handler(app))
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port actually bound."""
        return int(self.httpd.server_address[1])

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:51234."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> EmulatorServer[AppT]:
        """Start serving in the background and return self."""
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{self.app.name}-server",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> EmulatorServer[AppT]:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
