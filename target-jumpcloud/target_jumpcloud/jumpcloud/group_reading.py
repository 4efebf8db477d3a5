"""Read JumpCloud's groups beside the directory load, off the run's critical path (docs/groups.md).

Which groups matter depends on the records (a rule yields `Dept - Finance` only once a
finance worker arrives) and on the users (whose ledgers name groups by id). So the read is
one background thread fed as the run learns:

1. it lists every group at once (100 a page: a few requests), while the users load;
2. the engine hands it each group name a record's rules yield the first time it is seen,
   the ledger ids once the users are loaded, and any extra name a caller asks for;
   the thread reads the members of each such group as soon as it is known (100 a page,
   a few groups at a time), so by the end of the input most of them are in;
3. at plan time `finish` waits for the groups still queued: only those whose names came
   with the last records are read on the critical path.

Each group's members are read once; a dynamic group's never (the sync never writes to it);
a group nothing names is never read at all.
"""

from __future__ import annotations

import queue
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final

from target_jumpcloud.sync.groups import GroupSnapshot, group_key

if TYPE_CHECKING:
    import logging
    from collections.abc import Iterable

    from target_jumpcloud.jumpcloud.client import JumpCloudClient
    from target_jumpcloud.sync.groups import DirectoryGroup

MEMBER_READERS: Final = 3  # groups whose members are read at once
_DONE: Final = ("done", "")


class GroupReadError(Exception):
    """The groups or their members could not be read (the cause is chained)."""


class GroupReading:
    """The background read of groups and members for one run (see the module docstring)."""

    def __init__(self, client: JumpCloudClient, logger: logging.Logger) -> None:
        self.client = client
        self.logger = logger
        self._queue: queue.Queue[tuple[str, str]] = queue.Queue()
        self._seen_names: set[str] = set()  # (the engine's thread only)
        self._snapshot: GroupSnapshot | None = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None
        self.member_reads = 0  # groups whose members were read

    def start(self) -> None:
        """Start the background thread (once)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="jumpcloud-groups", daemon=True)
            self._thread.start()

    def want_names(self, names: Iterable[str]) -> None:
        """Read the members of the groups of these names (each once; unknown names: nothing)."""
        for name in names:
            key = group_key(name)
            if key not in self._seen_names:
                self._seen_names.add(key)
                self._queue.put(("name", name))

    def want_ids(self, ids: Iterable[str]) -> None:
        """Read the members of the groups with these ids (any thread; repeats are free)."""
        for group_id in ids:
            self._queue.put(("id", group_id))

    def finish(self) -> GroupSnapshot:
        """The groups and the members read, once every queued group is in.

        Raises:
            GroupReadError: the listing or a member read failed after retries (the cause is
                chained: an `AuthenticationError` is re-raised as it is).
        """
        self.start()
        self._queue.put(_DONE)
        if self._thread is not None:
            self._thread.join()
        if self._error is not None:
            raise GroupReadError(str(self._error)) from self._error
        if self._snapshot is None:  # pragma: no cover - the thread sets one or the other
            raise GroupReadError("the groups were not read")
        return self._snapshot

    def _run(self) -> None:
        try:
            groups = self.client.list_groups()
            snapshot = GroupSnapshot(groups)
            self.logger.info("Listed %d JumpCloud user groups", len(groups))
            with ThreadPoolExecutor(MEMBER_READERS, thread_name_prefix="group-members") as pool:
                pending = []
                requested: set[str] = set()
                while True:
                    kind, value = self._queue.get()
                    if (kind, value) == _DONE:
                        break
                    group = snapshot.by_name(value) if kind == "name" else snapshot.by_id(value)
                    if group is None or group.id in requested or not snapshot.needs_members(group):
                        continue
                    requested.add(group.id)
                    pending.append(pool.submit(self._read_members, group))
                for future in pending:
                    group, members = future.result()
                    snapshot.set_members(group.id, members)
            self.member_reads = len(requested)
            self._snapshot = snapshot
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._error = exc

    def _read_members(self, group: DirectoryGroup) -> tuple[DirectoryGroup, list[str]]:
        return group, self.client.list_group_members(group.id)
