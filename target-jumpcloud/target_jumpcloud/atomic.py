"""Write a file so that a reader sees the old content or the new, never half of it.

Plan files and review pages are read by other programs (a CI job, an approver's browser, the
apply run) that may open them while a run is still writing: the bytes go to a temporary file
in the same folder, are flushed to disk, and then replace the target in one rename.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable


def write_atomically(path: str | os.PathLike[str], data: bytes | Iterable[bytes]) -> Path:
    """Write `data` to `path` (its folder is created) by temp file + rename; return the path.

    `data` may come in pieces (an iterable of bytes), written as they come: a large file
    need not be held whole. An error while they come leaves the old file as it was.
    """
    target = Path(path).expanduser()
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".tmp", dir=target.parent
    )
    temp = Path(temp_name)
    try:
        with os.fdopen(handle, "wb") as stream:
            for piece in [data] if isinstance(data, bytes) else data:
                stream.write(piece)
            stream.flush()
            os.fsync(stream.fileno())
        temp.replace(target)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return target
