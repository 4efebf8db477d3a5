"""Records written as the very JSON text Deel sent, instead of parsed and encoded again.

Parsing a 3 kB person into dicts and encoding it back took over half of the tap's time per
person (profiled on 100,000 people). Most rows need neither step: a `RecordChecker` reads the
row's text without building it and confirms the schema keeps every key; the few fields the
stream reads come back decoded, and the fields it adds (`work_email`, `active`, `team`) are
appended to the object's text when it is written. What cannot pass through that way (a key
to drop, a field the stream would replace, a value of another shape, invalid JSON) is parsed
and shaped as before, so the output means the same either way.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:
    from tap_deel.projection import RecordChecker

_encode = msgspec.json.encode


class PassedRecord(dict[str, Any]):
    """A record kept as its JSON text; as a dict, only the fields the stream reads.

    The dict starts with the decoded top-level fields the stream asked for (its id, what it
    derives from). Keys the stream adds afterwards are appended to the text when the record
    is written (`json`). The fields that came from the text must not be changed: the text
    is what goes out.
    """

    __slots__ = ("_decoded", "text")

    def __init__(self, text: bytes, decoded: dict[str, Any]) -> None:
        """Keep `text` (one JSON object) and its `decoded` fields."""
        super().__init__(decoded)
        self.text = text
        self._decoded = len(decoded)

    def json(self) -> bytes:
        """The record's JSON text, with the keys added since it was read appended."""
        if len(self) == self._decoded:
            return self.text
        added = dict(list(self.items())[self._decoded :])  # (dicts keep their order)
        members = _encode(added)[1:]  # `"name":value,...}`, in one call
        head = self.text[:-1].rstrip()  # (an object's text ends with "}")
        return head + members if head.endswith(b"{") else head + b"," + members


class PassThrough:
    """Turns a row's JSON text (see `parse_body`'s `rows_as_text`) into a `PassedRecord`."""

    def __init__(self, checker: RecordChecker, added: tuple[str, ...]) -> None:
        """Prepare for one stream.

        Args:
            checker: The stream's checker (its plain fields are what the stream reads).
            added: Fields the stream sets on every record: a row that already has one is
                not passed through (the slow way replaces it, as it always did).
        """
        self._check = checker
        self._added = added

    def __call__(self, text: bytes) -> PassedRecord | None:
        """The row as a `PassedRecord`, or None when it must be parsed and shaped instead."""
        decoded = self._check(text)
        if decoded is None or any(name in decoded for name in self._added):
            return None
        return PassedRecord(text, decoded)
