"""JumpCloud's V2 user groups: list groups and members, create a group, add or remove a member.

A write whose answer is lost (timeout, dropped connection, 5xx) is never sent again blindly:
a membership write is checked by listing the group's members first, a group create by
listing the groups of that name. So no fault pattern makes a duplicate group, and a member
is never added or removed twice. JumpCloud's own answers to a repeat ("already a member",
"not a member") count as done, once the member list has confirmed them.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

import msgspec

from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    UnknownOutcomeError,
)
from target_jumpcloud.jumpcloud.transport import PAGE_SIZE, Transport
from target_jumpcloud.sync.groups import DirectoryGroup, group_key, read_group

if TYPE_CHECKING:
    from collections.abc import Iterator

    import requests

logger = logging.getLogger("target-jumpcloud.client")

GROUPS_PATH: Final = "/v2/usergroups"  # V2 user groups (under `api_url`)
_HTTP_CONFLICT: Final = 409
#: Answers to a member write that may mean "already so" (checked against the member list).
_MAYBE_DONE: Final = frozenset({400, 404, 409})
MAX_WRITE_ATTEMPTS: Final = 4  # sends of one group write whose answers keep getting lost


class _Target(msgspec.Struct, gc=False):
    id: str | None = None


class _Connection(msgspec.Struct, gc=False):
    """A `GraphConnection` of the members list: only `to.id` is read."""

    to: _Target | None = None


_MEMBER_PAGE: Final = msgspec.json.Decoder(list[_Connection])


def _read_members(response: requests.Response) -> list[_Connection]:
    try:
        return _MEMBER_PAGE.decode(response.content)
    except msgspec.DecodeError:  # (a ValidationError is one too)
        raise JumpCloudError(
            f"GET {response.request.path_url.split('?')[0]}: unexpected response "
            "(not a list of members)",
            status=response.status_code,
        ) from None


def _members_path(group_id: str) -> str:
    return f"{GROUPS_PATH}/{quote(group_id, safe='')}/members"


class UserGroupsAPI(Transport):
    """The V2 `/usergroups` calls, over the shared transport."""

    def _pages(self, path: str, params: dict[str, Any] | None = None) -> Iterator[list[Any]]:
        """Every page of a V2 list, 100 a page until a short page (no total is declared)."""
        skip = 0
        while True:
            body = self._request(
                "GET", path, params={**(params or {}), "limit": PAGE_SIZE, "skip": skip}
            )
            if not isinstance(body, list):
                raise JumpCloudError(f"GET {path}: unexpected response (not a list)")
            yield body
            skip += len(body)
            if len(body) < PAGE_SIZE:
                return

    def iter_group_pages(self) -> Iterator[list[DirectoryGroup]]:
        """Every user group, a page at a time (items without an id and a name left out).

        Raises:
            AuthenticationError: JumpCloud refused the key.
            JumpCloudError: JumpCloud could not be reached after retries, or answered oddly.
        """
        for page in self._pages(GROUPS_PATH):
            yield [group for item in page if (group := read_group(item)) is not None]

    def list_groups(self) -> list[DirectoryGroup]:
        """Every user group (see `iter_group_pages`)."""
        return [group for page in self.iter_group_pages() for group in page]

    def find_group(self, name: str) -> DirectoryGroup | None:
        """The group of this name (ignoring case, as JumpCloud keeps names unique), if any.

        Filtered by the exact name on the server first (one request); the filter is exact
        and case-sensitive and cannot hold a comma, so when it finds nothing every group is
        listed and compared ignoring case.
        """
        wanted = group_key(name)
        searches = [{"filter": f"name:eq:{name}"}] if "," not in name else []
        for params in [*searches, None]:
            for page in self._pages(GROUPS_PATH, params):
                for item in page:
                    group = read_group(item)
                    if group is not None and group_key(group.name) == wanted:
                        return group
        return None

    def list_group_members(self, group_id: str) -> list[str]:
        """The user ids in a group (`GraphConnection.to.id`), 100 a page until a short page.

        Each page is decoded straight into the ids (a 100,000-member group is 1,001 pages).
        """
        path = _members_path(group_id)
        members: list[str] = []
        skip = 0
        while True:
            page: list[_Connection] = self._request(
                "GET", path, params={"limit": PAGE_SIZE, "skip": skip}, read=_read_members
            )
            members += [c.to.id for c in page if c.to is not None and c.to.id]
            skip += len(page)
            if len(page) < PAGE_SIZE:
                return members

    def create_group(self, name: str) -> DirectoryGroup:
        """Create a group, or find the one an earlier attempt (or someone else) made.

        A lost answer, or a 409 (the name is taken), is followed by a look-up by name before
        anything is sent again: never a duplicate group.

        Raises:
            AuthenticationError: JumpCloud refused the key.
            JumpCloudError: the group could not be created (the message says why).
        """
        what = f"POST {GROUPS_PATH}"
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                answer = self._request(
                    "POST", GROUPS_PATH, json_body={"name": name}, idempotent=False
                )
            except AuthenticationError:
                raise
            except JumpCloudError as exc:
                lost = isinstance(exc, UnknownOutcomeError)
                if not lost and exc.status != _HTTP_CONFLICT:
                    raise
                if lost:
                    self.pause(attempt)  # a request that timed out here may still land there
                found = self.find_group(name)
                if found is not None:
                    return found
                if not lost:
                    raise
                logger.warning("%s: %s; no group %r yet, sending again", what, exc, name)
                continue
            group = read_group(answer)
            if group is None:
                raise JumpCloudError(f"{what}: unexpected response (no group id)")
            return group
        raise JumpCloudError(
            f"{what}: the answers were lost {MAX_WRITE_ATTEMPTS} times and no group "
            f"{name!r} was found; the next run tries again"
        )

    def add_group_member(self, group_id: str, user_id: str) -> None:
        """Add a user to a group (already a member: done)."""
        self._change_member(group_id, user_id, "add")

    def remove_group_member(self, group_id: str, user_id: str) -> None:
        """Remove a user from a group (not a member: done)."""
        self._change_member(group_id, user_id, "remove")

    def _change_member(self, group_id: str, user_id: str, op: str) -> None:
        """POST one membership op (204); a lost or refused answer is checked, never guessed.

        "Already a member" (409) and "not a member" (400) are answers to a repeat: they
        count as done when the member list agrees. A lost answer is checked the same way
        before the op is sent again.

        Raises:
            AuthenticationError: JumpCloud refused the key.
            JumpCloudError: the op could not be done (the message says why).
        """
        path = _members_path(group_id)
        body = {"op": op, "type": "user", "id": user_id}
        wanted_in = op == "add"
        for attempt in range(MAX_WRITE_ATTEMPTS):
            try:
                self._request("POST", path, json_body=body, idempotent=False)
            except AuthenticationError:
                raise
            except JumpCloudError as exc:
                lost = isinstance(exc, UnknownOutcomeError)
                if not lost and exc.status not in _MAYBE_DONE:
                    raise
                if lost:
                    self.pause(attempt)
                try:
                    present = user_id in self.list_group_members(group_id)
                except AuthenticationError:
                    raise
                except JumpCloudError as check_error:
                    raise JumpCloudError(
                        f"{exc}; checking the group's members failed ({check_error}); the "
                        "next run checks again"
                    ) from None
                if present is wanted_in:
                    return
                if not lost:
                    raise
                logger.warning("POST %s (%s): %s; not done yet, sending again", path, op, exc)
                continue
            return
        raise JumpCloudError(
            f"POST {path} ({op}): the answers were lost {MAX_WRITE_ATTEMPTS} times; the next "
            "run tries again"
        )
