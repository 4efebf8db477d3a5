"""TargetJumpCloud: read the worker stream, plan, guard, then apply (contract §§7-10).

Run order:
1. Validate the config (a bad one stops here: exit 2, one line per problem).
2. Check the key with one cheap request (a refused key stops here: exit 3), then start
   loading the JumpCloud directory in a background thread while the input is still read.
3. Read the input: each worker record is mapped on arrival; other streams are ignored.
4. At the end of the input: refuse a worker stream cut short (its SCHEMA announced a
   closing STATE that never came: exit 5, nothing written), wait for the directory, plan
   every action, and enforce the guard (exit 4, nothing written) or the dry run (report
   only, exit 0); else apply.
5. Log the summary, write the report, emit the final STATE only when every record was
   applied, and exit 1 when any record failed.
"""

from __future__ import annotations

import gc
import math
import os
import re
import sys
import threading
from typing import TYPE_CHECKING, Any, ClassVar, Final

import click
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import ConfigValidationError, MappingError
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.plugin_base import _ConfigInput

from target_jumpcloud.applier import apply_plan
from target_jumpcloud.client import AuthenticationError, JumpCloudClient, JumpCloudError
from target_jumpcloud.directory import Directory, UserReader, compared_fields
from target_jumpcloud.mapping import STATE_KEY
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    Outcome,
    Plan,
    RecordResult,
    RejectedRecord,
)
from target_jumpcloud.planner import PlanOptions, plan_sync
from target_jumpcloud.report import (
    STATUS_ABORTED,
    STATUS_COMPLETED,
    STATUS_DRY_RUN,
    STATUS_FAILED_RECORDS,
    STATUS_GUARD,
    Progress,
    RunReport,
    utc_now,
)
from target_jumpcloud.settings import (
    DEFAULT_API_URL,
    DEFAULT_MAX_SUSPENSIONS,
    DEFAULT_WORKER_STREAM,
    ConfigError,
    parse_settings,
)
from target_jumpcloud.sinks import (
    STREAM_END_KEYWORD,
    TYPES_CHECKED,
    IgnoredStreamSink,
    InputStreamError,
    NumberedSingerReader,
    RecordDecoder,
    WorkerSink,
)
from target_jumpcloud.usernames import UsernameAllocator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from datetime import datetime
    from types import FrameType
    from typing import IO

    from singer_sdk.sinks import Sink

    from target_jumpcloud.settings import SyncSettings

# Exit codes (Meltano only needs non-zero; distinct codes help a person reading a cron mail).
EXIT_OK: Final = 0
EXIT_FAILED_RECORDS: Final = 1
EXIT_CONFIG: Final = 2
EXIT_AUTH: Final = 3
EXIT_GUARD: Final = 4
EXIT_INPUT: Final = 5
EXIT_UNAVAILABLE: Final = 6
EXIT_INTERRUPTED: Final = 130
EXIT_INTERNAL: Final = 70

APPLY_CONCURRENCY: Final = 4
_UNSUPPORTED_LOAD_METHODS_HINT: Final = (
    "load_method: target-jumpcloud always creates and updates users and never deletes "
    "one; only 'upsert' is accepted (or leave the setting out)"
)
_IGNORED_BUILTINS: Final = {
    "batch_size_rows": "the whole worker stream is planned before anything is written",
    "add_record_metadata": "_sdc_* fields are never sent to JumpCloud",
}
_CONFIG_PATH = re.compile(r"^(?P<message>.*) in config\[(?P<path>.+)\]$")


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


class SyncAborted(Exception):  # noqa: N818 - it is a verdict, not an error in the code
    """The run stopped on purpose; `exit_code` says why (the message says what to do)."""

    exit_code = EXIT_INTERNAL


class GuardTripped(SyncAborted):
    """The plan suspends more users than `max_suspensions` allows: nothing was written."""

    exit_code = EXIT_GUARD


class RecordsFailed(SyncAborted):
    """Some records failed after retries; every other record was applied."""

    exit_code = EXIT_FAILED_RECORDS


class DirectoryUnavailable(SyncAborted):
    """The JumpCloud users could not be loaded: nothing was planned or written."""

    exit_code = EXIT_UNAVAILABLE


class TargetJumpCloud(Target):
    """Keeps JumpCloud users in step with an HR worker stream (tap-deel's `people`)."""

    # Creates new workers, updates changed attributes and suspends leavers (never deletes),
    # guarded by `max_suspensions`, with a dry run and a per-record JSON report. (The class
    # docstring is the `--about` description, so it stays one line.)

    name = "target-jumpcloud"
    package_name = "target-jumpcloud"
    _MAX_RECORD_AGE_IN_MINUTES = math.inf  # never drain (and emit STATE) mid-stream
    message_reader_class = NumberedSingerReader

    config_jsonschema: ClassVar[dict[str, Any]] = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType(nullable=False),
            required=True,
            secret=True,
            title="API key",
            description=(
                "JumpCloud API key (sent as `x-api-key`). Give it in the config file or as "
                "the environment variable `TARGET_JUMPCLOUD_API_KEY`; it is never logged."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description=(
                "JumpCloud V1 API base URL. EU: `https://console.eu.jumpcloud.com/api`, "
                "IN: `https://console.in.jumpcloud.com/api`. HTTPS is required except for "
                "loopback hosts."
            ),
        ),
        th.Property(
            "org_id",
            th.StringType,
            title="Organisation ID",
            description=(
                "JumpCloud organisation id, sent as `x-org-id`; needed only for "
                "multi-tenant (MSP) API keys."
            ),
        ),
        th.Property(
            "worker_stream",
            th.StringType,
            default=DEFAULT_WORKER_STREAM,
            title="Worker stream",
            description=(
                "The input stream that holds the workers (after stream maps). Every other "
                "stream is ignored, with one log line per stream."
            ),
        ),
        th.Property(
            "mapping",
            th.CustomType(
                {
                    "type": ["object", "null"],
                    "additionalProperties": {"type": ["string", "null"]},
                }
            ),
            title="Attribute mapping",
            description=(
                "JumpCloud attribute (or `state`) → dotted path in the worker record, merged "
                "over the default mapping; a key set to null stops syncing that attribute. "
                "`email`, `employeeIdentifier` and `state` must keep a path. Special keys: "
                "`manager` (the manager's profile id, e.g. `direct_manager.id`, sent as the "
                "manager's JumpCloud user id) and `attributes.<name>` (a custom attribute; "
                "name: 1-31 letters or digits)."
            ),
        ),
        th.Property(
            "create_only_attributes",
            th.ArrayType(th.StringType),
            title="Create-only attributes",
            description=(
                "Mapped attributes sent only when a user is created, never compared or "
                "updated afterwards (an administrator may then edit them in JumpCloud). "
                "Not `email`, `employeeIdentifier` or `state`."
            ),
        ),
        th.Property(
            "username_template",
            th.StringType,
            default="{first}.{last}",
            title="Username template",
            description=(
                "Pattern of new usernames: `{first}`, `{last}`, `{f}` (first letter of the "
                "first name) and `{email_local}`, each transliterated and cleaned; a number "
                "is added on collision."
            ),
        ),
        th.Property(
            "username_max_length",
            th.IntegerType,
            title="Username max length",
            description=(
                "Longest new username (at least 8; default: no limit). The base is cut "
                "before a collision number is added."
            ),
        ),
        th.Property(
            "user_state_on_create",
            th.StringType,
            default="STAGED",
            allowed_values=["STAGED", "ACTIVATED"],
            title="State of new users",
            description="State of newly created users: `STAGED` (default) or `ACTIVATED`.",
        ),
        th.Property(
            "reactivate_suspended_users",
            th.BooleanType,
            default=False,
            title="Reactivate suspended users",
            description=(
                "Set `ACTIVATED` on a suspended JumpCloud user whose worker is active again. "
                "Off by default: such users are reported and left suspended."
            ),
        ),
        th.Property(
            "max_suspensions",
            # Declared as a string: with an integer type the SDK would parse an environment
            # value such as "20%" as an integer and crash. An integer given in a config file
            # is turned into its text before validation (see __init__); parse_settings then
            # checks the value.
            th.StringType,
            default=DEFAULT_MAX_SUSPENSIONS,
            title="Suspension guard",
            description=(
                "Most suspensions one run may make: an integer, or a percentage of the "
                "JumpCloud users matched to workers (rounded down, never below 5), e.g. "
                '`"20%"`. Over the limit, nothing is written and the run exits non-zero.'
            ),
        ),
        th.Property(
            "dry_run",
            th.BooleanType,
            default=False,
            title="Dry run",
            description="Plan and report as usual but write nothing to JumpCloud; exit 0.",
        ),
        th.Property(
            "report_path",
            th.StringType,
            title="Report path",
            description=(
                "Write a JSON report here at the end of each run: counts and one entry per "
                "record with its outcome and reason (written atomically)."
            ),
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=True,
            title="Validate records",
            description=(
                "Check the fields the mapping reads against the stream's SCHEMA; a record "
                "that does not match is skipped with the reason (never a stopped run)."
            ),
        ),
    ).to_dict()

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
        self._check_builtin_settings()
        self._client = client
        self._client_options = dict(client_options or {})
        self.apply_concurrency = max(1, apply_concurrency)
        self.started_at: datetime = utc_now()
        self.records: list[DesiredUser | RejectedRecord] = []
        self.report: RunReport | None = None
        self.plan: Plan | None = None
        self.ignored: dict[str, int] = {}
        self.stop_event = threading.Event()
        self._start_lock = threading.Lock()
        self._started = False
        self._directory: Directory | None = None
        self._directory_error: BaseException | None = None
        self._directory_thread: threading.Thread | None = None
        self._read_progress = Progress(self.logger, "worker records read")
        self._shortcut_sink: WorkerSink | None = None
        self._shortcut_checked = False
        # The worker SCHEMA may announce a STATE after the stream's last record (tap-deel's
        # does); the stream is "open" from its SCHEMA or a record until the next STATE.
        self._stream_end_announced = False
        self._worker_stream_open = False
        if isinstance(self.message_reader, NumberedSingerReader):
            self.message_reader.record_shortcut = self._record_shortcut
            self.message_reader.quick_parse = self._quick_parse
        self._record_decoder: RecordDecoder | None = None

    # -- settings ----------------------------------------------------------------------------

    @classmethod
    def append_builtin_config(cls, config_jsonschema: dict[str, Any]) -> None:
        """Only the SDK settings that make sense here: stream maps and flattening.

        `validate_records` is declared by this target with its own meaning; `load_method`,
        `batch_size_rows` and `add_record_metadata` are left out (see `_check_builtin_settings`).
        """
        super(Target, cls).append_builtin_config(config_jsonschema)

    def _check_builtin_settings(self) -> None:
        """Refuse `load_method` other than upsert; say so when an ignored SDK setting is set."""
        method = self.config.get("load_method")
        if method not in {None, "", "upsert"}:
            raise ConfigError(_UNSUPPORTED_LOAD_METHODS_HINT)
        for name, why in _IGNORED_BUILTINS.items():
            if self.config.get(name) not in {None, False}:
                self.logger.warning("Setting %s is ignored by %s: %s", name, self.name, why)

    @property
    def client(self) -> JumpCloudClient:
        """The one JumpCloud client of this run (built on first use)."""
        if self._client is None:
            options: dict[str, Any] = {"pool_size": self.apply_concurrency + 2}
            options.update(self._client_options)
            self._client = JumpCloudClient(
                self.settings.api_url, self.settings.api_key, self.settings.org_id, **options
            )
        return self._client

    def close(self) -> None:
        """Release the HTTP connections (the CLI calls it at the end of a run)."""
        if self._client is not None:
            self._client.close()

    # -- sinks ---------------------------------------------------------------------------------

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
        """As the SDK's, but key properties are not enforced by the SDK.

        A worker record without its profile id must end as `skipped`, not stop the run; the
        mapping checks it. Other streams are ignored, so their keys do not matter either.
        """
        del key_properties
        if schema is not None:
            self._shortcut_checked = False  # a SCHEMA may bring a new sink or stream map
            self._record_decoder = None  # (and new types to check)
            if stream_name == self.settings.worker_stream:
                self._stream_end_announced = schema.get(STREAM_END_KEYWORD) == "STATE"
                self._worker_stream_open = True
        return super().get_sink(stream_name, record=record, schema=schema, key_properties=[])

    def _record_shortcut(self, message: dict[str, Any]) -> bool:
        """Hand a worker RECORD straight to its sink when the SDK would pass it unchanged.

        The SDK's generic per-record path (copying, mapping, metadata, validation hooks)
        costs about as much as mapping the record; for 100,000 workers that matters. The
        shortcut applies only with no stream map, no flattening and no record metadata.
        """
        if message["stream"] != self.settings.worker_stream:
            return False
        if not self._shortcut_checked:
            self._shortcut_sink = self._plain_worker_sink()
            self._shortcut_checked = True
        sink = self._shortcut_sink
        if sink is None:
            return False
        sink.take(message["record"], types_checked=TYPES_CHECKED in message)
        return True

    def _quick_parse(self, line: bytes) -> dict[str, Any] | None:
        """A worker RECORD line parsed for the fields the mapping reads only, or None.

        Only while the shortcut takes worker records as they are: the worker sink then reads
        nothing but those fields (the mapping and its type check read the same paths).
        """
        if not self._shortcut_checked or self._shortcut_sink is None:
            return None
        if self._record_decoder is None:
            self._record_decoder = self._shortcut_sink.decoder(
                path.split(".", 1)[0] for path in self.settings.mapping.values()
            )
        return self._record_decoder(line)

    def _plain_worker_sink(self) -> WorkerSink | None:
        """The worker sink, if records reach it untransformed; else None (the SDK path)."""
        stream = self.settings.worker_stream
        maps = self.mapper.stream_maps.get(stream)
        if not self.sink_exists(stream) or not maps or len(maps) != 1:
            return None
        stream_map = maps[0]
        if (
            type(stream_map) is not SameRecordTransform
            or stream_map.stream_alias != stream
            or stream_map.flattening_enabled
        ):
            return None
        sink = self.get_sink(stream)
        if not isinstance(sink, WorkerSink) or sink.include_sdc_metadata_properties:
            return None
        return sink

    def note_ignored_stream(self, stream_name: str) -> None:
        """Log once per stream that it is ignored."""
        if stream_name in self.ignored:
            return
        self.ignored[stream_name] = 0
        self.logger.info(
            "Ignoring stream '%s': %s reads only the worker stream '%s' (setting worker_stream)",
            stream_name,
            self.name,
            self.settings.worker_stream,
        )

    def count_ignored(self, stream_name: str) -> None:
        """Count one dropped record of an ignored stream."""
        self.ignored[stream_name] = self.ignored.get(stream_name, 0) + 1

    def next_position(self) -> int:
        """The stream position of the next worker record (0-based)."""
        return len(self.records)

    def collect(self, mapped: DesiredUser | RejectedRecord) -> None:
        """Keep one mapped worker record for the plan."""
        self.records.append(mapped)
        self._worker_stream_open = True
        self._read_progress.tick(len(self.records))

    # -- start: key check and directory load -------------------------------------------------

    def start(self) -> None:
        """Check the key, then load the JumpCloud users in the background (once).

        Called by `invoke` before any input is read (fail fast), and lazily by the worker
        sink or the end of input when the target is driven through `listen` directly.
        """
        with self._start_lock:
            if self._started:
                return
            self._started = True
            # The first page of users is the key check (no request of its own); the rest of
            # the list loads in the background while the input is read.
            self.client.start_user_listing(compared_fields(self.settings.mapping))
            self.logger.info("JumpCloud accepted the API key; loading its users in the background")
            self._directory_thread = threading.Thread(
                target=self._load_directory, name="jumpcloud-directory", daemon=True
            )
            self._directory_thread.start()

    def _load_directory(self) -> None:
        try:
            mapping = self.settings.mapping
            read_user = UserReader(name for name in mapping if name != STATE_KEY)
            progress = Progress(self.logger, "JumpCloud users loaded")
            fields = compared_fields(mapping)
            # Pages are read from their bodies in the listing threads (`UserReader.read_page`).
            pages = self.client.iter_user_pages(
                read_user, fields, concurrency=self.apply_concurrency
            )
            users = next(pages)  # (there is always a first page, if an empty one)
            progress.tick(len(users))
            for page in pages:
                users += page
                progress.tick(len(users))
            self._directory = Directory(users)
            self.logger.info("Loaded %d JumpCloud users", len(users))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._directory_error = exc

    def wait_for_directory(self) -> Directory:
        """The snapshot of JumpCloud users (waits for the background load)."""
        self.start()
        if self._directory_thread is not None:
            self._directory_thread.join()
        error = self._directory_error
        if isinstance(error, AuthenticationError):
            raise error
        if error is not None:
            raise DirectoryUnavailable(
                f"Could not load the JumpCloud users, so nothing was planned or written: {error}"
            ) from None
        if self._directory is None:  # pragma: no cover - the thread sets one or the other
            raise DirectoryUnavailable("Could not load the JumpCloud users")
        return self._directory

    # -- end of input: plan, guard, dry run, apply -------------------------------------------

    def _process_state_message(self, message_dict: dict[str, Any]) -> None:
        """A STATE closes the worker stream: the tap got past its last record."""
        self._worker_stream_open = False
        super()._process_state_message(message_dict)

    def check_stream_complete(self) -> None:
        """Refuse a worker stream that was cut short (its announced closing STATE never came).

        The plan needs the whole list: on a partial one, a leaver's old profile can be read
        without the new profile that supersedes it, and be suspended.

        Raises:
            InputStreamError: The input ended inside an announced worker stream.
        """
        if self._stream_end_announced and self._worker_stream_open:
            raise InputStreamError(
                f"the input ended inside the '{self.settings.worker_stream}' stream after "
                f"{len(self.records)} record(s), without the STATE message its SCHEMA "
                "announced: the tap stopped before the end of the list (it crashed, was "
                "killed or ran out of retries), so nothing was planned or written. Run the "
                "sync again."
            )

    def process_endofpipe(self) -> None:
        """Plan the whole stream, then enforce the guard or the dry run, or apply."""
        self.check_stream_complete()
        for stream, count in self.ignored.items():
            self.logger.info("Ignored %d records of stream '%s'", count, stream)
        if not self.records and not self.sink_exists(self.settings.worker_stream):
            self.logger.warning(
                "No '%s' stream in the input: nothing to sync (check worker_stream and the "
                "tap's selection)",
                self.settings.worker_stream,
            )
        self._read_progress.tick(len(self.records), len(self.records))
        directory = self.wait_for_directory()
        # The records and the snapshot live until the end of the run: the cyclic collector
        # need not walk them again (with 100,000 workers, its passes doubled the planning).
        gc.freeze()
        plan = plan_sync(self.records, directory, PlanOptions.from_settings(self.settings))
        self.plan = plan
        self._log_plan(plan)
        guard_message = self._guard_message(plan) if plan.guard_tripped else None

        if self.settings.dry_run:
            if guard_message:
                self.logger.warning("Dry run: %s", guard_message)
            self._finish(_planned_results(plan), STATUS_DRY_RUN, guard_message)
            self.logger.info("Dry run: nothing was written to JumpCloud")
            return
        if guard_message:
            self._finish(_planned_results(plan), STATUS_GUARD, guard_message)
            raise GuardTripped(guard_message)

        planned = {a.username for a in plan.actions if a.kind is ActionKind.CREATE and a.username}
        allocator = UsernameAllocator(directory.usernames() | planned)
        progress = Progress(self.logger, "JumpCloud writes applied")
        progress_lock = threading.Lock()

        def on_progress(done: int, total: int) -> None:
            with progress_lock:
                progress.tick(done, total)

        applied = apply_plan(
            plan,
            self.client,
            allocator,
            concurrency=self.apply_concurrency,
            on_progress=on_progress,
            stop=self.stop_event,
        )
        failed = sum(1 for r in applied if r.outcome is Outcome.FAILED)
        status = STATUS_FAILED_RECORDS if failed else STATUS_COMPLETED
        self._finish([*plan.results, *applied], status, None)
        if failed:
            raise RecordsFailed(
                f"{failed} record(s) failed (see the summary above); every other record was "
                "applied. The final STATE is not emitted; the next run retries them."
            )
        super().process_endofpipe()  # drains nothing, then emits the final STATE

    def _log_plan(self, plan: Plan) -> None:
        kinds = dict.fromkeys(ActionKind, 0)
        for action in plan.actions:
            kinds[action.kind] += 1
        self.logger.info(
            "Planned %d records: %d create, %d update, %d suspend, %d reactivate; "
            "%d need no write; %d suspension(s) against a limit of %d (max_suspensions %s, "
            "%d JumpCloud users matched)",
            len(self.records),
            kinds[ActionKind.CREATE],
            kinds[ActionKind.UPDATE],
            kinds[ActionKind.SUSPEND],
            kinds[ActionKind.REACTIVATE],
            len(plan.results),
            plan.suspensions,
            plan.suspension_limit,
            self.settings.max_suspensions,
            plan.matched_users,
        )

    def _guard_message(self, plan: Plan) -> str:
        limit = self.settings.max_suspensions
        basis = f"{limit} of {plan.matched_users} matched users" if limit.percent else str(limit)
        return (
            f"Suspension guard tripped: the plan suspends {plan.suspensions} users, more than "
            f"the limit of {plan.suspension_limit} set by max_suspensions ({basis}); nothing "
            "was written. Check the HR data; if the suspensions are expected, raise "
            "max_suspensions for one run."
        )

    def _finish(self, results: list[RecordResult], status: str, message: str | None) -> None:
        report = RunReport.from_results(
            results,
            started_at=self.started_at,
            dry_run=self.settings.dry_run,
            status=status,
            message=message,
            finished_at=utc_now(),
        )
        self.report = report
        report.log_summary(self.logger)
        self.write_report(report)

    def write_report(self, report: RunReport) -> None:
        """Write `report` to `report_path` when set; a failure to write is logged, not raised."""
        path = self.settings.report_path
        if not path:
            return
        try:
            written = report.write(path)
        except OSError as exc:
            self.logger.error("Could not write the report to %s: %s", path, exc.strerror or exc)  # noqa: TRY400
        else:
            self.logger.info("Report written to %s", written)

    def write_abort_report(self, message: str) -> None:
        """A report for a run that stopped before planning (key refused, input broken…)."""
        report = RunReport.from_results(
            [],
            started_at=self.started_at,
            dry_run=self.settings.dry_run,
            status=STATUS_ABORTED,
            message=message,
            finished_at=utc_now(),
        )
        self.report = report
        self.write_report(report)

    # -- signals -----------------------------------------------------------------------------------

    def _handle_termination(self, signum: int, frame: FrameType | None) -> None:
        """On SIGTERM/SIGINT: start no new write, emit no STATE, exit non-zero.

        The SDK's default drains, emits STATE and exits 0, which would tell Meltano a
        half-applied run succeeded. A run killed at any point converges when run again.
        """
        del frame
        self.stop_event.set()
        self.logger.error(
            "Received signal %d: no new writes are started and no STATE is emitted; "
            "run again to finish the sync",
            signum,
        )
        raise SystemExit(EXIT_INTERRUPTED)

    # -- CLI ---------------------------------------------------------------------------------------

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
    def run_cli(  # noqa: PLR0911 - one return per exit code is the clearest form
        cls, *, config: dict[str, Any], parse_env: bool, file_input: IO[str] | None
    ) -> int:
        """One run; every expected failure is one clear log line and an exit code."""
        secrets = _secret_values(config, parse_env=parse_env, prefix=cls._env_var_prefix)
        log = cls.logger
        target: TargetJumpCloud | None = None
        try:
            target = cls(config=config, validate_config=True, parse_env_config=parse_env)
            target.start()
            target.listen(file_input)
        except ConfigValidationError as exc:
            for problem in exc.errors:
                log.error("Bad config: %s", _config_problem(problem, secrets))  # noqa: TRY400
            return EXIT_CONFIG
        except (ConfigError, MappingError) as exc:
            log.error("Bad config: %s", _scrub(str(exc), secrets))  # noqa: TRY400
            return EXIT_CONFIG
        except AuthenticationError as exc:
            return _abort(target, log, _scrub(str(exc), secrets), EXIT_AUTH)
        except (GuardTripped, RecordsFailed) as exc:
            log.error("%s", _scrub(str(exc), secrets))  # noqa: TRY400
            return exc.exit_code
        except (SyncAborted, InputStreamError) as exc:
            return _abort(target, log, _scrub(str(exc), secrets), exc.exit_code)
        except JumpCloudError as exc:
            message = f"JumpCloud is unavailable; nothing was written: {exc}"
            return _abort(target, log, _scrub(message, secrets), EXIT_UNAVAILABLE)
        except Exception as exc:
            log.debug("Internal error", exc_info=True)
            message = (
                f"Internal error ({type(exc).__name__}: {exc}); nothing more was "
                "written. Run with LOGLEVEL=DEBUG for details."
            )
            return _abort(target, log, _scrub(message, secrets), EXIT_INTERNAL)
        finally:
            if target is not None:
                target.close()
        return EXIT_OK


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _abort(target: TargetJumpCloud | None, log: Any, message: str, code: int) -> int:  # noqa: ANN401
    log.error("%s", message)
    if target is not None:
        target.write_abort_report(message)
    return code


def _planned_results(plan: Plan) -> list[RecordResult]:
    """What the run would do: the results plus every action's intended outcome."""
    return [*plan.results, *(_planned(action) for action in plan.actions)]


def _planned(action: Action) -> RecordResult:
    desired = action.desired
    return RecordResult(
        position=desired.position,
        deel_id=desired.profile_id,
        email=desired.email,
        outcome=action.outcome,
        reason=action.reason,
        username=action.username,
        jumpcloud_id=action.user_id,
        changes=dict(action.changes),
        warnings=desired.warnings,
    )


def _secret_values(config: Mapping[str, Any], *, parse_env: bool, prefix: str) -> list[str]:
    """The secret values that must never be printed (config and environment)."""
    values = [config.get("api_key")]
    if parse_env:
        values.append(os.environ.get(f"{prefix}API_KEY"))
    return [v.strip() for v in values if isinstance(v, str) and v.strip()]


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _config_problem(problem: str, secrets: Sequence[str]) -> str:
    """`<message> in config['name']` → `name: <message>`; a secret's value is never shown."""
    match = _CONFIG_PATH.match(problem)
    if match is None:
        return _scrub(problem, secrets)
    path = ".".join(part.strip("'\"") for part in match["path"].split("]["))
    if path.split(".", 1)[0] == "api_key":
        return "api_key: expected a non-empty string"
    return _scrub(f"{path}: {match['message']}", secrets)
