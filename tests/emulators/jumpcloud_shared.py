"""Request rules that the JumpCloud emulator's V2 modules (and the V1 MFA/expiry routes) share.

One refused-request error, one reading of `limit`/`skip`, of V2 `filter` expressions, of
RFC 3339 date-times and of JSON bodies checked against a JSON Schema, so that scheduled user
states, user groups and credential actions answer a bad request the same way.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

import jsonschema

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# RFC 3339 (OpenAPI's `date-time`): a date, a time, and an offset or Z.
_LENGTHS = {"minLength": "at least", "maxLength": "at most"}
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|z|[+-]\d{2}:\d{2})")


class RefusedRequestError(ValueError):
    """A request JumpCloud would refuse: `status` and `message` become the error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def bad(message: str) -> RefusedRequestError:
    """A 400 refusal."""
    return RefusedRequestError(400, message)


def int_arg(raw: str | None, name: str, default: int, *, minimum: int, maximum: int | None) -> int:
    """An integer query parameter within bounds (400 otherwise); absent or empty: `default`."""
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(f"{name} must be an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise bad(f"{name} must be {bound}")
    return value


def page_slice(limit: str | None, skip: str | None) -> slice:
    """The V2 window: `limit` 1-100 (default 10; above 100 is a 400, never clamped), `skip` >= 0."""
    first = int_arg(skip, "skip", 0, minimum=0, maximum=None)
    count = int_arg(limit, "limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT)
    return slice(first, first + count)


def v2_filter(expression: str, fields: tuple[str, ...]) -> Callable[[Mapping[str, Any]], bool]:
    """A V2 filter `field:op:value` (eq or ne, exact and case-sensitive) on one of `fields`.

    The value may hold colons. Several filters are ANDed; the caller splits them (the spec
    sends an array as repeated parameters or joined by commas).
    """
    name, _, rest = expression.partition(":")
    operator, sep, value = rest.partition(":")
    if not sep or name not in fields or operator not in ("eq", "ne"):
        raise bad(
            f"filter {expression!r} is not supported: use <field>:eq|ne:<value> on "
            f"{', '.join(fields)} (a comma separates filters)"
        )

    def matches(item: Mapping[str, Any]) -> bool:
        found = item.get(name) == value
        return found if operator == "eq" else not found

    return matches


def parse_date_time(value: object, name: str) -> dt.datetime:
    """An RFC 3339 date-time with an offset (OpenAPI's `date-time`), in UTC; 400 otherwise."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise bad(f"{name} must be an RFC 3339 date-time with an offset, e.g. ...T08:00:00Z")
    try:
        when = dt.datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise bad(f"{name} is not a valid date-time") from None
    return when.astimezone(dt.UTC)


def format_seconds(at: dt.datetime) -> str:
    """UTC, to the second, with a Z (`2027-01-04T08:00:00Z`), as V2 writes dates."""
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_millis(at: dt.datetime) -> str:
    """UTC with milliseconds and a Z, as V1 writes `created` and the password dates."""
    at = at.astimezone(dt.UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def body_checker(schema: dict[str, Any]) -> Callable[[object], None]:
    """A check of a JSON body against `schema` that raises a 400 naming the field at fault.

    An unexpected key is `unknown field 'a.b'` and a missing one `a.b is required`, as the V1
    routes word them; any other error is `<field>: <what jsonschema says>`.
    """
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)

    def check(body: object) -> None:
        error = jsonschema.exceptions.best_match(validator.iter_errors(body))
        if error is None:
            return
        where = ".".join(str(part) for part in error.absolute_path)
        prefix = f"{where}." if where else ""
        instance = error.instance
        if error.validator == "additionalProperties" and isinstance(instance, dict):
            known = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
            unknown = sorted(key for key in instance if key not in known)
            raise bad(f"unknown field '{prefix}{unknown[0]}'")
        if error.validator == "required" and isinstance(instance, dict):
            required = error.validator_value if isinstance(error.validator_value, list) else []
            missing = [key for key in required if key not in instance]
            raise bad(f"{prefix}{missing[0]} is required")
        if error.validator in ("minLength", "maxLength"):
            raise bad(
                f"{where} must be {_LENGTHS[error.validator]} {error.validator_value} characters"
            )
        raise bad(f"{where or 'the body'}: {error.message}")

    return check
