"""Reading a plan file strictly, every problem one line naming the file.

JSON without duplicate keys or constants, checked against the schema, with unique actions
and sound manager links.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, TypeGuard

import jsonschema

from target_jumpcloud.model import (
    ActionKind,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Iterable, Mapping, Sequence

from target_jumpcloud.plan.document import compute_plan_id
from target_jumpcloud.plan.schema import (
    ACTION_SCHEMA,
    NOT_ATTRIBUTE_ENTRIES,
    OUTCOME_OF,
    PLAN_FORMAT,
    RECORD_SCHEMA,
    SHOWN_LENGTH,
    VALIDATOR,
    PlanFormatError,
)

# -- reading a plan ---------------------------------------------------------------------------


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise PlanFormatError(f"the key {key!r} appears twice in one object")
        seen[key] = value
    return seen


def _no_constant(name: str) -> None:
    raise PlanFormatError(f"{name} is not a JSON value")


def parse_json_file(path: str | os.PathLike[str]) -> Any:  # noqa: ANN401 - any JSON
    """A file's JSON value; one-line `PlanFormatError` for unreadable, non-UTF-8, non-JSON.

    Duplicate keys and NaN/Infinity are refused: two readers could see different values.
    """
    shown = str(path)
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise PlanFormatError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise PlanFormatError(f"{shown}: is a folder, not a file") from None
    except OSError as exc:
        raise PlanFormatError(f"{shown}: cannot be read ({exc.strerror or exc})") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise PlanFormatError(f"{shown}: not UTF-8 text") from None
    try:
        return json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise PlanFormatError(
            f"{shown}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    except PlanFormatError as exc:
        raise PlanFormatError(f"{shown}: not valid JSON for a plan ({exc})") from None
    except RecursionError:
        raise PlanFormatError(f"{shown}: not valid JSON (nested too deeply)") from None


def is_plan_document(value: object) -> TypeGuard[dict[str, Any]]:
    """True when `value` claims to be a plan file (its `format`); it may still be invalid."""
    return isinstance(value, dict) and value.get("format") == PLAN_FORMAT


# Where the schema looks at a string's value (an enum or a const); everywhere else it only
# asks for a string, non-empty for ids. Paths are dict keys from the item, list steps skipped.
_VALUE_CHECKED: Final = frozenset(
    {
        ("kind",),
        ("state", "before"),
        ("state", "after"),
        ("schedule", "state"),
        ("schedule", "change"),
        ("outcome",),
    }
)
_ITEM_VALIDATORS: Final = {
    "actions": jsonschema.Draft202012Validator(ACTION_SCHEMA),
    "records": jsonschema.Draft202012Validator(RECORD_SCHEMA),
}


def _shape(value: object, path: tuple[str, ...] = ()) -> object:
    """`value` with every free text replaced by "x" (or "" when empty): what the schema sees.

    Two items with the same shape get the same verdict from the item schemas, so each shape
    is validated once: 100,000 creates have a handful of shapes, and validating every one of
    them took 38 s (measured) against well under one for their shapes.
    """
    if isinstance(value, str):
        return value if path in _VALUE_CHECKED else ("x" if value else "")
    if isinstance(value, dict):
        return {key: _shape(item, (*path, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item, path) for item in value]
    return value


def _problem_text(error: jsonschema.ValidationError, prefix: Sequence[str | int] = ()) -> str:
    where = "/".join(str(part) for part in (*prefix, *error.absolute_path)) or "the top level"
    message = error.message
    if isinstance(error.instance, dict | list):  # a whole object quoted helps no one
        what = "this object" if isinstance(error.instance, dict) else "this list"
        message = message.replace(repr(error.instance), what)
    if len(message) > 2 * SHOWN_LENGTH:
        message = message[: 2 * SHOWN_LENGTH - 3] + "..."
    return f"{where}: {message}"


def _schema_problem(document: Mapping[str, Any]) -> str | None:
    """The first problem `PLAN_SCHEMA` finds in `document` (validated by item shape), if any."""
    lists: dict[str, list[Any]] = {}
    for name in _ITEM_VALIDATORS:
        items = document.get(name)
        if not isinstance(items, list):
            error = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(document))
            return None if error is None else _problem_text(error)
        lists[name] = items
    frame = {**document, **{name: [] for name in _ITEM_VALIDATORS}}
    error = jsonschema.exceptions.best_match(VALIDATOR.iter_errors(frame))
    if error is not None:
        return _problem_text(error)
    for name, validator in _ITEM_VALIDATORS.items():
        seen: set[str] = set()
        for index, item in enumerate(lists[name]):
            shape = repr(_shape(item))  # (a key only: repr is C code, no sorting needed)
            if shape in seen:
                continue
            seen.add(shape)
            error = jsonschema.exceptions.best_match(validator.iter_errors(item))
            if error is not None:
                return _problem_text(error, (name, index))
    return None


def check_plan_document(document: object, shown: str) -> dict[str, Any]:
    """Check the shape and the integrity of a parsed plan file; return it.

    Raises `PlanFormatError` (one line, starting with `shown`) for a value that is not a
    plan file, a `plan_id` that does not match the actions (an edited action or id), and a
    plan that is not self-consistent (two actions for one worker or one JumpCloud user, counts
    that do not add up).
    """
    if not is_plan_document(document):
        raise PlanFormatError(
            f"{shown}: not a target-jumpcloud plan file (no format {PLAN_FORMAT!r})"
        )
    problem = _schema_problem(document)
    if problem is not None:
        raise PlanFormatError(f"{shown}: not a valid plan file: {problem}")
    actions: list[dict[str, Any]] = document["actions"]
    expected = compute_plan_id(actions)
    if expected != document["plan_id"]:
        raise PlanFormatError(
            f"{shown}: was changed after it was made: its actions hash to {expected[:12]}…, "
            f"not to its plan_id {document['plan_id'][:12]}…; refusing it (make and review a "
            "new plan)"
        )
    for action in actions:
        misplaced = NOT_ATTRIBUTE_ENTRIES.intersection(action["attributes"])
        if misplaced:
            raise PlanFormatError(
                f"{shown}: the action for profile id {action['deel_id']} lists "
                f"{sorted(misplaced)[0]!r} as an attribute (it is set by the action's kind, "
                "its manager entry, or one attributes.<name> entry per custom attribute)"
            )
    _check_unique(actions, shown)
    _check_manager_links(actions, shown)
    tally = Counter(OUTCOME_OF[ActionKind(a["kind"])].value for a in actions)
    tally.update(record["outcome"] for record in document["records"])
    wrong = [name for name, count in document["counts"].items() if tally.get(name, 0) != count]
    if wrong or set(tally) - set(document["counts"]):
        raise PlanFormatError(
            f"{shown}: its counts do not match its actions and records ({', '.join(wrong)})"
        )
    return document


def _check_unique(actions: Sequence[Mapping[str, Any]], shown: str) -> None:
    def twice(what: str, keys: Iterable[str]) -> None:
        seen: set[str] = set()
        for key in keys:
            if key in seen:
                raise PlanFormatError(f"{shown}: two actions for {what} {key!r}")
            seen.add(key)

    twice("profile id", (a["deel_id"] for a in actions))
    twice("JumpCloud user", (a["jumpcloud_id"] for a in actions if a["jumpcloud_id"]))
    creates = [a for a in actions if a["kind"] == ActionKind.CREATE.value]
    twice("new username", (a["username"].lower() for a in creates))
    twice("new user with the email", (a["email"].casefold() for a in creates))


def _check_manager_links(actions: Sequence[Mapping[str, Any]], shown: str) -> None:
    """A manager this plan creates must be one of its creates, and not the worker themself."""
    created = {a["deel_id"] for a in actions if a["kind"] == ActionKind.CREATE.value}
    for action in actions:
        target = (action.get("manager") or {}).get("after_deel_id")
        if target is not None and (target not in created or target == action["deel_id"]):
            raise PlanFormatError(
                f"{shown}: the action for profile id {action['deel_id']} names as its manager "
                f"the new user {target!r}, whom the plan does not create"
            )


def read_plan_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse and check a plan file (shape and integrity; not its age nor a pin)."""
    return check_plan_document(parse_json_file(path), str(path))
