"""A stand-in for a Slack or JSON webhook: the local receiver of the target's notifications.

The target sends with Apprise's `json://127.0.0.1:PORT/hooks/NAME` (Apprise POSTs
`{"version", "title", "message", "type", ...}`); this app keeps every message it accepted.
It shares the emulators' plumbing, so a test can make it answer 500 (`faults.script`) or
answer slowly (`latency`) to show that a failing webhook never fails the sync.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from tests.emulators.base import EmulatorApp, Request, Response

HOOK_PATH = "/hooks/[A-Za-z0-9_-]+"


class NotifyReceiver(EmulatorApp):
    """Accepts POSTs to `/hooks/<name>` and keeps each JSON message (with its path)."""

    name = "notify-receiver"

    def __init__(self) -> None:
        super().__init__()
        self._messages: list[dict[str, Any]] = []
        self._messages_lock = threading.Lock()
        self.route("POST", HOOK_PATH, self._post_hook)
        self.route("GET", "/_emulator/messages", self._get_messages)

    def _post_hook(self, request: Request) -> Response:
        try:
            body = request.json()
        except ValueError:
            return Response(400, {"message": "not JSON"})
        if not isinstance(body, dict):
            return Response(400, {"message": "not a JSON object"})
        with self._messages_lock:
            self._messages.append({"path": request.path, **body})
        return Response(200, {"ok": True})

    def _get_messages(self, request: Request) -> Response:
        del request
        return Response(200, self.messages())

    def messages(self) -> list[dict[str, Any]]:
        """Every message accepted so far, oldest first."""
        with self._messages_lock:
            return json.loads(json.dumps(self._messages))

    def clear_messages(self) -> None:
        """Forget the messages (the request log stays)."""
        with self._messages_lock:
            self._messages.clear()
