"""One sync run: load the directory, take the desired records, plan, guard, apply, report.

The engine knows nothing of Singer. Its inputs are the validated settings, a JumpCloud client
and the mapped records (`DesiredUser` / `RejectedRecord`); its output is the `RunReport`, and
an expected stop is a `SyncAborted` that carries the exit code. The Singer target feeds it
from the worker stream; any other caller (a plan being applied, a webhook-driven run, a test)
drives the same steps, so a dry run and a real run can never disagree on what is planned.

Run order, and where a run decides to stop before writing:
1. `start`: the first page of users is the key check (a refused key raises
   `AuthenticationError` before any input is read); the rest of the directory loads in a
   background thread while the records arrive.
2. `add`: each mapped record, in stream order.
3. `finish`: wait for the directory (`DirectoryUnavailable` when it could not be loaded),
   plan every record, then stop on the guard (`GuardTripped`, nothing written) or on the dry
   run (report only), else apply; `RecordsFailed` when any record failed after retries.
   The summary is logged and the report written in every case.
"""

from __future__ import annotations

import gc
import logging
import threading
from typing import TYPE_CHECKING, Any, Final

from target_jumpcloud.apply.leavers import apply_leavers
from target_jumpcloud.apply.users import apply_plan
from target_jumpcloud.jumpcloud.client import JumpCloudClient
from target_jumpcloud.jumpcloud.errors import AuthenticationError
from target_jumpcloud.jumpcloud.group_reading import GroupReadError, GroupReading
from target_jumpcloud.model import (
    Action,
    ActionKind,
    DesiredUser,
    Outcome,
    RecordResult,
    planned_steps,
)
from target_jumpcloud.output.report import (
    STATUS_ABORTED,
    STATUS_COMPLETED,
    STATUS_DRY_RUN,
    STATUS_FAILED_RECORDS,
    STATUS_GUARD,
    Progress,
    RunReport,
    directory_check_line,
    utc_now,
)
from target_jumpcloud.output.review import ReviewInputError, write_review_page
from target_jumpcloud.plan.build import PlanOptions, plan_sync
from target_jumpcloud.plan.document import plan_document, write_plan
from target_jumpcloud.plan.drift import check_drift
from target_jumpcloud.plan.groups import group_removals, groups_summary
from target_jumpcloud.plan.guard import group_guard_message
from target_jumpcloud.plan.guard import guard_message as plan_guard_message
from target_jumpcloud.plan.leavers import LeaverInputs, attach_leaver_context, plan_leavers
from target_jumpcloud.plan.load import load_plan
from target_jumpcloud.settings.mapping_table import synced_attributes
from target_jumpcloud.sync.directory import Directory, UserReader, compared_fields
from target_jumpcloud.sync.groups import ledger_ids, namer_for
from target_jumpcloud.sync.leavers import bookkeeping_keys
from target_jumpcloud.sync.schedules import jobs_by_user
from target_jumpcloud.sync.usernames import UsernameAllocator

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from datetime import datetime
    from pathlib import Path

    from target_jumpcloud.model import Plan, RejectedRecord
    from target_jumpcloud.plan.load import LoadedPlan
    from target_jumpcloud.settings.sync_settings import SyncSettings
    from target_jumpcloud.sync.groups import GroupSnapshot
    from target_jumpcloud.sync.schedules import ScheduledJob

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


def client_for(
    settings: SyncSettings,
    apply_concurrency: int = APPLY_CONCURRENCY,
    options: Mapping[str, Any] | None = None,
) -> JumpCloudClient:
    """The run's JumpCloud client: a connection for each writer and the directory threads.

    `options` (timeouts, backoff) let tests make retries fast.
    """
    options = {"pool_size": apply_concurrency + 2, **(options or {})}
    return JumpCloudClient(
        settings.api_url,
        settings.api_key,
        settings.org_id,
        service_account=settings.service_account,
        **options,
    )


class SyncRun:
    """One run of the sync against one JumpCloud client (see the module docstring)."""

    def __init__(
        self,
        settings: SyncSettings,
        client: JumpCloudClient,
        *,
        logger: logging.Logger | None = None,
        apply_concurrency: int = APPLY_CONCURRENCY,
    ) -> None:
        self.settings = settings
        self.client = client
        self.logger = logger or logging.getLogger("target-jumpcloud")
        self.apply_concurrency = max(1, apply_concurrency)
        self.started_at: datetime = utc_now()
        self.records: list[DesiredUser | RejectedRecord] = []
        self.plan: Plan | None = None
        self.report: RunReport | None = None
        #: Set it (a signal handler does) to start no new write; writes under way finish.
        self.stop_event = threading.Event()
        self._start_lock = threading.Lock()
        self._started = False
        self._directory: Directory | None = None
        self._directory_error: BaseException | None = None
        self._directory_thread: threading.Thread | None = None
        # docs/effective-dates.md: the scheduled state jobs, loaded beside the users when effective
        # dating is on.
        self._jobs: list[ScheduledJob] | None = None
        self._jobs_error: BaseException | None = None
        self._jobs_thread: threading.Thread | None = None
        #: The time the plan is made (`as_of` in a dry run), set once when planning starts.
        self.plan_time: datetime | None = None
        self._read_progress = Progress(self.logger, "worker records read")
        self._reviewed: LoadedPlan | None = None
        # The groups and their members, read beside the users (jumpcloud/group_reading.py).
        self._groups: GroupReading | None = None
        self._extra_group_names: list[str] = []
        self._group_read_wanted = False
        groups = settings.groups
        self._namer = namer_for(groups.rules) if groups.enabled else None
        self._names_sent: set[tuple[str, ...]] = set()
        #: The groups and the members read, once the plan is made (None: groups are off).
        self.group_snapshot: GroupSnapshot | None = None
        if settings.leavers.protected_group:  # docs/leavers.md: its members are never suspended
            self.want_groups([settings.leavers.protected_group])

    def run(
        self, records: Iterable[DesiredUser | RejectedRecord], *, complete_input: bool = False
    ) -> RunReport:
        """The whole run for callers that hold the records already."""
        self.start()
        for record in records:
            self.add(record)
        return self.finish(complete_input=complete_input)

    # -- 1. start: key check and directory load ----------------------------------------------

    def want_groups(self, names: Iterable[str] = ()) -> None:
        """Also read these groups and their members (e.g. a protected group), before `finish`.

        Called before `start`, it also turns the group read on when no rule is set (with no
        names: the groups the users' ledgers name, for a leaver step); the snapshot is
        `group_snapshot` once the directory is loaded (`wait_for_directory`).
        """
        names = list(names)
        self._group_read_wanted = True
        self._extra_group_names += names
        if self._groups is not None:
            self._groups.want_names(names)

    @property
    def reads_groups(self) -> bool:
        """Whether this run reads JumpCloud's groups (rules set, or names asked for)."""
        reviewed = self._reviewed
        return bool(
            self.settings.groups.enabled
            or self._group_read_wanted
            or (reviewed is not None and reviewed.ledger_attributes())
        )

    def start(self) -> None:
        """Check the key, then load the JumpCloud users in the background (once)."""
        with self._start_lock:
            if self._started:
                return
            self._started = True
            self.client.start_user_listing(compared_fields(self._read_mapping()))
            self.logger.info(
                "JumpCloud accepted the %s; loading its users in the background",
                self.client.credential_label,
            )
            reviewed = self._reviewed
            if self.reads_groups:  # before the directory thread, which hands it the ledgers
                self._groups = GroupReading(self.client, self.logger)
                self._groups.start()
                self._groups.want_names(self._extra_group_names)
                if reviewed is not None:
                    self._groups.want_ids(reviewed.group_ids())
            self._directory_thread = threading.Thread(
                target=self._load_directory, name="jumpcloud-directory", daemon=True
            )
            self._directory_thread.start()
            if self.settings.effective_dating.enabled or (reviewed and reviewed.has_schedules):
                self._jobs_thread = threading.Thread(
                    target=self._load_jobs, name="jumpcloud-scheduled-jobs", daemon=True
                )
                self._jobs_thread.start()

    def _load_jobs(self) -> None:
        """Every pending scheduled state job, 100 a page, while the records arrive."""
        try:
            jobs: list[ScheduledJob] = []
            for page in self.client.iter_scheduled_job_pages():
                jobs += page
            self._jobs = jobs
            self.logger.info("Loaded %d scheduled JumpCloud state changes", len(jobs))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._jobs_error = exc

    def _read_mapping(self) -> dict[str, str]:
        """The attributes the directory is read with: the mapping's, and a plan's when applying.

        A reviewed plan may write attributes the current mapping no longer names; its drift
        check needs their values as JumpCloud has them now.
        """
        mapping = dict(self.settings.mapping)
        mapping.update(bookkeeping_keys(self.settings.groups.ledger_attribute))  # docs/leavers.md
        if self._reviewed is not None:
            mapping.update(dict.fromkeys(self._reviewed.attribute_names(), ""))
        if self.reads_groups:  # the ledger is a custom attribute (docs/groups.md)
            ledgers = [self.settings.groups.ledger_attribute]
            ledgers += self._reviewed.ledger_attributes() if self._reviewed else []
            mapping.update(dict.fromkeys((f"attributes.{name}" for name in ledgers), ""))
        return mapping

    def _load_directory(self) -> None:
        try:
            mapping = self._read_mapping()
            read_user = UserReader(synced_attributes(mapping))
            progress = Progress(self.logger, "JumpCloud users loaded")
            # Pages are read from their bodies in the listing threads (`UserReader.read_page`).
            pages = self.client.iter_user_pages(
                read_user, compared_fields(mapping), concurrency=self.apply_concurrency
            )
            users = next(pages)  # (there is always a first page, if an empty one)
            progress.tick(len(users))
            for page in pages:
                users += page
                progress.tick(len(users))
            self._directory = Directory(users)
            self.logger.info("Loaded %d JumpCloud users", len(users))
            if self._groups is not None:  # the groups the users' ledgers name
                self._groups.want_ids(ledger_ids(users, self.settings.groups.ledger_attribute))
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
        if self._jobs_thread is not None:
            self._jobs_thread.join()
            self._jobs_thread = None
            jobs_error = self._jobs_error
            if isinstance(jobs_error, AuthenticationError):
                raise jobs_error
            if jobs_error is not None or self._jobs is None:
                raise DirectoryUnavailable(
                    "Could not load JumpCloud's scheduled user states (effective_dating is on), "
                    f"so nothing was planned or written: {jobs_error}"
                ) from None
            self._directory.jobs = jobs_by_user(self._jobs)
        if self._groups is not None and self.group_snapshot is None:
            self.group_snapshot = self._wait_for_groups(self._groups)
        return self._directory

    def _wait_for_groups(self, reading: GroupReading) -> GroupSnapshot:
        """The groups and members read (the ones still queued are read now)."""
        try:
            return reading.finish()
        except GroupReadError as exc:
            cause = exc.__cause__
            if isinstance(cause, AuthenticationError):
                raise cause from None
            raise DirectoryUnavailable(
                "Could not load JumpCloud's user groups (group rules are set), so nothing was "
                f"planned or written: {exc}"
            ) from None

    # -- 2. the desired records ----------------------------------------------------------------

    def next_position(self) -> int:
        """The stream position of the next record (0-based)."""
        return len(self.records)

    def add(self, record: DesiredUser | RejectedRecord) -> None:
        """Keep one mapped record for the plan."""
        self.records.append(record)
        self._read_progress.tick(len(self.records))
        namer = self._namer
        if namer is not None and isinstance(record, DesiredUser):
            names = namer(record)[0]
            if names not in self._names_sent:  # (the same few tuples, 100,000 times)
                self._names_sent.add(names)
                if self._groups is not None:
                    self._groups.want_names(names)

    # -- 3. plan, guard, dry run, apply, report ------------------------------------------------

    def finish(self, *, complete_input: bool = False) -> RunReport:
        """Plan every record, then stop on the guard or the dry run, or apply.

        `complete_input`: the records are the whole listing (docs/leavers.md: out of scope).

        Raises:
            DirectoryUnavailable: The directory could not be loaded (nothing written).
            GuardTripped: Too many suspensions (nothing written; the report says so).
            RecordsFailed: Some records failed; every other one was applied.
        """
        self._read_progress.tick(len(self.records), len(self.records))
        directory = self.wait_for_directory()
        # The records and the snapshot live until the end of the run: the cyclic collector
        # need not walk them again (with 100,000 workers, its passes doubled the planning).
        gc.freeze()
        # "Now" for docs/effective-dates.md is taken once, so every record is planned at the same
        # instant.
        self.plan_time = self.settings.effective_dating.plan_time(utc_now())
        options = PlanOptions.from_settings(self.settings, now=self.plan_time)
        plan = plan_sync(self.records, directory, options, groups=self.group_snapshot)
        inputs, warning = LeaverInputs.for_run(
            self.settings,
            complete_input=complete_input,
            groups=self.group_snapshot,
            read_members=self.client.list_group_members,
        )
        if warning:
            self.logger.warning("%s", warning)
        plan = plan_leavers(plan, self.records, directory, options, inputs)
        if line := directory_check_line(plan.directory, self.settings):
            self.logger.info("%s", line)
        self._log_plan(plan)
        if self.settings.plan_path:
            self._write_plan(plan, directory, self.settings.plan_path)
        return self._conclude(plan, directory)

    def apply_reviewed_plan(self) -> RunReport:
        """Apply exactly the plan file of `apply_plan`: no records, no new planning.

        The plan is read and checked first (a file that is not a plan, edited since it was
        made, not the pinned `apply_plan_id` or too old: `PlanFileError`, a config error,
        before any request). The directory is then read again; each action whose `before`
        values JumpCloud no longer holds ends as `conflict`, one already as planned as
        `unchanged`; the guard, the dry run and the apply are a run's.
        """
        path = self.settings.apply_plan
        if not path:
            raise ValueError("apply_reviewed_plan needs the setting apply_plan")
        reviewed = load_plan(
            path,
            now=utc_now(),
            apply_plan_id=self.settings.apply_plan_id,
            max_age_hours=self.settings.plan_max_age_hours,
        )
        self._reviewed = reviewed
        self.logger.info(
            "Applying plan %s (%d actions, made %s) from %s; reading no worker stream",
            reviewed.plan_id,
            len(reviewed.actions),
            reviewed.created_at.isoformat(),
            path,
        )
        self.start()
        directory = self.wait_for_directory()
        drift = check_drift(reviewed.actions, directory, self.group_snapshot)
        plan = drift.as_plan(
            matched_users=reviewed.matched_users, max_suspensions=self.settings.max_suspensions
        )
        if self.group_snapshot is not None:  # the group guard counts what is still to remove
            plan.group_removals = group_removals(plan.actions, self.group_snapshot)
        attach_leaver_context(
            plan.actions, directory, self.settings.groups.ledger_attribute, self.group_snapshot
        )
        self.logger.info(
            "Plan %s: %d action(s) still to apply, %d changed since it was made, %d already "
            "as planned",
            reviewed.plan_id,
            len(plan.actions),
            sum(1 for r in plan.results if r.outcome is Outcome.CONFLICT),
            sum(1 for r in plan.results if r.outcome is Outcome.UNCHANGED),
        )
        return self._conclude(plan, directory)

    def _conclude(self, plan: Plan, directory: Directory) -> RunReport:
        """The guard, the dry run or the apply of a plan, then the report."""
        self.plan = plan
        guard_message = plan_guard_message(plan, self.settings.max_suspensions)
        guard_message = guard_message or group_guard_message(
            plan, self.settings.groups.max_removal_percent
        )
        if self.settings.dry_run:
            if guard_message:
                self.logger.warning("Dry run: %s", guard_message)
            report = self._finish(planned_results(plan), STATUS_DRY_RUN, guard_message)
            self.logger.info("Dry run: nothing was written to JumpCloud")
            return report
        if guard_message:
            self._finish(planned_results(plan), STATUS_GUARD, guard_message)
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
            ledger_attribute=self.settings.groups.ledger_attribute,
        )
        applied, directory_failed = apply_leavers(
            plan,
            applied,
            self.client,
            ledger_attribute=self.settings.groups.ledger_attribute,
            stop=self.stop_event,
            concurrency=self.apply_concurrency,
        )
        failed = sum(1 for r in applied if r.outcome is Outcome.FAILED)
        status = STATUS_FAILED_RECORDS if failed or directory_failed else STATUS_COMPLETED
        report = self._finish([*plan.results, *applied], status, None)
        if failed or directory_failed:
            users = f" and {directory_failed} out-of-scope user(s)" if directory_failed else ""
            raise RecordsFailed(
                f"{failed} record(s){users} failed (see the summary above); every other record "
                "was applied. The final STATE is not emitted; the next run retries them."
            )
        return report

    def _write_plan(self, plan: Plan, directory: Directory, path: str) -> None:
        """Write the plan file; a failure to write is logged, the run goes on."""
        document = plan_document(plan, directory, self.settings, created_at=utc_now())
        try:
            written = write_plan(path, document)
        except OSError as exc:
            self.logger.error("Could not write the plan to %s: %s", path, exc.strerror or exc)  # noqa: TRY400
        else:
            self.logger.info("Plan %s written to %s", document["plan_id"], written)

    def _log_plan(self, plan: Plan) -> None:
        kinds = dict.fromkeys(ActionKind, 0)
        for action in plan.actions:
            kinds[action.kind] += 1
        self.logger.info(
            "Planned %d records: %d create, %d update, %d suspend, %d reactivate, "
            "%d with scheduled state changes only; "
            "%d need no write; %d suspension(s) against a limit of %d (max_suspensions %s, "
            "%d JumpCloud users matched)",
            len(self.records),
            kinds[ActionKind.CREATE],
            kinds[ActionKind.UPDATE],
            kinds[ActionKind.SUSPEND],
            kinds[ActionKind.REACTIVATE],
            kinds[ActionKind.SCHEDULE],
            len(plan.results),
            plan.suspensions,
            plan.suspension_limit,
            self.settings.max_suspensions,
            plan.matched_users,
        )
        if self.settings.groups.enabled:
            self.logger.info("%s", groups_summary(plan.actions))

    def _finish(self, results: list[RecordResult], status: str, message: str | None) -> RunReport:
        report = RunReport.from_results(
            results,
            started_at=self.started_at,
            dry_run=self.settings.dry_run,
            status=status,
            message=message,
            finished_at=utc_now(),
            directory=self.plan.directory if self.plan is not None else None,
        )
        self.report = report
        report.log_summary(self.logger)
        self.write_report(report)
        return report

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
            if self.settings.review_html:
                self._write_review_page(written, report)

    def _write_review_page(self, report_path: Path, report: RunReport) -> None:
        try:
            page = write_review_page(report_path, report.to_json())
        except (OSError, ReviewInputError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            self.logger.error("Could not write the review page of %s: %s", report_path, reason)  # noqa: TRY400
        else:
            self.logger.info("Review page written to %s", page)

    def abort(self, message: str) -> None:
        """The report of a run that stopped before planning (key refused, input broken…)."""
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


def planned_results(plan: Plan) -> list[RecordResult]:
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
        schedule=action.schedule,
        groups=action.groups,
        groups_change=action.groups_change,
        leaver_steps=planned_steps(action.leaver_steps),
    )
