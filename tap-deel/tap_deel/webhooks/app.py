"""The ASGI app: `POST /webhooks/deel` takes deliveries; `/healthz` and `/metrics` report.

A delivery is checked in the contract's order and nothing is queued on a refusal:
1. a body over 1 MiB: 413, decided from `Content-Length` before reading, or after reading
   just past the limit when the length is not given;
2. `x-deel-signature` missing or wrong: 401;
3. a body that is not JSON, or has no `data.meta.event_type`: 400.
An accepted event is written to the queue (and to the disk) before the 200; a repeat of one
already stored is answered 200 too, so Deel stops sending it. When the queue cannot be
written the answer is 503, so Deel tries again later. Each answer is counted by its verdict
(`metrics.VERDICTS`); `/healthz` and `/metrics` read the same counts.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tap_deel.webhooks.events import EventError, parse_event
from tap_deel.webhooks.logs import shown
from tap_deel.webhooks.metrics import CONTENT_TYPE, VERDICTS
from tap_deel.webhooks.signature import HEADER, signature_matches
from tap_deel.webhooks.store import StoreError

if TYPE_CHECKING:
    from collections.abc import Callable

    from starlette.requests import Request

    from tap_deel.webhooks.events import Event
    from tap_deel.webhooks.metrics import ReceiverMetrics, Verdict
    from tap_deel.webhooks.store import Store

MAX_BODY_BYTES = 1024 * 1024
DELIVERY_PATH = "/webhooks/deel"
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"

logger = logging.getLogger("deel-webhooks")


class _BodyTooLargeError(Exception):
    """The body went past the limit while being read."""


async def _read_body(request: Request) -> bytes:
    """The body, read only up to just past the limit."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise _BodyTooLargeError
    return bytes(body)


def _declared_length(request: Request) -> int | None:
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:  # (the server refuses a malformed length before we see it)
        return None


def create_app(
    signing_key: str,
    store: Store,
    *,
    on_event: Callable[[], None],
    health: Callable[[], dict[str, Any]],
    metrics: ReceiverMetrics,
) -> Starlette:
    """The receiver's ASGI app.

    Args:
        signing_key: The subscription's signing key.
        store: The queue accepted events go to.
        on_event: Called after a new event is stored (wakes the sync worker).
        health: Gives the `/healthz` body (the queue's state, the last sync).
        metrics: Where deliveries are counted; gives the `/metrics` body.

    Returns:
        The Starlette app.
    """

    def answer(
        status: int,
        verdict: Verdict,
        started: float,
        *,
        reason: str = "",
        event: Event | None = None,
    ) -> JSONResponse:
        """Count, log one line, and answer."""
        metrics.delivery(verdict)
        word = VERDICTS[verdict]
        parts = [f"delivery verdict={word}", f"status={status}"]
        if event is not None:
            parts += [
                f"event_type={shown(event.event_type)}",
                f"tracking_id={shown(event.tracking_id)}",
                f"people={len(event.person_ids)}",
                f"full_sync={'yes' if event.full_sync else 'no'}",
            ]
        if reason:
            parts.append(f"reason={shown(reason)}")
        parts.append(f"ms={(time.monotonic() - started) * 1000:.1f}")
        level = logging.WARNING if status >= 400 else logging.INFO  # noqa: PLR2004
        logger.log(level, " ".join(parts))
        body: dict[str, Any] = {"status": word}
        if reason:
            body["reason"] = reason
        return JSONResponse(body, status_code=status)

    async def receive_delivery(request: Request) -> JSONResponse:  # noqa: PLR0911 -- one answer per check, in the contract's order
        started = time.monotonic()
        declared = _declared_length(request)
        if declared is not None and declared > MAX_BODY_BYTES:
            return answer(413, "too_large", started, reason="body over 1 MiB")
        try:
            raw = await _read_body(request)
        except _BodyTooLargeError:
            return answer(413, "too_large", started, reason="body over 1 MiB")
        header = request.headers.get(HEADER)
        if not header:
            return answer(401, "bad_signature", started, reason="no x-deel-signature")
        if not signature_matches(signing_key, raw, header):
            return answer(401, "bad_signature", started, reason="wrong x-deel-signature")
        try:
            event = parse_event(raw)
        except EventError as exc:
            return answer(400, "bad_body", started, reason=str(exc))
        try:
            new = await run_in_threadpool(store.add_event, event, time.time())
        except StoreError as exc:
            logger.error("cannot store a delivery: %s", exc)  # noqa: TRY400 -- one line
            return answer(
                503, "queue_unavailable", started, reason="the queue cannot be written", event=event
            )
        if not new:
            return answer(200, "duplicate", started, event=event)
        on_event()
        return answer(200, "accepted", started, event=event)

    async def healthz(request: Request) -> JSONResponse:
        del request
        try:
            body = await run_in_threadpool(health)
        except StoreError as exc:
            logger.error("health check cannot read the queue: %s", exc)  # noqa: TRY400
            return JSONResponse({"status": "error", "error": "the queue cannot be read"}, 503)
        body["deliveries"] = metrics.deliveries_by_answer()
        return JSONResponse(body)

    async def metrics_page(request: Request) -> Response:
        """The Prometheus exposition; built in a thread, so a slow disk never stalls a delivery."""
        del request
        try:
            body = await run_in_threadpool(metrics.exposition)
        except StoreError as exc:
            logger.error("metrics cannot read the queue: %s", exc)  # noqa: TRY400
            return PlainTextResponse("the queue cannot be read\n", 503)
        return Response(body, media_type=CONTENT_TYPE)

    return Starlette(
        routes=[
            Route(DELIVERY_PATH, receive_delivery, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(METRICS_PATH, metrics_page, methods=["GET"]),
        ]
    )
