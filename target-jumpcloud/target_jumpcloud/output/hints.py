"""What a person does about a skipped, conflicting or failed record, and where: the hints table.

Every `skipped`, `conflict` and `failed` record in the report, the review page, the Markdown
summary and a notification carries a `hint` from `HINTS`, the one table docs/alerts.md
prints. A record's reason is classified by the first rule whose outcome matches and whose
pattern is found in the reason; the patterns are built from the reason constants of the
modules that write them where those exist, so a reworded constant moves its rule with it.
Each outcome ends with a catch-all rule, so no such record is ever without a hint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from target_jumpcloud.model import Outcome
from target_jumpcloud.plan.build import REASON_INACTIVE_NEW
from target_jumpcloud.plan.dedupe import REASON_SUPERSEDED_SAME_ID, superseded_by_email_reason
from target_jumpcloud.plan.schema import REASON_CHANGED

#: The outcomes that carry a hint.
HINTED: Final = frozenset({Outcome.SKIPPED, Outcome.CONFLICT, Outcome.FAILED})


@dataclass(frozen=True)
class HintRule:
    """One row of the table: the reason kind, its outcome, how it is recognised, the hint."""

    kind: str
    outcome: Outcome
    pattern: re.Pattern[str]
    hint: str
    example: str  # a reason of this kind, as the sync writes it (the docs show it)
    #: False for a record that needs nobody (an inactive worker with no account): a
    #: notification lists only the records a person has to act on.
    actionable: bool = True

    def matches(self, outcome: Outcome, reason: str) -> bool:
        """True when this rule is the one for `reason` on a record that ended as `outcome`."""
        return outcome is self.outcome and self.pattern.search(reason) is not None


def _rule(
    kind: str, outcome: Outcome, pattern: str, hint: str, example: str, *, actionable: bool = True
) -> HintRule:
    return HintRule(kind, outcome, re.compile(pattern), hint, example, actionable)


_SUPERSEDED_BY_EMAIL = re.escape(superseded_by_email_reason("PROFILE")).replace("PROFILE", r"\S+")

HINTS: Final[tuple[HintRule, ...]] = (
    # -- skipped --------------------------------------------------------------------------------
    _rule(
        "missing_email",
        Outcome.SKIPPED,
        r"no work email|work email .* is not a valid address|work email .* not text|"
        r"work email is longer",
        "set the worker's work email in Deel (on the worker's profile), then run again",
        "no work email (work_email is empty)",
    ),
    _rule(
        "missing_profile_id",
        Outcome.SKIPPED,
        r"no profile id|profile id .* not text|profile id is longer",
        "check the tap's output: a Deel worker record came without a usable profile id",
        "no profile id (id is empty)",
    ),
    _rule(
        "bad_active_flag",
        Outcome.SKIPPED,
        r"active flag",
        "check the worker's status in Deel and the `mapping` setting's `state` path",
        "no active flag (active is empty)",
    ),
    _rule(
        "schema_mismatch",
        Outcome.SKIPPED,
        r"does not match the stream schema",
        "update tap-deel or the stream's schema (or set validate_records off); the record's "
        "field is not what the SCHEMA says",
        "does not match the stream schema: work_email is integer, the schema says null or string",
    ),
    _rule(
        "duplicate_profile_id",
        Outcome.SKIPPED,
        re.escape(REASON_SUPERSEDED_SAME_ID),
        "nothing to do: the later record with the same profile id was synced",
        REASON_SUPERSEDED_SAME_ID,
        actionable=False,
    ),
    _rule(
        "email_taken_by_active_worker",
        Outcome.SKIPPED,
        _SUPERSEDED_BY_EMAIL,
        "give each worker their own work email in Deel; the active one with it was synced",
        superseded_by_email_reason("p-123"),
    ),
    _rule(
        "inactive_without_account",
        Outcome.SKIPPED,
        re.escape(REASON_INACTIVE_NEW),
        "nothing to do: the worker is inactive in Deel and has no JumpCloud user",
        REASON_INACTIVE_NEW,
        actionable=False,
    ),
    _rule(
        "not_yet_started",
        Outcome.SKIPPED,
        r"starts on .*; created from|last day .* is over; not created",
        "nothing to do: the account is made inside the pre-hire window (or the worker has "
        "already left); change the dates in Deel if they are wrong",
        "starts on 2026-03-01; created from 2026-02-15",
        actionable=False,
    ),
    _rule(
        "skipped_other",
        Outcome.SKIPPED,
        r"",
        "read the reason and fix the worker's record in Deel, then run again",
        "(any other reason)",
    ),
    # -- conflict -------------------------------------------------------------------------------
    _rule(
        "shared_work_email",
        Outcome.CONFLICT,
        r"work email is shared by \d+ records",
        "give each worker their own work email in Deel, or make only one of them active",
        "work email is shared by 2 records (profile ids p1, p2) and 2 of them are active",
    ),
    _rule(
        "profile_id_on_several_users",
        Outcome.CONFLICT,
        r"profile id \S+ is linked to \d+ JumpCloud users",
        "in JumpCloud, clear employeeIdentifier on every user but the worker's own",
        "profile id p1 is linked to 2 JumpCloud users (ada.lovelace, ada.lovelace2)",
    ),
    _rule(
        "email_on_several_users",
        Outcome.CONFLICT,
        r"work email is held by \d+ JumpCloud users",
        "in JumpCloud, delete or re-address the duplicate users so one holds the work email",
        "work email is held by 2 JumpCloud users (ada, ada2); cannot tell which one to adopt",
    ),
    _rule(
        "email_on_another_worker",
        Outcome.CONFLICT,
        r"which is linked to another profile id|already holds|is held by JumpCloud user",
        "find which worker owns the work email: fix it in Deel, or fix the JumpCloud user's "
        "email / employeeIdentifier in JumpCloud",
        "work email is held by JumpCloud user ada (5f1…), which is linked to another profile "
        "id (p9)",
    ),
    _rule(
        "changed_since_plan",
        Outcome.CONFLICT,
        re.escape(REASON_CHANGED),
        "JumpCloud changed after the plan was reviewed: make and review a new plan "
        "(a dry run with plan_path), then apply that one",
        f"{REASON_CHANGED}: department was 'Sales', is 'Ops'",
    ),
    _rule(
        "conflict_other",
        Outcome.CONFLICT,
        r"",
        "read the reason and fix the record in Deel or the user in JumpCloud, then run again",
        "(any other reason)",
    ),
    # -- failed ---------------------------------------------------------------------------------
    _rule(
        "not_applied",
        Outcome.FAILED,
        r"^not applied: ",
        "run the sync again: the run stopped before this write (fix the credentials first "
        "if JumpCloud refused them)",
        "not applied: the run was interrupted",
    ),
    _rule(
        "schedule_failed",
        Outcome.FAILED,
        r"the next run schedules them again",
        "nothing to do if the next run succeeds; else check JumpCloud's scheduled user states",
        "updated, but POST /v2/bulk/userstates: HTTP 503; the next run schedules them again",
    ),
    _rule(
        "jumpcloud_unavailable",
        Outcome.FAILED,
        r"gave up after \d+ attempts|may have been processed",
        "nothing to fix in the data: JumpCloud was rate limiting or failing; the next run "
        "retries it (check JumpCloud's status page if it repeats)",
        "PUT /systemusers/5f1…: HTTP 429 (gave up after 6 attempts)",
    ),
    _rule(
        "refused_by_jumpcloud",
        Outcome.FAILED,
        r"HTTP 4(?!29)\d\d|refused the create|JumpCloud refused",
        "read JumpCloud's message in the reason; fix the value in Deel (or the user in "
        "JumpCloud), then run again",
        "PUT /systemusers/5f1…: HTTP 400 (invalid department)",
    ),
    _rule(
        "failed_other",
        Outcome.FAILED,
        r"",
        "run the sync again; if the record fails again, check JumpCloud's status and the "
        "error in the reason",
        "unexpected error: ValueError: …",
    ),
)


def hint_rule(outcome: Outcome, reason: str | None) -> HintRule | None:
    """The rule for a record that ended as `outcome` with `reason`; None for other outcomes."""
    if outcome not in HINTED:
        return None
    text = reason or ""
    return next(rule for rule in HINTS if rule.matches(outcome, text))


def hint_for(outcome: Outcome, reason: str | None) -> str | None:
    """The hint for such a record (None for outcomes that need nobody)."""
    rule = hint_rule(outcome, reason)
    return rule.hint if rule else None


def needs_a_person(outcome: Outcome, reason: str | None) -> bool:
    """True for a failed or conflicting record, or a skipped one that someone must fix."""
    rule = hint_rule(outcome, reason)
    return rule is not None and rule.actionable


def hints_markdown() -> str:
    """The hints table as docs/alerts.md prints it (generated by tests/update_docs.py)."""
    lines = [
        "| Outcome | Kind | A reason of this kind | Hint | In a message |",
        "|---|---|---|---|---|",
    ]
    for rule in HINTS:
        example = rule.example.replace("|", "\\|")
        listed = "yes" if rule.actionable else "no"
        lines.append(
            f"| `{rule.outcome.value}` | `{rule.kind}` | {example} | {rule.hint} | {listed} |"
        )
    return "\n".join(lines) + "\n"
