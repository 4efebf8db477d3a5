"""The `person_ids` setting: read only some people, one `GET /people/{id}` each (docs/webhooks.md).

The webhook receiver (`tap_deel.webhooks`) runs the sync for the people Deel's events name.
Listing all of Deel to find a handful costs a request per 200 people; asking for each one
costs a request per person. The pure parts live here: the setting as the stream uses it, the
request path, and the answer's envelope. The fetch loop itself is the people stream's
(`streams.PeopleStream`), so every request goes through the tap's one throttle and retries.

No singer-sdk import here: the webhook receiver uses these helpers, and its sync process
starts on the critical path of every event (importing the SDK costs a few tenths of a second).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

if TYPE_CHECKING:
    from collections.abc import Mapping

SETTING = "person_ids"
ENV_VAR = "TAP_DEEL_PERSON_IDS"
#: Deel's profile ids are UUIDs (`hris_profile_id`, format uuid); anything else is a 400 there.
PERSON_ID_PATTERN = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
_PERSON_ID = re.compile(PERSON_ID_PATTERN)
#: Fields only the single-person endpoint sends. The list endpoint has neither, so the
#: `people` schema does not declare them; they are dropped without the "schema does not
#: declare" warning, which is meant for fields Deel adds later.
DETAIL_ONLY_FIELDS = ("custom_fields", "profile_organizational_structures")


def is_person_id(value: object) -> bool:
    """Whether `value` has the shape of a Deel profile id (a UUID in its usual text form)."""
    return isinstance(value, str) and _PERSON_ID.fullmatch(value) is not None


def configured_person_ids(config: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The people to read, or None to read everyone through the list endpoint.

    Unset, null or an empty list all mean "everyone": the nightly job never sets the
    setting, and a tool that writes an empty list by default must not turn the nightly
    full sync into a sync of nobody. Repeats are dropped (first one kept, compared
    ignoring case), so nobody is fetched twice.

    Args:
        config: The tap's validated config.

    Returns:
        The profile ids in the order given, without repeats; None for everyone.
    """
    raw = config.get(SETTING)
    if not raw:
        return None
    seen: set[str] = set()
    ids: list[str] = []
    for value in raw:
        key = str(value).lower()
        if key not in seen:
            seen.add(key)
            ids.append(str(value))
    return tuple(ids)


def person_path(person_id: str) -> str:
    """The path of one person under the API base, e.g. `/people/7c9e...`."""
    return "/people/" + quote(person_id, safe="")


def person_of(body: Any) -> dict[str, Any] | None:  # noqa: ANN401
    """The person object of a `{"data": {...}}` answer, without the detail-only fields.

    Args:
        body: The parsed answer of `GET /people/{id}`.

    Returns:
        The person (a new dict), or None when the body has no `data` object.
    """
    if not isinstance(body, dict):
        return None
    person = body.get("data")
    if not isinstance(person, dict):
        return None
    return {key: value for key, value in person.items() if key not in DETAIL_ONLY_FIELDS}
