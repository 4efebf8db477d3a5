"""The end of every run, however it ended: the metrics file, then the notification.

The CLI calls `conclude_run` once, after the exit code is known (a completed run, a guard
trip, a refused key, a bad config found before the engine started, failed records, an
interrupt), so each run is counted and announced exactly once. Neither step can change the
run's verdict: a file that cannot be written or a message that cannot be sent is a log line.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from target_jumpcloud.model import Outcome
from target_jumpcloud.output.notify import RunEnd, notify_run

if TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from target_jumpcloud.settings.alerting import AlertSettings

__all__ = ["RunEnd", "conclude_run", "is_success"]


def is_success(end: RunEnd) -> bool:
    """A run that completed and wrote (exit 0, not a dry run): the last-success time moves."""
    return end.exit_code == 0 and end.report is not None and end.report.applied


def conclude_run(
    alerts: AlertSettings,
    end: RunEnd,
    *,
    run_seconds: float,
    requests: Mapping[tuple[str, str], int],
    logger: logging.Logger,
    notify_timeout: float | None = None,
) -> None:
    """Write the metrics file (when `metrics_path` is set), then notify (when `notify` is)."""
    if alerts.metrics_path:
        # prometheus_client takes 0.2 s to import: only runs that write metrics pay it.
        from target_jumpcloud.output.metrics import write_metrics  # noqa: PLC0415

        counts = (
            end.report.counts
            if end.report is not None
            else dict.fromkeys((o.value for o in Outcome), 0)
        )
        try:
            written = write_metrics(
                alerts.metrics_path,
                counts=counts,
                run_seconds=run_seconds,
                finished_at=time.time(),
                success=is_success(end),
                guard_tripped=end.guard_tripped,
                requests=requests,
                exit_code=end.exit_code,
            )
        except OSError as exc:
            logger.error(  # noqa: TRY400 - the reason is the line; no traceback for a full disk
                "Could not write the metrics file %s: %s", alerts.metrics_path, exc.strerror or exc
            )
        else:
            logger.info("Metrics written to %s", written)
    if alerts.notify:
        notify_run(
            alerts.notify, alerts.notify_state_path, end, logger=logger, timeout=notify_timeout
        )
