"""TapDeel: settings, streams, and a one-line error when Deel refuses the run."""

from __future__ import annotations

import sys
from functools import cached_property
from typing import TYPE_CHECKING, Any

import click
import requests
from singer_sdk import Tap
from singer_sdk.exceptions import ConfigValidationError, FatalAPIError, RetriableAPIError
from singer_sdk.plugin_base import _ConfigInput
from typing_extensions import override

from tap_deel.client import SharedHttp, default_shared_http
from tap_deel.output import FastSingerWriter
from tap_deel.settings import CONFIG_SCHEMA, ApiUrlError, check_api_url, configured_api_url
from tap_deel.streams import STREAM_TYPES

if TYPE_CHECKING:
    from collections.abc import Sequence

    from tap_deel.client import DeelStream

# Failures that end a run with one error line and exit code 1 instead of a traceback: Deel
# refused us, retries ran out, or the network stayed down. Their messages hold no body or token.
EXPECTED_FAILURES = (FatalAPIError, RetriableAPIError, requests.RequestException, ApiUrlError)


def read_config_files(paths: Sequence[str]) -> _ConfigInput:
    """The `--config` files merged in order (`ENV`: read the environment too), as the SDK does.

    A file that is missing, unreadable, not JSON or not an object stops the run with one line
    naming it (click's usage error, exit 2) instead of a traceback. The line never quotes the
    file: it holds the API key.

    Args:
        paths: The `--config` values.

    Returns:
        The merged settings.

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


class TapDeel(Tap):
    """Singer tap for Deel: workers (people) and the organisation data around them."""

    name = "tap-deel"
    config_jsonschema = CONFIG_SCHEMA
    message_writer_class = FastSingerWriter

    def __init__(self, *args: Any, **kwargs: Any) -> None:  # noqa: ANN401
        """Create the tap; with config validation on, `api_url` is checked too (no network).

        Raises:
            ConfigValidationError: When `api_url` is not HTTPS and not loopback.
        """
        super().__init__(*args, **kwargs)
        if kwargs.get("validate_config", True):
            try:
                check_api_url(configured_api_url(self.config))
            except ApiUrlError as exc:
                raise ConfigValidationError(str(exc), errors=[str(exc)]) from None

    @cached_property
    def shared_http(self) -> SharedHttp:
        """The session, throttle and base URL every stream of this tap shares."""
        return default_shared_http(dict(self.config))

    @override
    def discover_streams(self) -> list[DeelStream]:
        """Every stream; fixed schemas, so discovery needs no network access."""
        return [stream_type(self, shared=self.shared_http) for stream_type in STREAM_TYPES]

    @override
    @classmethod
    def cb_config(
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> _ConfigInput:
        """Read `--config`: a bad file is one line naming it (exit 2), not a traceback."""
        del ctx, param
        return read_config_files(value)

    @override
    @classmethod
    def invoke(cls, *args: Any, **kwargs: Any) -> None:
        """Run the tap; an expected failure ends it with one error line and exit code 1."""
        try:
            super().invoke(*args, **kwargs)
        except EXPECTED_FAILURES as exc:
            cls.logger.error("%s", exc)  # noqa: TRY400 -- one line, on purpose
            sys.exit(1)
