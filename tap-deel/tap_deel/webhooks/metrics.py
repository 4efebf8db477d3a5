"""The receiver's Prometheus metrics, served at `GET /metrics` (text exposition format).

- `deel_webhooks_deliveries_total{verdict}`: deliveries answered, by verdict (`VERDICTS`);
- `deel_webhooks_pending_events`: events not yet done, read from the queue at each scrape, so
  it is right straight after a restart;
- `deel_webhooks_syncs_total{kind, outcome}`: finished syncs, `targeted` or `full`, by how
  they ended (`succeeded`, `failed`, `interrupted`: the words of the queue and the log line);
- `deel_webhooks_delivery_to_sync_seconds`: for each event a successful sync marked done, the
  seconds from its delivery being accepted to the end of that sync. Both times come from the
  queue (`received_at`, `done_at`), so an event received before a restart and synced after it
  is measured right.

The metrics live in a registry of their own (not prometheus_client's global one): two
receivers in one process, or tests, never share counts. Nothing here sees the signing key or a
payload: the label values are the fixed words below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client import generate_latest as exposition_of
from prometheus_client.core import GaugeMetricFamily

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

#: The `Content-Type` of the `/metrics` answer.
CONTENT_TYPE = CONTENT_TYPE_LATEST

Verdict = Literal[
    "accepted", "duplicate", "too_large", "bad_signature", "bad_body", "queue_unavailable"
]
#: Each delivery verdict (the metric's label) and the word the answer and `/healthz` use for it:
#: 200 `accepted` (new, stored) or `duplicate` (stored already); refusals, all `rejected`:
#: 413 `too_large`, 401 `bad_signature` (missing or wrong), 400 `bad_body` (not JSON, or no
#: event type); 503 `queue_unavailable` (the queue could not be written; `failed`).
VERDICTS: dict[Verdict, str] = {
    "accepted": "accepted",
    "duplicate": "duplicate",
    "too_large": "rejected",
    "bad_signature": "rejected",
    "bad_body": "rejected",
    "queue_unavailable": "failed",
}
SYNC_KINDS = ("targeted", "full")
SYNC_OUTCOMES = ("succeeded", "failed", "interrupted")
#: Seconds to minutes: the debounce (10 s by default) plus a sync of a few seconds lands in the
#: middle; the top buckets show syncs held up by the nightly job's lock or by retries.
LATENCY_BUCKETS = (1.0, 2.0, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0)

DELIVERIES = "deel_webhooks_deliveries"
PENDING = "deel_webhooks_pending_events"
SYNCS = "deel_webhooks_syncs"
LATENCY = "deel_webhooks_delivery_to_sync_seconds"


class _PendingEvents:
    """A collector that reads the events not yet done from the queue at each scrape."""

    def __init__(self, read: Callable[[], int]) -> None:
        self._read = read

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(
            PENDING,
            "Events stored and not yet done (pending, running, or failed and waiting for a "
            "retry), read from the queue at scrape time.",
        )

    def describe(self) -> Iterable[GaugeMetricFamily]:
        """The metric's name, without reading the queue (used when registering)."""
        return [self._family()]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The count now (a StoreError from the queue goes to the caller)."""
        family = self._family()
        family.add_metric([], float(self._read()))
        yield family


class ReceiverMetrics:
    """The counters the app and the worker feed, and the `/metrics` body."""

    def __init__(self, pending_events: Callable[[], int]) -> None:
        """Create the metrics in a registry of their own.

        Args:
            pending_events: Reads the events not yet done from the queue (called per scrape).
        """
        self.registry = CollectorRegistry()
        self._deliveries = Counter(
            DELIVERIES,
            "Deliveries to POST /webhooks/deel answered since the receiver started, by verdict.",
            ["verdict"],
            registry=self.registry,
        )
        self._syncs = Counter(
            SYNCS,
            "Syncs that ended since the receiver started, by kind and outcome.",
            ["kind", "outcome"],
            registry=self.registry,
        )
        self._latency = Histogram(
            LATENCY,
            "Seconds from a delivery being accepted to the end of the successful sync that "
            "marked its event done.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        for verdict in VERDICTS:  # every series from the start, so rate() sees the first one
            self._deliveries.labels(verdict)
        for kind in SYNC_KINDS:
            for outcome in SYNC_OUTCOMES:
                self._syncs.labels(kind, outcome)
        self.registry.register(_PendingEvents(pending_events))

    def delivery(self, verdict: Verdict) -> None:
        """Count one answered delivery."""
        self._deliveries.labels(verdict).inc()

    def sync_ended(self, kind: str, outcome: str, latencies: Iterable[float]) -> None:
        """Count one ended sync and observe its done events.

        Args:
            kind: `targeted` or `full`.
            outcome: `succeeded`, `failed` or `interrupted`.
            latencies: For each event it marked done, seconds from delivery to the sync's end.
        """
        self._syncs.labels(kind, outcome).inc()
        for seconds in latencies:
            self._latency.observe(max(0.0, seconds))

    def deliveries_by_answer(self) -> dict[str, int]:
        """The delivery counts in the answer's words, for `/healthz`."""
        counted = {
            sample.labels["verdict"]: sample.value
            for family in self._deliveries.collect()  # this counter alone: no queue read
            for sample in family.samples
            if sample.name == f"{DELIVERIES}_total"
        }
        totals = dict.fromkeys(VERDICTS.values(), 0)
        for verdict, word in VERDICTS.items():
            totals[word] += int(counted.get(verdict, 0))
        return totals

    def exposition(self) -> bytes:
        """The `/metrics` body (reads the queue once; a StoreError goes to the caller)."""
        return exposition_of(self.registry)
