"""How a bad value is quoted in a message: its repr, cut short.

A config error, a skipped record's reason or a warning names the value that was wrong, but
one huge value must not flood a log line or the report: every such message quotes it with
`shown`. The width is the caller's (a settings line has room for more than a report cell).
"""

from __future__ import annotations

from typing import Final

#: The width of a quoted value when the caller names none.
SHOWN_WIDTH: Final = 60


def shown(value: object, width: int = SHOWN_WIDTH) -> str:
    """`repr(value)`, cut to `width` characters with "..." at the end when longer."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."
