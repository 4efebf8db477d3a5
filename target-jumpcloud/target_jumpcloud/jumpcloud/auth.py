"""Who the target is to JumpCloud: a personal API key or a service account.

A personal administrator key dies with its owner's account and carries every permission that
person has; a JumpCloud *service account* is a client id and secret with one role of its own,
exchanged for a short-lived access token by the OAuth 2.0 client-credentials grant.

This module holds the rules and the shared state, apart from HTTP: which headers a request
carries, when a token is renewed, and that the threads of a run (the listing threads and the
concurrent writers) share one token and one renewal at a time. The grant itself (the HTTP
POST with its retries) is a callable the client supplies.

The hot path is one attribute read and one clock reading: `current()` takes no lock while
the token is fresh. Secrets stay out of every `repr`; nothing here logs.
"""

from __future__ import annotations

import math
import re
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Final, Protocol

from requests.auth import AuthBase

from target_jumpcloud.settings.credentials import basic_authorization

if TYPE_CHECKING:
    from collections.abc import Callable

    from requests import PreparedRequest

    from target_jumpcloud.settings.credentials import ServiceAccount

#: The grant's form body (sent as application/x-www-form-urlencoded).
GRANT_FORM: Final = {"grant_type": "client_credentials", "scope": "api"}
#: A token is renewed this many seconds before it runs out (as JumpCloud's own clients do),
#: or at half its lifetime when that comes first.
RENEWAL_MARGIN: Final = 30.0
#: The lifetime assumed when the token endpoint sends no usable `expires_in` (JumpCloud's
#: tokens live about an hour; a short guess only costs an early renewal, and a token refused
#: sooner is renewed after the 401 anyway).
ASSUMED_LIFETIME: Final = 300.0
#: Tokens remembered for scrubbing messages (a run mints one per hour or so).
_KEPT_TOKENS: Final = 16
_TOKEN_TEXT: Final = re.compile(r"[\x21-\x7e]+")  # printable ASCII, no space


def renewal_time(minted_at: float, expires_in: float) -> float:
    """When a token minted at `minted_at` (clock seconds) that lives `expires_in` is renewed."""
    return minted_at + expires_in - min(RENEWAL_MARGIN, expires_in / 2)


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint granted: the access token and its lifetime in seconds."""

    access_token: str = field(repr=False)
    expires_in: float


class TokenResponseError(ValueError):
    """A token endpoint's success answer that holds no usable token (the reason says why)."""


def read_token_response(body: object) -> TokenGrant:
    """The grant in a token endpoint's JSON answer.

    `access_token` is required; `token_type`, when sent, must be Bearer (any case);
    `expires_in` missing, not a number or not positive counts as `ASSUMED_LIFETIME`.
    The reason of a `TokenResponseError` never quotes the body (it may hold the token).

    Raises:
        TokenResponseError: The answer is not a token grant.
    """
    if not isinstance(body, dict):
        raise TokenResponseError("the answer is not a JSON object")
    token = body.get("access_token")
    if not isinstance(token, str) or not _TOKEN_TEXT.fullmatch(token):
        # (A token with spaces or control characters could not go into a header, and
        # `requests` would quote it in its error.)
        raise TokenResponseError("the answer has no usable `access_token`")
    token_type = body.get("token_type")
    if token_type is not None and (
        not isinstance(token_type, str) or token_type.strip().lower() != "bearer"
    ):
        raise TokenResponseError("the token is not a Bearer token")
    lifetime = body.get("expires_in")
    if isinstance(lifetime, str):
        try:
            lifetime = float(lifetime)
        except ValueError:
            lifetime = None
    if (
        isinstance(lifetime, bool)
        or not isinstance(lifetime, (int, float))
        or not math.isfinite(lifetime)
        or lifetime <= 0
    ):
        lifetime = ASSUMED_LIFETIME
    return TokenGrant(token, float(lifetime))


class Credential(AuthBase):
    """The headers one request carries to prove who it is, and when they go stale.

    A `requests` auth hook: `session.request(..., auth=credential)` adds the headers to that
    request only. The client keeps the one a request was sent with, so that after a 401 it
    can say which credential JumpCloud refused.
    """

    __slots__ = ("headers", "renew_at")

    def __init__(self, headers: dict[str, str], renew_at: float = math.inf) -> None:
        self.headers = headers
        self.renew_at = renew_at  # clock seconds; math.inf: never (an API key)

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        """Add the headers to the request `requests` is preparing."""
        r.headers.update(self.headers)
        return r

    def __repr__(self) -> str:
        return f"Credential({', '.join(self.headers)})"  # the header names, never the values


class AuthProvider(Protocol):
    """What the client needs from a way of authenticating."""

    #: The settings a refusal names, e.g. ("api_key",).
    settings: ClassVar[tuple[str, ...]]

    def current(self) -> Credential:
        """The credential to send now (a service account mints or renews its token here)."""
        ...

    def renew(self, rejected: Credential) -> Credential | None:
        """A fresh credential after JumpCloud refused `rejected` (401); None: none exists."""
        ...

    def secrets(self) -> tuple[str, ...]:
        """Every secret value a message must never show."""
        ...


class ApiKeyAuth:
    """A personal administrator (or legacy) API key, sent as `x-api-key` on every request."""

    settings: ClassVar[tuple[str, ...]] = ("api_key",)

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key
        self._credential = Credential({"x-api-key": api_key})

    def __repr__(self) -> str:
        return "ApiKeyAuth()"

    def current(self) -> Credential:
        """The key: it never changes within a run."""
        return self._credential

    def renew(self, rejected: Credential) -> Credential | None:
        """A refused key cannot be renewed."""
        del rejected
        return None

    def secrets(self) -> tuple[str, ...]:
        """The key."""
        return (self._api_key,)


class ServiceAccountAuth:
    """A service account's access token, minted once per run and shared by every thread.

    The token is reused until `renewal_time` (30 s, or half its lifetime when that is
    shorter, before `expires_in` runs out), then renewed by the first thread that needs it
    while the others wait for the same token. A thread that saw a 401 asks for a renewal with
    the credential it sent: if another thread has already replaced that one, it gets the new
    token without a grant of its own, so a burst of 401s costs one grant.

    A grant that failed for good (refused, or the endpoint down after its retries) is
    remembered: every later request fails with the same error at once instead of asking
    again, so a broken token endpoint is never hammered by every writer in turn.
    """

    settings: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    def __init__(
        self,
        account: ServiceAccount,
        grant: Callable[[], TokenGrant],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.account = account
        self._grant = grant
        self._clock = clock
        self._lock = threading.Lock()
        self._credential: Credential | None = None
        self._failure: Exception | None = None
        self._tokens: list[str] = []
        self._basic = basic_authorization(account.client_id, account.client_secret)
        self.grants = 0  # tokens minted in this run

    def __repr__(self) -> str:
        return f"ServiceAccountAuth(client_id={self.account.client_id!r})"

    def basic_credential(self) -> Credential:
        """The grant's own credential: `Authorization: Basic base64(id:secret)`."""
        return Credential({"Authorization": self._basic})

    def current(self) -> Credential:
        """The fresh token (lock-free), else a renewal shared with the other threads."""
        credential = self._credential
        if credential is not None and self._clock() < credential.renew_at:
            return credential
        return self._renewed(credential, rejected=False)

    def renew(self, rejected: Credential) -> Credential:
        """A token other than `rejected`: the one another thread got meanwhile, or a new one."""
        return self._renewed(rejected, rejected=True)

    def secrets(self) -> tuple[str, ...]:
        """The client secret, the Basic value, and the tokens minted so far.

        Lock-free: the grant's own error messages are scrubbed while the lock is held (the
        list of tokens is replaced whole, never changed in place).
        """
        tokens = self._tokens
        return (self.account.client_secret, self._basic.removeprefix("Basic "), *tokens)

    def _renewed(self, seen: Credential | None, *, rejected: bool) -> Credential:
        with self._lock:
            if self._failure is not None:
                raise self._failure.with_traceback(None)
            current = self._credential
            if (
                current is not None
                and current is not seen
                and (rejected or self._clock() < current.renew_at)
            ):
                return current  # another thread renewed it while this one waited
            minted_at = self._clock()  # before the request: the lifetime counts from here
            try:
                grant = self._grant()
            except Exception as exc:
                self._failure = exc
                raise
            self.grants += 1
            self._tokens = [*self._tokens[-(_KEPT_TOKENS - 1) :], grant.access_token]
            fresh = Credential(
                {"Authorization": f"Bearer {grant.access_token}"},
                renewal_time(minted_at, grant.expires_in),
            )
            self._credential = fresh
            return fresh
