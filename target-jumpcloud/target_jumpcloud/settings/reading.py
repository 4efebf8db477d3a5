"""Reading a group of settings: every problem collected, each one line naming its setting.

The settings parser reports all of a config's problems at once, so a reader never stops at
the first: a value that cannot be used becomes one line `name: why`, and its default stands
in for it while the rest is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

_T = TypeVar("_T")


class InvalidSetting(ValueError):  # noqa: N818 - read as "an invalid setting", raised by parsers
    """A setting's value cannot be used; the message says why (the reader adds the name)."""


class SettingReader(Protocol):
    """`read(name, parse, default)`, as `setting_reader` makes it."""

    def __call__(self, name: str, parse: Callable[[object], _T], default: _T) -> _T:
        """The parsed setting, or `default` (with its problem noted)."""
        ...


def setting_reader(config: Mapping[str, Any], problems: list[str]) -> SettingReader:
    """`read(name, parse, default)`: `parse` the setting, or note its problem and use `default`.

    A setting that is missing, null or blank text is left at its default without a problem.
    """

    def read(name: str, parse: Callable[[object], _T], default: _T) -> _T:
        value = config.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            return default
        try:
            return parse(value)
        except InvalidSetting as exc:
            problems.append(f"{name}: {exc}")
            return default

    return read
