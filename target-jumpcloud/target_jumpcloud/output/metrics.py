"""The run's metrics as a Prometheus text file, for node_exporter's textfile collector.

Written at the end of every run, completed or stopped, with `prometheus_client`: a registry
of the run's own (nothing of the process-wide default registry), and `write_to_textfile`,
which writes a temporary file beside the target and renames it, so the collector never reads
half a file. Every value describes the last run (gauges, not counters), except
`target_jumpcloud_last_success_timestamp_seconds`, which a run that did not succeed copies
from the previous file (docs/alerts.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from target_jumpcloud.model import Outcome

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

RECORDS: Final = "target_jumpcloud_records"
RUN_SECONDS: Final = "target_jumpcloud_run_seconds"
LAST_RUN: Final = "target_jumpcloud_last_run_timestamp_seconds"
LAST_SUCCESS: Final = "target_jumpcloud_last_success_timestamp_seconds"
GUARD_TRIPPED: Final = "target_jumpcloud_guard_tripped"
REQUESTS: Final = "target_jumpcloud_requests"
EXIT_CODE: Final = "target_jumpcloud_exit_code"
#: Every metric name the file holds (docs/alerts.md; the alert rules' test checks against it).
METRIC_NAMES: Final = (
    RECORDS,
    RUN_SECONDS,
    LAST_RUN,
    LAST_SUCCESS,
    GUARD_TRIPPED,
    REQUESTS,
    EXIT_CODE,
)


def previous_last_success(path: str | os.PathLike[str]) -> float | None:
    """The last success time in the metrics file at `path`, if it has one (else None).

    A missing or unreadable file, or one that is not Prometheus text, has none: the metric
    then says 0 ("never"), which an alert on its age fires for.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        for family in text_string_to_metric_families(text):
            if family.name == LAST_SUCCESS:
                for sample in family.samples:
                    if sample.name == LAST_SUCCESS and sample.value > 0:
                        return float(sample.value)
    except (OSError, UnicodeError, ValueError):
        return None
    return None


def metrics_registry(
    *,
    counts: Mapping[str, int],
    run_seconds: float,
    finished_at: float,
    last_success: float | None,
    guard_tripped: bool,
    requests: Mapping[tuple[str, str], int],
    exit_code: int,
) -> CollectorRegistry:
    """A registry holding one run's metrics (every outcome listed, zeros included)."""
    registry = CollectorRegistry(auto_describe=True)
    records = Gauge(RECORDS, "Records of the last run, by outcome", ["outcome"], registry=registry)
    for outcome in Outcome:
        records.labels(outcome=outcome.value).set(counts.get(outcome.value, 0))
    Gauge(RUN_SECONDS, "Seconds the last run took", registry=registry).set(run_seconds)
    Gauge(LAST_RUN, "When the last run ended (Unix time)", registry=registry).set(finished_at)
    Gauge(
        LAST_SUCCESS,
        "When the last run that completed and wrote ended (Unix time; 0: never)",
        registry=registry,
    ).set(last_success or 0)
    Gauge(
        GUARD_TRIPPED,
        "1 when the last run stopped on max_suspensions (nothing written), else 0",
        registry=registry,
    ).set(1 if guard_tripped else 0)
    sent = Gauge(
        REQUESTS,
        "HTTP requests the last run sent to JumpCloud, retries included",
        ["api", "method"],
        registry=registry,
    )
    for (api, method), count in sorted(requests.items()):
        sent.labels(api=api, method=method).set(count)
    Gauge(EXIT_CODE, "The last run's exit code (0: completed)", registry=registry).set(exit_code)
    return registry


def write_metrics(
    path: str | os.PathLike[str],
    *,
    counts: Mapping[str, int],
    run_seconds: float,
    finished_at: float,
    success: bool,
    guard_tripped: bool,
    requests: Mapping[tuple[str, str], int],
    exit_code: int,
) -> Path:
    """Write the run's metrics file atomically; a run that did not succeed keeps the last success.

    Raises:
        OSError: The file could not be written (the caller logs it; the run's verdict stands).
    """
    target = Path(path).expanduser()
    last_success = finished_at if success else previous_last_success(target)
    registry = metrics_registry(
        counts=counts,
        run_seconds=run_seconds,
        finished_at=finished_at,
        last_success=last_success,
        guard_tripped=guard_tripped,
        requests=requests,
        exit_code=exit_code,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(target), registry)
    return target
