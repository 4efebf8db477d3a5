"""Test helper: run a sync command and note its start and end in a JSON-lines ledger.

    python tests/webhooks/ledger.py LEDGER -- 'COMMAND'

The receiver runs it as its sync command. Each line records the sync id and kind the receiver
passed (`DEEL_WEBHOOKS_SYNC_ID`, `DEEL_WEBHOOKS_SYNC_KIND`), the person ids
(`TAP_DEEL_PERSON_IDS`), the time and, at the end, the exit code: the tests compare it with
the queue to prove that no sync ran twice and none was lost. COMMAND runs under
`bash -o pipefail`, so a failing tap fails the pipeline. With `LEDGER_GATE` set, the command
waits until that file exists (so a test can hold a sync in progress without sleeping).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

GATE_DEADLINE = 300.0


def note(ledger: Path, event: str, **extra: object) -> None:
    """Append one line and make it durable (a test may kill processes right after)."""
    line = {
        "event": event,
        "sync_id": os.environ.get("DEEL_WEBHOOKS_SYNC_ID"),
        "kind": os.environ.get("DEEL_WEBHOOKS_SYNC_KIND"),
        "person_ids": json.loads(os.environ.get("TAP_DEEL_PERSON_IDS", "null")),
        "pid": os.getpid(),
        "t": time.time(),
        **extra,
    }
    with ledger.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line) + "\n")
        out.flush()
        os.fsync(out.fileno())


def main(argv: list[str]) -> int:
    ledger, separator, command = Path(argv[0]), argv[1], " ".join(argv[2:])
    if separator != "--" or not command:
        sys.stderr.write("usage: ledger.py LEDGER -- COMMAND\n")
        return 2
    note(ledger, "start")
    gate = os.environ.get("LEDGER_GATE")
    if gate:
        deadline = time.monotonic() + GATE_DEADLINE
        while not Path(gate).exists() and time.monotonic() < deadline:
            time.sleep(0.02)
    code = subprocess.call(["bash", "-o", "pipefail", "-c", command])
    note(ledger, "end", rc=code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
