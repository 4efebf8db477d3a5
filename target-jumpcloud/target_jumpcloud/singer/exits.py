"""What the CLI makes of a run's failures: one clear line each, an exit code, no secret.

Every expected failure (a bad config file or setting, a refused key, a tripped guard, a
broken input, JumpCloud down) ends as log lines an administrator can act on and a distinct
exit code, never a traceback. Messages are scrubbed of the secrets the run was given, and a
secret setting's own value is never shown, even when it is what is wrong.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Final, Protocol, TypeVar

import click
from singer_sdk.exceptions import ConfigValidationError, MappingError
from singer_sdk.plugin_base import _ConfigInput

from target_jumpcloud.engine import (
    EXIT_AUTH,
    EXIT_CONFIG,
    EXIT_FAILED_RECORDS,
    EXIT_GUARD,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNAVAILABLE,
    GuardTripped,
    RecordsFailed,
    SyncAborted,
)
from target_jumpcloud.jumpcloud.errors import AuthenticationError, JumpCloudError
from target_jumpcloud.model import Outcome
from target_jumpcloud.settings.alerting import notify_urls
from target_jumpcloud.settings.credentials import basic_authorization
from target_jumpcloud.settings.sync_settings import ConfigError
from target_jumpcloud.singer.reader import InputStreamError

if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping, Sequence

    from target_jumpcloud.output.report import RunReport

#: Shorter values are not masked: they could not be a real key, and masking every
#: occurrence of a short word would garble the message around it.
MIN_SECRET_LENGTH: Final = 8
_CONFIG_PATH = re.compile(r"^(?P<message>.*) in config\[(?P<path>.+)\]$")
_REQUIRED = re.compile(r"^'(?P<name>[^']+)' is a required property")
_TOKEN_CHAR = r"[A-Za-z0-9_\-]"  # noqa: S105 - a character class


def read_config_files(paths: Sequence[str]) -> _ConfigInput:
    """The `--config` files merged in order (`ENV`: read the environment too), as the SDK does.

    A file that is missing, unreadable, not JSON or not an object stops the run with one line
    naming it (click's usage error, exit 2) instead of a traceback. The line never quotes the
    file: it holds the API key.

    Raises:
        click.BadParameter: A file cannot be used.
    """
    merged = _ConfigInput()
    for path in paths:
        try:
            part = _ConfigInput.from_cli_args(path)
        except FileNotFoundError:
            raise click.BadParameter(f"{path}: no such file") from None
        except UnicodeDecodeError:
            raise click.BadParameter(f"{path}: not UTF-8 text") from None
        except OSError as exc:
            raise click.BadParameter(f"{path}: cannot be read ({exc.strerror or exc})") from None
        except RuntimeError:  # the SDK's "no file name given"
            raise click.BadParameter("a --config value is empty") from None
        except ValueError as exc:
            line, column = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            where = f" (line {line}, column {column})" if line is not None else ""
            what = "not valid JSON" if line is not None else "not a JSON object of settings"
            raise click.BadParameter(f"{path}: {what}{where}") from None
        except TypeError:
            raise click.BadParameter(f"{path}: not a JSON object of settings") from None
        merged.config |= part.config
        merged.parse_env = merged.parse_env or part.parse_env
    return merged


def secret_settings(config_jsonschema: Mapping[str, Any]) -> frozenset[str]:
    """The names of the settings the schema declares secret."""
    properties = config_jsonschema.get("properties", {})
    return frozenset(
        name for name, spec in properties.items() if isinstance(spec, dict) and spec.get("secret")
    )


class Scrubber:
    """Masks the run's secret values in a message: whole occurrences, long enough to be keys."""

    def __init__(self, secrets: Iterable[str]) -> None:
        values = sorted(
            {s.strip() for s in secrets if len(s.strip()) >= MIN_SECRET_LENGTH},
            key=len,
            reverse=True,
        )
        self._pattern = (
            re.compile(
                rf"(?<!{_TOKEN_CHAR})(?:{'|'.join(map(re.escape, values))})(?!{_TOKEN_CHAR})"
            )
            if values
            else None
        )

    @classmethod
    def for_config(
        cls, config: Mapping[str, Any], names: Iterable[str], *, parse_env: bool, prefix: str
    ) -> Scrubber:
        """The secret settings' values, from the config and (with `parse_env`) the environment."""

        def given(name: str) -> list[str]:
            values = [config.get(name)]
            if parse_env:
                values.append(os.environ.get(f"{prefix}{name.upper()}"))
            # A list setting (`notify`'s URLs) is secret item by item, and as its whole text.
            values += [item for v in values if isinstance(v, list) for item in v]
            values += [item for v in values if isinstance(v, str) for item in _listed(v)]
            return [v.strip() for v in values if isinstance(v, str) and v.strip()]

        secrets = [value for name in names for value in given(name)]
        # A service account's Basic credential (base64 of `id:secret`) is a secret too.
        secrets += [
            basic_authorization(client_id, client_secret).removeprefix("Basic ")
            for client_id in given("client_id")
            for client_secret in given("client_secret")
        ]
        return cls(secrets)

    def __call__(self, text: str) -> str:
        """`text` with every whole occurrence of a secret replaced by `***`."""
        return text if self._pattern is None else self._pattern.sub("***", text)


def _listed(text: str) -> list[str]:
    """The items of a list setting given as text (a JSON list, or split on spaces/commas)."""
    try:
        return notify_urls(text)
    except ValueError:
        return []


def setting_of(problem: str) -> str:
    """The setting a problem is about: `… in config['name']` (the SDK's) or `name: …`."""
    match = _CONFIG_PATH.match(problem)
    if match is not None:
        return match["path"].split("][", 1)[0].strip("'\"")
    required = _REQUIRED.match(problem)
    if required is not None:
        return required["name"]
    return problem.split(":", 1)[0]


def config_problem(problem: str, secret_names: frozenset[str], scrub: Scrubber) -> str:
    """`<message> in config['name']` → `name: <message>`; a secret's value is never shown."""
    match = _CONFIG_PATH.match(problem)
    if match is None:
        return scrub(problem)
    path = ".".join(part.strip("'\"") for part in match["path"].split("]["))
    name = path.split(".", 1)[0]
    if name in secret_names:
        return f"{name}: expected a non-empty string"
    return scrub(f"{path}: {match['message']}")


class _Closable(Protocol):
    def abort(self, message: str) -> None: ...
    def close(self) -> None: ...


_T = TypeVar("_T", bound=_Closable)


#: The outcome a run's exit code stands for, in logs, metrics and notifications.
OUTCOME_OF_EXIT: Final = {
    EXIT_OK: "completed",
    EXIT_FAILED_RECORDS: "failed_records",
    EXIT_CONFIG: "bad_config",
    EXIT_AUTH: "bad_key",
    EXIT_GUARD: "guard_tripped",
    EXIT_INPUT: "bad_input",
    EXIT_UNAVAILABLE: "jumpcloud_unavailable",
    EXIT_INTERRUPTED: "interrupted",
    EXIT_INTERNAL: "internal_error",
}


def outcome_of(code: int, report: RunReport | None) -> str:
    """The outcome name of a run that exited with `code` (a dry run and conflicts told apart)."""
    if code != EXIT_OK or report is None:
        return OUTCOME_OF_EXIT.get(code, "internal_error")
    if report.dry_run:
        return "dry_run"
    conflicts = report.counts.get(Outcome.CONFLICT.value, 0)
    return "completed_with_conflicts" if conflicts else "completed"


def alert_config(config: Mapping[str, Any], *, parse_env: bool, prefix: str) -> dict[str, Any]:
    """The alert settings of a config the target refused, from it and the environment.

    A bad config stops the run before the target exists, yet it must still be announced:
    the alert settings are read as the SDK would have (an environment value wins).
    """
    names = ("notify", "notify_state_path", "metrics_path")
    chosen = {name: config[name] for name in names if name in config}
    if parse_env:
        chosen |= {
            name: os.environ[f"{prefix}{name.upper()}"]
            for name in names
            if f"{prefix}{name.upper()}" in os.environ
        }
    return chosen


def run_with_exit_code(
    build: Callable[[], _T],
    run: Callable[[_T], None],
    *,
    logger: logging.Logger,
    scrub: Scrubber,
    secret_names: frozenset[str],
    on_end: Callable[[_T | None, int, str | None], None] | None = None,
) -> int:
    """Build the target, run it, and turn every expected failure into its exit code.

    `on_end` sees every run exactly once, a stop before the target existed (a bad config)
    and an interrupt included: the target (None when it could not be built), the exit code
    and the stop's line(s), scrubbed.
    """
    built: list[_T] = []

    def build_and_keep() -> _T:
        target = build()
        built.append(target)
        return target

    try:
        code, message = _verdict(
            build_and_keep, run, logger=logger, scrub=scrub, secret_names=secret_names
        )
    except SystemExit as exc:  # a signal handler's exit: counted, then passed on
        if on_end is not None:
            code = exc.code if isinstance(exc.code, int) else EXIT_INTERNAL
            on_end(built[0] if built else None, code, "the run was interrupted")
        raise
    if on_end is not None:
        on_end(built[0] if built else None, code, message)
    return code


def _verdict(  # noqa: PLR0911 - one return per exit code is the clearest form
    build: Callable[[], _T],
    run: Callable[[_T], None],
    *,
    logger: logging.Logger,
    scrub: Scrubber,
    secret_names: frozenset[str],
) -> tuple[int, str | None]:
    """The run's exit code and its stop line(s), each logged once."""
    target: _T | None = None
    try:
        target = build()
        run(target)
    except ConfigValidationError as exc:
        lines = [config_problem(problem, secret_names, scrub) for problem in exc.errors]
        return EXIT_CONFIG, _bad_config(logger, lines)
    except ConfigError as exc:
        return EXIT_CONFIG, _bad_config(logger, [scrub(problem) for problem in exc.problems])
    except MappingError as exc:
        return EXIT_CONFIG, _bad_config(logger, [scrub(str(exc))])
    except AuthenticationError as exc:
        return _abort(target, logger, scrub(str(exc)), EXIT_AUTH)
    except (GuardTripped, RecordsFailed) as exc:
        message = scrub(str(exc))
        logger.error("%s", message)  # noqa: TRY400
        return exc.exit_code, message
    except (SyncAborted, InputStreamError) as exc:
        return _abort(target, logger, scrub(str(exc)), exc.exit_code)
    except JumpCloudError as exc:
        message = f"JumpCloud is unavailable; nothing was written: {exc}"
        return _abort(target, logger, scrub(message), EXIT_UNAVAILABLE)
    except Exception as exc:
        logger.debug("Internal error", exc_info=True)
        message = (
            f"Internal error ({type(exc).__name__}: {exc}); nothing more was "
            "written. Run with LOGLEVEL=DEBUG for details."
        )
        return _abort(target, logger, scrub(message), EXIT_INTERNAL)
    finally:
        if target is not None:
            target.close()
    return EXIT_OK, None


def _bad_config(logger: logging.Logger, lines: list[str]) -> str:
    for line in lines:
        logger.error("Bad config: %s", line)
    return "\n".join(f"Bad config: {line}" for line in lines)


def _abort(
    target: _Closable | None, logger: logging.Logger, message: str, code: int
) -> tuple[int, str]:
    logger.error("%s", message)
    if target is not None:
        target.abort(message)
    return code, message
