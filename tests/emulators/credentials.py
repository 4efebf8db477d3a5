"""JumpCloud's V1 MFA reset and password expiry (`/systemusers/{id}/resetmfa`, `/expire`).

`CredentialBook` checks the requests against the V1 spec (`systemusers_resetmfa`,
`systemusers_expire`), works out what they change on the user object, and keeps what the
API cannot show (how many resets, when each happened) for tests to read. Where the spec is
silent it errs on the strict side:

* Both answer 200 with a JSON string (the spec types the answer as `string`, never a user):
  the emulator writes `""`. An unknown user is 404; a suspended user is served (a leaver's
  steps run after the suspension).
* `resetmfa` takes an optional JSON object `{exclusion: bool, exclusionUntil: date-time,
  exclusionDays: int >= 1}`; unknown or mistyped fields are 400, and so are `exclusionUntil`
  or `exclusionDays` without `"exclusion": true`, both together, or an `exclusionUntil` that
  is not in the future. The user's TOTP is reset: `totp_enabled` false, `mfa.configured`
  false, `mfaEnrollment.totpStatus` NOT_ENROLLED (and `overallStatus` too unless another
  factor is still ENROLLED). `exclusion` given sets `mfa.exclusion` (false clears the
  exclusion's dates); left out, the user's exclusion stays.
* `expire` takes no body (a body is 400). `password_expired` becomes true and
  `password_expiration_date` the emulator's now; a second expire answers 200 again (the
  real service has nothing to refuse). Setting a new password clears `password_expired`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from tests.emulators.jumpcloud_shared import (
    bad,
    body_checker,
    format_millis,
    format_seconds,
    parse_date_time,
)

ANSWER = b'""'  # the 200 body of both routes: a JSON string
_OTHER_FACTORS = ("webAuthnStatus", "pushStatus", "smsStatus", "jcGoStatus")
_check_reset_body = body_checker(
    {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "exclusion": {"type": "boolean"},
            "exclusionUntil": {"type": "string"},
            "exclusionDays": {"type": "integer", "minimum": 1},
        },
    }
)


@dataclass(slots=True)
class CredentialRecord:
    """What the MFA and password routes did to one user, in order."""

    mfa_resets: list[dict[str, Any]] = field(default_factory=list)  # {"at", "body"}
    password_expirations: list[str] = field(default_factory=list)  # ISO instants

    def json(self, user: dict[str, Any]) -> dict[str, Any]:
        """The state tests read: counts, instants and the user's current flags."""
        return {
            "mfa_resets": len(self.mfa_resets),
            "last_mfa_reset": self.mfa_resets[-1] if self.mfa_resets else None,
            "password_expirations": len(self.password_expirations),
            "password_expired": bool(user.get("password_expired")),
            "password_expired_at": (
                self.password_expirations[-1] if user.get("password_expired") else None
            ),
        }


class CredentialBook:
    """The MFA resets and password expiries of one organisation's users. Not thread-safe on
    its own: the emulator calls it under its lock."""

    def __init__(self) -> None:
        self._records: dict[str, CredentialRecord] = {}

    def reset_mfa(
        self, user: dict[str, Any], body: dict[str, Any] | None, now: dt.datetime
    ) -> dict[str, Any]:
        """Check a resetmfa body and return the user as the reset leaves it (a new object)."""
        body = body or {}
        _check_reset_body(body)
        mfa = {"configured": False, "exclusion": False, **(user.get("mfa") or {})}
        mfa["configured"] = False
        if "exclusionUntil" in body or "exclusionDays" in body:
            if body.get("exclusion") is not True:
                raise bad('exclusionUntil and exclusionDays need "exclusion": true')
            if "exclusionUntil" in body and "exclusionDays" in body:
                raise bad("give exclusionUntil or exclusionDays, not both")
        if "exclusion" in body:
            mfa["exclusion"] = body["exclusion"]
            for key in ("exclusionUntil", "exclusionDays"):
                mfa.pop(key, None)
        if "exclusionUntil" in body:
            until = parse_date_time(body["exclusionUntil"], "exclusionUntil")
            if until <= now:
                raise bad("exclusionUntil must be in the future")
            mfa["exclusionUntil"] = format_seconds(until)
        if "exclusionDays" in body:
            mfa["exclusionDays"] = body["exclusionDays"]
            mfa["exclusionUntil"] = format_seconds(now + dt.timedelta(days=body["exclusionDays"]))
        enrollment = dict(user.get("mfaEnrollment") or {})
        enrollment["totpStatus"] = "NOT_ENROLLED"
        if not any(enrollment.get(name) == "ENROLLED" for name in _OTHER_FACTORS):
            enrollment["overallStatus"] = "NOT_ENROLLED"
        self._record(user["_id"]).mfa_resets.append({"at": format_millis(now), "body": body})
        return {**user, "mfa": mfa, "mfaEnrollment": enrollment, "totp_enabled": False}

    def expire(self, user: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
        """Return the user with an expired password (a new object)."""
        at = format_millis(now)
        self._record(user["_id"]).password_expirations.append(at)
        return {**user, "password_expired": True, "password_expiration_date": at}

    def state(self, user: dict[str, Any]) -> dict[str, Any]:
        """What was done to this user's credentials (zeros for a user never touched)."""
        return self._records.get(user["_id"], CredentialRecord()).json(user)

    def drop_user(self, user_id: str) -> None:
        """Forget a deleted user."""
        self._records.pop(user_id, None)

    def _record(self, user_id: str) -> CredentialRecord:
        return self._records.setdefault(user_id, CredentialRecord())
