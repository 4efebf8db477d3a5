"""Notifications with Apprise: a problem run reaches a person, and so does the recovery.

After a run that tripped the guard, stopped on a bad key, a bad config or any other stop, or
ended with `failed` or `conflict` records, one message goes to each `notify` URL: the
outcome, the counts, and the first problems with their reasons and hints. A clean run after
a problem run sends one recovery message; a clean run after a clean one sends nothing. The
last status is kept in `notify_state_path` (docs/alerts.md).

A message that cannot be sent is a warning, never a failed run, and a slow webhook cannot
hold the run: each service gets a bounded timeout, and all are sent at once. The URLs are
secrets: no log line here names one (services are named by position and scheme), and
Apprise's own log lines, which may quote them, are kept out of the run's log.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.atomic import write_atomically
from target_jumpcloud.model import Outcome
from target_jumpcloud.output.hints import hint_for, needs_a_person
from target_jumpcloud.output.report import STATUS_GUARD, describe_record, iso, utc_now
from target_jumpcloud.settings.alerting import apprise_silenced

if TYPE_CHECKING:
    import logging
    import os
    from collections.abc import Sequence

    from target_jumpcloud.output.report import RunReport

PROBLEMS_LISTED: Final = 5
#: Seconds each service may take to connect, and again to answer (Apprise's default is 4).
SEND_TIMEOUT: Final = 5.0
STATUS_OK: Final = "ok"
STATUS_PROBLEM: Final = "problem"
_PROBLEM_OUTCOMES: Final = (Outcome.FAILED, Outcome.CONFLICT)
_SHOWN: Final = 500  # a longer reason is cut in a message


@dataclass(frozen=True)
class RunEnd:
    """How a run ended, as the alerts see it: outcome name, exit code, stop line, report."""

    outcome: str  # e.g. "completed", "guard_tripped", "bad_key", "bad_config"
    exit_code: int
    message: str | None = None  # the stop's line(s), already scrubbed of secrets
    report: RunReport | None = None

    @property
    def problem_records(self) -> int:
        """How many records ended as `failed` or `conflict`."""
        if self.report is None:
            return 0
        return sum(1 for r in self.report.records if r.outcome in _PROBLEM_OUTCOMES)

    @property
    def is_problem(self) -> bool:
        """True for a stop (non-zero exit) or a run with failed or conflicting records."""
        return self.exit_code != 0 or self.problem_records > 0

    @property
    def guard_tripped(self) -> bool:
        """True when the guard stopped the run (nothing was written)."""
        return self.report is not None and self.report.status == STATUS_GUARD


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def problem_message(end: RunEnd) -> tuple[str, str]:
    """The title and body of the message for a problem run."""
    title = f"target-jumpcloud: {end.outcome.replace('_', ' ')} (exit {end.exit_code})"
    lines = [f"Outcome: {end.outcome} (exit code {end.exit_code})"]
    if end.message:
        lines.append(_cut(end.message))
    report = end.report
    if report is not None:
        counts = ", ".join(f"{name} {count}" for name, count in report.counts.items())
        lines.append(f"Counts: {counts}")
        if report.dry_run:
            lines.append("Dry run: nothing was written.")
        problems = [r for r in report.records if r.outcome in _PROBLEM_OUTCOMES]
        problems += [
            r
            for r in report.records
            if r.outcome is Outcome.SKIPPED and needs_a_person(r.outcome, r.reason)
        ]
        shown = problems[:PROBLEMS_LISTED]
        if shown:
            more = f" (first {len(shown)} of {len(problems)})" if len(problems) > len(shown) else ""
            lines.append(f"Problems{more}:")
        for result in shown:
            reason = _cut(result.reason or "(no reason given)")
            lines.append(f"- {result.outcome.value}: {describe_record(result)}: {reason}")
            hint = hint_for(result.outcome, result.reason)
            if hint:
                lines.append(f"  what to do: {hint}")
        lines.append(f"Run started {iso(report.started_at)}.")
    return title, "\n".join(lines)


def recovery_message(end: RunEnd, previous: dict[str, Any]) -> tuple[str, str]:
    """The title and body of the one message that says the sync is healthy again."""
    title = f"target-jumpcloud: recovered ({end.outcome.replace('_', ' ')})"
    lines = [f"Outcome: {end.outcome} (exit code 0); the sync is healthy again."]
    if previous.get("outcome"):
        lines.append(f"The previous run ended as {previous['outcome']} at {previous.get('at')}.")
    if end.report is not None:
        counts = ", ".join(f"{name} {count}" for name, count in end.report.counts.items())
        lines.append(f"Counts: {counts}")
    return title, "\n".join(lines)


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The last run's status as `notify_state_path` keeps it ({} when there is none yet)."""
    try:
        data = json.loads(Path(path).expanduser().read_text(encoding="utf-8"))
    except (OSError, UnicodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_state(path: str | os.PathLike[str], end: RunEnd) -> Path:
    """Keep this run's status (atomically), for the next run to compare with."""
    state = {
        "status": STATUS_PROBLEM if end.is_problem else STATUS_OK,
        "outcome": end.outcome,
        "exit_code": end.exit_code,
        "at": iso(utc_now()),
    }
    return write_atomically(path, (json.dumps(state, indent=2) + "\n").encode("utf-8"))


def message_for(end: RunEnd, previous: dict[str, Any]) -> tuple[str, str, bool] | None:
    """(title, body, is_problem) of the message this run sends, or None when it sends none."""
    if end.is_problem:
        return (*problem_message(end), True)
    if previous.get("status") == STATUS_PROBLEM:
        return (*recovery_message(end, previous), False)
    return None


def service_label(position: int, url: str) -> str:
    """How a log line names a service: its position and scheme, never the URL."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else "?"
    return f"notify URL #{position} ({scheme}://…)"


def _send_one(url: str, title: str, body: str, *, problem: bool, timeout: float) -> bool:
    import apprise  # noqa: PLC0415 - loaded only when notifications are configured

    service = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if service is None:
        return False
    service.socket_connect_timeout = timeout
    service.socket_read_timeout = timeout
    kind = apprise.NotifyType.FAILURE if problem else apprise.NotifyType.SUCCESS
    try:
        return bool(service.notify(body=body, title=title, notify_type=kind))
    except Exception:  # noqa: BLE001 - a plugin's bug must not fail the run
        return False


def send(
    urls: Sequence[str],
    title: str,
    body: str,
    *,
    problem: bool,
    logger: logging.Logger,
    timeout: float = SEND_TIMEOUT,
) -> int:
    """Send the message to every URL at once; each one that fails is a warning. Return the sent.

    Apprise's and urllib3's loggers are silenced around the whole pool (by this thread only,
    so no sending thread can switch them back on while another still sends): under
    `LOGLEVEL=DEBUG` urllib3 logs each request's path, which holds a webhook's token.
    """
    with (
        apprise_silenced(sending=True),
        ThreadPoolExecutor(max_workers=max(1, min(len(urls), 8))) as pool,
    ):
        futures = [
            pool.submit(_send_one, url, title, body, problem=problem, timeout=timeout)
            for url in urls
        ]
        results = [future.result() for future in futures]
    for position, (url, sent) in enumerate(zip(urls, results, strict=True), start=1):
        if not sent:
            logger.warning(
                "Could not send the notification to %s (the service refused it, timed out "
                "or could not be reached); the run's outcome is unchanged",
                service_label(position, url),
            )
    return sum(results)


def notify_run(
    urls: Sequence[str],
    state_path: str | os.PathLike[str],
    end: RunEnd,
    *,
    logger: logging.Logger,
    timeout: float | None = None,
) -> None:
    """Send this run's message, if it has one, and keep its status; never raises.

    `timeout` (seconds per service, to connect and again to answer) defaults to
    `SEND_TIMEOUT`.
    """
    if not urls:
        return
    previous = read_state(state_path)
    message = message_for(end, previous)
    if message is not None:
        title, body, problem = message
        limit = SEND_TIMEOUT if timeout is None else timeout
        sent = send(urls, title, body, problem=problem, logger=logger, timeout=limit)
        what = "problem" if problem else "recovery"
        logger.info("Sent the %s notification to %d of %d service(s)", what, sent, len(urls))
    try:
        write_state(state_path, end)
    except OSError as exc:
        logger.warning(
            "Could not keep the notification state in %s: %s", state_path, exc.strerror or exc
        )
