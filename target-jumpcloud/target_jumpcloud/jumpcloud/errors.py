"""What can go wrong talking to JumpCloud, as exceptions the applier and the exits tell apart."""

from __future__ import annotations

import logging
from typing import TypeVar

logger = logging.getLogger("target-jumpcloud.client")
T = TypeVar("T")


class JumpCloudError(Exception):
    """A JumpCloud request that did not succeed. `status` is None for transport errors."""

    def __init__(
        self, message: str, *, status: int | None = None, api_message: str | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.api_message = api_message  # JumpCloud's own `message`, when it sent one


class AuthenticationError(JumpCloudError):
    """JumpCloud refused the credentials; `setting` names the one to fix.

    `api_key`, `org_id`, `client_id` (for the service account's pair) or `token_url`.
    """

    def __init__(
        self,
        message: str,
        *,
        setting: str,
        status: int | None = None,
        api_message: str | None = None,
    ) -> None:
        super().__init__(message, status=status, api_message=api_message)
        self.setting = setting


class UnknownOutcomeError(JumpCloudError):
    """A create whose result is unknown: JumpCloud may or may not have stored the user."""


class TokenUnavailableError(JumpCloudError):
    """The token endpoint could not be reached or kept failing (429/5xx) after retries.

    No `status`: the request that needed the token was never sent.
    """
