"""TargetJumpCloud: the Singer side of the sync, handing the worker stream to the engine.

What lives here is Singer plumbing only: the settings schema and their validation, the sinks
(the worker stream is collected, every other stream ignored), the fast path for worker
records, the check that the worker stream was not cut short, signals and the CLI's exit
codes. The run itself (directory load, plan, guard, dry run, apply, report) is
`engine.SyncRun`, which other callers drive too.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import Target
from singer_sdk.exceptions import ConfigValidationError

from target_jumpcloud.engine import APPLY_CONCURRENCY, EXIT_INTERRUPTED, SyncRun, client_for
from target_jumpcloud.output.run_end import RunEnd, conclude_run
from target_jumpcloud.settings.alerting import read_alert_settings
from target_jumpcloud.settings.sync_settings import (
    ConfigError,
    ignored_sdk_settings,
    parse_settings,
)
from target_jumpcloud.singer.config_schema import CONFIG_JSONSCHEMA
from target_jumpcloud.singer.exits import (
    Scrubber,
    alert_config,
    outcome_of,
    read_config_files,
    run_with_exit_code,
    secret_settings,
    setting_of,
)
from target_jumpcloud.singer.reader import (
    ListingWatch,
    NumberedSingerReader,
    StreamEndWatch,
    WorkerShortcut,
)
from target_jumpcloud.singer.sinks import (
    IgnoredStreams,
    IgnoredStreamSink,
    WorkerSink,
    plain_worker_sink,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import FrameType
    from typing import IO

    import click
    from singer_sdk.plugin_base import _ConfigInput
    from singer_sdk.sinks import Sink

    from target_jumpcloud.jumpcloud.client import JumpCloudClient
    from target_jumpcloud.model import DesiredUser, RejectedRecord
    from target_jumpcloud.settings.sync_settings import SyncSettings


class TargetJumpCloud(Target):
    """Keeps JumpCloud users in step with an HR worker stream (tap-deel's `people`)."""

    # Creates new workers, updates changed attributes and suspends leavers (never deletes),
    # guarded by `max_suspensions`, with a dry run and a per-record JSON report. (The class
    # docstring is the `--about` description, so it stays one line.)

    name = "target-jumpcloud"
    package_name = "target-jumpcloud"
    _MAX_RECORD_AGE_IN_MINUTES = math.inf  # never drain (and emit STATE) mid-stream
    message_reader_class = NumberedSingerReader
    config_jsonschema: ClassVar[dict[str, Any]] = CONFIG_JSONSCHEMA

    def __init__(
        self,
        *,
        config: dict[str, Any] | None = None,
        parse_env_config: bool = False,
        validate_config: bool = True,
        setup_mapper: bool = True,
        message_reader: NumberedSingerReader | None = None,
        client: JumpCloudClient | None = None,
        client_options: Mapping[str, Any] | None = None,
        apply_concurrency: int = APPLY_CONCURRENCY,
    ) -> None:
        """Create the target; `client`/`client_options` let tests shorten timeouts and backoff."""
        if isinstance(config, dict) and _is_integer(config.get("max_suspensions")):
            # Declared as a string (an environment value such as "20%" must not be parsed
            # as an integer); an integer from a config file becomes its text.
            config = {**config, "max_suspensions": str(config["max_suspensions"])}
        super().__init__(
            config=config,
            parse_env_config=parse_env_config,
            validate_config=validate_config,
            setup_mapper=setup_mapper,
            message_reader=message_reader,
        )
        self.max_parallelism = 1  # one sink drains at a time: the plan is shared state
        self.settings: SyncSettings = parse_settings(self.config)
        for name, why in ignored_sdk_settings(self.config):
            self.logger.warning("Setting %s is ignored by %s: %s", name, self.name, why)
        self._client = client
        self._client_options = dict(client_options or {})
        self.apply_concurrency = max(1, apply_concurrency)
        self._run: SyncRun | None = None
        self.ignored_streams = IgnoredStreams(self.logger, self.name, self.settings.worker_stream)
        self._stream_end = StreamEndWatch(self.settings.worker_stream)
        self._listing = ListingWatch(self.settings.worker_stream)
        worker_fields = (path.split(".", 1)[0] for path in self.settings.mapping.values())
        self._shortcut = WorkerShortcut(
            self.settings.worker_stream, lambda: plain_worker_sink(self), worker_fields
        )
        if not isinstance(self.message_reader, NumberedSingerReader):
            raise TypeError("target-jumpcloud reads its input with a NumberedSingerReader")
        self._shortcut.attach(self.message_reader)
        self.message_reader.on_state = self._stream_end.state  # a STATE closes the stream

    # -- settings ----------------------------------------------------------------------------

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """Only the SDK settings that make sense here: stream maps and flattening."""
        super(Target, cls).append_builtin_config(config_jsonschema)

    def _validate_config(self, *, raise_errors: bool = True) -> list[str]:
        """The schema's errors and the settings parser's, reported together.

        Each setting is named once: where the schema already refused it, the parser's
        message for the same setting is left out.
        """
        errors = super()._validate_config(raise_errors=False)
        try:
            parse_settings(self.config)
        except ConfigError as exc:
            named = {setting_of(problem) for problem in errors}
            errors += [p for p in exc.problems if setting_of(p) not in named]
        if errors and raise_errors:
            raise ConfigValidationError("Config validation failed", errors=errors)
        return errors

    # -- the engine --------------------------------------------------------------------------

    @property
    def sync_run(self) -> SyncRun:
        """The sync run this target feeds (made on first use, with the run's client)."""
        if self._run is None:
            if self._client is None:
                self._client = client_for(
                    self.settings, self.apply_concurrency, self._client_options
                )
            self._run = SyncRun(
                self.settings,
                self._client,
                logger=self.logger,
                apply_concurrency=self.apply_concurrency,
            )
        return self._run

    def start(self) -> None:
        """Check the key and start loading the directory (before any input is read)."""
        self.sync_run.start()

    def listen_after_start(self, file_input: IO[str] | None) -> None:
        """Check the key and start the directory load, then read the input (fail fast).

        With `apply_plan`, the reviewed plan is applied instead and no input is read: the
        standard input may be empty, closed or a terminal.
        """
        if self.settings.apply_plan:
            self.sync_run.apply_reviewed_plan()
            return
        self.start()
        self.listen(file_input)

    def abort(self, message: str) -> None:
        """Write the report of a run that stopped before planning."""
        self.sync_run.abort(message)

    def close(self) -> None:
        """Release the HTTP connections (the CLI calls it at the end of a run)."""
        if self._client is not None:
            self._client.close()

    # -- sinks and the worker stream ---------------------------------------------------------

    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """The worker stream collects; every other stream is ignored."""
        if stream_name == self.settings.worker_stream:
            return WorkerSink
        return IgnoredStreamSink

    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, Any] | None = None,
        schema: dict[str, Any] | None = None,
        key_properties: Sequence[str] | None = None,
    ) -> Sink:
        """As the SDK's, but key properties are not enforced.

        A record lacking its profile id must end as `skipped`, not stop the run.
        """
        del key_properties
        if schema is not None:
            self._shortcut.reset()
            if stream_name == self.settings.worker_stream:
                self._stream_end.schema(schema)
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=[])

    def next_position(self) -> int:
        """The stream position of the next worker record (0-based)."""
        return self.sync_run.next_position()

    def collect(self, mapped: DesiredUser | RejectedRecord) -> None:
        """Hand one mapped worker record to the run."""
        self.sync_run.add(mapped)
        self._stream_end.record()
        self._listing.record()

    def activate_version(self, version: object) -> None:
        """The worker sink saw ACTIVATE_VERSION: complete, unless a worker record follows."""
        self._listing.activate_version(version)

    @property
    def complete_input(self) -> bool:
        """Whether the input so far is the worker stream's complete listing (docs/leavers.md)."""
        return self._listing.complete

    def _process_activate_version_message(self, message_dict: dict[str, Any]) -> None:
        """ACTIVATE_VERSION: the worker stream's sink notes it; other streams ignore it.

        (The SDK's handler warns that each sink lacks `_sdc_*` columns: nothing here stores
        rows, so there is nothing to warn about.)
        """
        stream = message_dict["stream"]
        for stream_map in self.mapper.stream_maps.get(stream, ()):
            alias = stream_map.stream_alias
            if alias == self.settings.worker_stream and self.sink_exists(alias):
                self.get_sink(alias).activate_version(message_dict["version"])

    def process_endofpipe(self) -> None:
        """The end of the input: hand the whole stream to the run, then emit the final STATE."""
        self._stream_end.check(len(self.sync_run.records))
        self.ignored_streams.log_totals()
        if not self.sync_run.records and not self.sink_exists(self.settings.worker_stream):
            self.logger.warning(
                "No '%s' stream in the input: nothing to sync (check worker_stream and the "
                "tap's selection)",
                self.settings.worker_stream,
            )
        self.sync_run.finish(complete_input=self._listing.complete)
        if not self.settings.dry_run:
            super().process_endofpipe()  # drains nothing, then emits the final STATE

    # -- signals and the CLI -----------------------------------------------------------------

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """On SIGTERM/SIGINT: start no new write, emit no STATE, exit non-zero.

        The SDK's default drains, emits STATE and exits 0, which would tell Meltano a
        half-applied run succeeded. A run killed at any point converges when run again.
        """
        del frame
        if self._run is not None:
            self._run.stop_event.set()
        self.logger.error(
            "Received signal %d: no new writes are started and no STATE is emitted; "
            "run again to finish the sync",
            signum,
        )
        raise SystemExit(EXIT_INTERRUPTED)

    @classmethod
    def cb_config(
        cls, ctx: click.Context, param: click.Option, value: tuple[str, ...]
    ) -> _ConfigInput:
        """Read `--config`: a bad file is one line naming it (exit 2), not a traceback."""
        del ctx, param
        return read_config_files(value)

    @classmethod
    def invoke(  # type: ignore[override]
        cls,
        *,
        about: bool = False,
        about_format: str | None = None,
        config: _ConfigInput | None = None,
        file_input: IO[str] | None = None,
    ) -> None:
        """Run the target from the CLI: key check and directory load start before the input."""
        super(Target, cls).invoke(about=about, about_format=about_format)
        cls.print_version(print_fn=cls.logger.info)
        code = cls.run_cli(
            config=dict(config.config) if config else {},
            parse_env=config.parse_env if config else False,
            file_input=file_input,
        )
        if code:
            sys.exit(code)

    @classmethod
    def run_cli(cls, *, config: dict[str, Any], parse_env: bool, file_input: IO[str] | None) -> int:
        """One run; every expected failure is one clear log line and an exit code.

        However it ends, the run's metrics file is written and its notification sent
        (docs/alerts.md), once.
        """
        secret_names = secret_settings(cls.config_jsonschema)
        started = time.monotonic()

        def on_end(target: TargetJumpCloud | None, code: int, message: str | None) -> None:
            if target is not None:
                alerts = target.settings.alerts
            else:  # the config was refused: the alert settings are read on their own
                alerts, _ = read_alert_settings(
                    alert_config(config, parse_env=parse_env, prefix=cls._env_var_prefix)
                )
            run = target._run if target is not None else None
            client = target._client if target is not None else None
            report = run.report if run is not None else None
            conclude_run(
                alerts,
                RunEnd(outcome_of(code, report), code, message, report),
                run_seconds=time.monotonic() - started,
                requests=client.request_counts.snapshot() if client is not None else {},
                logger=cls.logger,
            )

        return run_with_exit_code(
            lambda: cls(config=config, validate_config=True, parse_env_config=parse_env),
            lambda target: target.listen_after_start(file_input),
            logger=cls.logger,
            scrub=Scrubber.for_config(
                config, secret_names, parse_env=parse_env, prefix=cls._env_var_prefix
            ),
            secret_names=secret_names,
            on_end=on_end,
        )


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
