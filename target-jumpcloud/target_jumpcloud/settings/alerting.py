"""The alert settings: where a problem run is announced and where the run's metrics go.

`notify` is a list of Apprise URLs (`slack://…`, `mailto://…`, `json://…`). They hold tokens
and passwords, so they are secrets: a URL Apprise cannot use is reported by its position and
scheme only, never quoted, and the settings' repr leaves the list out (docs/alerts.md).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

DEFAULT_NOTIFY_STATE_PATH: Final = "output/target-jumpcloud-notify.json"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")


@dataclass(frozen=True)
class AlertSettings:
    """`notify` (secret: kept out of the repr), `notify_state_path` and `metrics_path`."""

    notify: tuple[str, ...] = field(default=(), repr=False)
    notify_state_path: str = DEFAULT_NOTIFY_STATE_PATH
    metrics_path: str | None = None


#: The loggers that may quote a notification URL: Apprise's own, and urllib3's debug line of
#: each request it sends (`"POST /services/T000/B000/XXXX HTTP/1.1" 200`: a Slack token).
_URL_LOGGERS: Final = ("apprise", "urllib3.connectionpool")


@contextlib.contextmanager
def apprise_silenced(*, sending: bool = False) -> Iterator[None]:
    """Keep the log lines that may quote a URL out of the run's log (urllib3's when `sending`).

    Only the thread that parses or sends toggles them, around all of its work: the run's
    other requests are over by the time notifications go out.
    """
    loggers = [logging.getLogger(name) for name in _URL_LOGGERS[: 2 if sending else 1]]
    were_disabled = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, was_disabled in zip(loggers, were_disabled, strict=True):
            logger.disabled = was_disabled


def notify_urls(raw: object) -> list[str]:
    """The `notify` value as a list of URLs (a JSON list, or text split on spaces/commas/newlines).

    Environment variables are text, so `TARGET_JUMPCLOUD_NOTIFY` may hold either form.

    Raises:
        ValueError: The value is not a list of strings (the message never quotes it).
    """
    if raw is None or raw == "":
        return []
    if isinstance(raw, str):
        text = raw.strip()
        if text.startswith("["):
            try:
                raw = json.loads(text)
            except json.JSONDecodeError:
                raise ValueError("not a valid JSON list of URLs") from None
        else:
            return [part for part in re.split(r"[\s,]+", text) if part]
    if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
        raise ValueError("expected a list of notification URLs")
    return [item.strip() for item in raw if item.strip()]


def unusable_url_problem(position: int, url: str) -> str | None:
    """Why Apprise cannot use `url` (the `position`-th, from 1), or None when it can.

    Parsing builds the service object only: nothing is sent and nothing is connected.
    """
    import apprise  # noqa: PLC0415 - loaded only when notifications are configured

    with apprise_silenced():
        service = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if service is not None:
        return None
    match = _SCHEME.match(url)
    what = f"a {match.group(1).lower()}:// URL" if match else "not a URL (no scheme://)"
    return (
        f"notify: URL #{position} is {what} that Apprise cannot use (the value is secret and "
        "not shown; see https://github.com/caronc/apprise/wiki for each service's form)"
    )


def read_alert_settings(config: Mapping[str, Any]) -> tuple[AlertSettings, list[str]]:
    """The alert settings and every problem with them (each starts with the setting's name).

    The settings hold only the usable URLs, so a run stopped by a bad config still tells
    the services that could be parsed.
    """
    problems: list[str] = []
    try:
        urls = notify_urls(config.get("notify"))
    except ValueError as exc:
        problems.append(f"notify: {exc}")
        urls = []
    usable = []
    for position, url in enumerate(urls, start=1):
        problem = unusable_url_problem(position, url)
        if problem:
            problems.append(problem)
        else:
            usable.append(url)
    paths: dict[str, str | None] = {}
    for name in ("notify_state_path", "metrics_path"):
        value = config.get(name)
        if value is not None and not isinstance(value, str):
            problems.append(f"{name}: expected a file path (a string)")
            value = None
        paths[name] = value.strip() if isinstance(value, str) and value.strip() else None
    settings = AlertSettings(
        notify=tuple(usable),
        notify_state_path=paths["notify_state_path"] or DEFAULT_NOTIFY_STATE_PATH,
        metrics_path=paths["metrics_path"],
    )
    return settings, problems
