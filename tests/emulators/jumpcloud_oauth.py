"""JumpCloud's admin OAuth token endpoint for service accounts, as the JumpCloud emulator serves it.

The real endpoint lives on its own host (`admin-oauth.id.jumpcloud.com/oauth2/token`); the
emulator serves it at `/oauth2/token` on its own port, so a test sets `token_url` to
`http://127.0.0.1:<port>/oauth2/token`. What is known of it (see docs/service-accounts.md) is
served strictly, so that a client that passes here also passes against the real one:

* `POST`, `application/x-www-form-urlencoded`, body `grant_type=client_credentials&scope=api`;
  the client authenticates with HTTP Basic only (`client_secret_basic`): credentials in the
  body are refused, as JumpCloud's PowerShell module reports.
* A wrong or unknown pair, or a revoked service account: 401 `{"error": "invalid_client"}`
  with `WWW-Authenticate: Basic`. Another grant type: 400 `unsupported_grant_type`; another
  scope: 400 `invalid_scope` (RFC 6749 docs/sync-rules.md error bodies).
* Success: `{"access_token", "token_type": "bearer", "expires_in", "scope": "api"}` (the real
  casing of `token_type` is unknown: lower case makes a client that compares it exactly fail).

A token is accepted as `Authorization: Bearer <token>` on every API route until `expires_in`
has passed (by this process's monotonic clock), `expire_all()` is called, or its service
account is revoked; then the API answers 401. Nothing here stores or logs a secret in clear:
client secrets are kept as given only to compare them, the request log holds no headers.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qs

from tests.emulators.base import Request, Response

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

TOKEN_PATH = "/oauth2/token"
DEFAULT_TOKEN_LIFETIME = 3600.0  # seconds: what JumpCloud's tokens live (about an hour)
TOKEN_PREFIX = "jc-emulator-token"  # the start of each granted token
_FORM = "application/x-www-form-urlencoded"
_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="jumpcloud-admin-oauth"'}


def oauth_error(status: int, error: str, description: str) -> Response:
    """An RFC 6749 docs/sync-rules.md error answer."""
    headers = dict(_BASIC_CHALLENGE) if status == 401 else {}
    return Response(status, {"error": error, "error_description": description}, headers)


@dataclass
class _Token:
    client_id: str
    expires_at: float  # monotonic seconds


class TokenAuthority:
    """The service accounts, the tokens they were granted, and the token endpoint's route.

    Thread-safe: the emulator's server answers each connection in a thread of its own.
    """

    def __init__(
        self,
        *,
        lifetime: float = DEFAULT_TOKEN_LIFETIME,
        token_prefix: str = TOKEN_PREFIX,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lifetime = lifetime  # the `expires_in` of the next grants (seconds)
        self.token_prefix = token_prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._clients: dict[str, bytes] = {}
        self._tokens: dict[str, _Token] = {}
        self._issued: list[str] = []
        self.grants_by_client: Counter[str] = Counter()
        #: The header names (never values) of each token request, lower case, in order.
        self.request_headers: list[frozenset[str]] = []

    # -- Python-side API for tests --------------------------------------------------------------

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register a service account (or give an existing one a new secret)."""
        if not client_id or ":" in client_id:
            raise ValueError("a client id is non-empty and has no colon")
        with self._lock:
            self._clients[client_id] = client_secret.encode()

    def revoke_client(self, client_id: str) -> None:
        """Delete a service account: its pair is refused and its tokens stop working."""
        with self._lock:
            self._clients.pop(client_id, None)
            for token in [t for t, found in self._tokens.items() if found.client_id == client_id]:
                del self._tokens[token]

    def expire_all(self) -> int:
        """Every token granted so far expires now (JumpCloud refuses them with 401)."""
        with self._lock:
            now = self._clock()
            for token in self._tokens.values():
                token.expires_at = min(token.expires_at, now)
            return len(self._tokens)

    @property
    def grants(self) -> int:
        """Tokens granted since the last `reset_counts`."""
        with self._lock:
            return sum(self.grants_by_client.values())

    def issued_tokens(self) -> list[str]:
        """Every token ever granted, in order (for leak scans of a client's output)."""
        with self._lock:
            return list(self._issued)

    def reset_counts(self) -> None:
        """Forget the grant counts and the token requests' headers (tokens stay valid)."""
        with self._lock:
            self.grants_by_client.clear()
            self.request_headers.clear()

    def bearer_refusal(self, authorization: str) -> str | None:
        """Why an `Authorization` header's token is refused (an API 401 message), or None."""
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return "Unauthorized"
        with self._lock:
            found = self._tokens.get(token.strip())
            if found is None:
                return "Unauthorized"
            if self._clock() >= found.expires_at:
                return "Unauthorized: the access token has expired"
        return None

    # -- the route ----------------------------------------------------------------------------

    def grant(self, request: Request) -> Response:
        """`POST /oauth2/token`: the client-credentials grant, Basic client auth only."""
        with self._lock:
            self.request_headers.append(frozenset(request.headers))
        content_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        if content_type != _FORM:
            return oauth_error(400, "invalid_request", f"the body must be {_FORM}")
        form = parse_qs(request.body.decode("utf-8", "replace"), keep_blank_values=True)
        if "client_secret" in form or "client_id" in form:
            return oauth_error(
                401, "invalid_client", "client authentication must use HTTP Basic only"
            )
        client_id = self._basic_client(request.headers.get("authorization", ""))
        if client_id is None:
            return oauth_error(401, "invalid_client", "client authentication failed")
        if form.get("grant_type") != ["client_credentials"]:
            return oauth_error(400, "unsupported_grant_type", "only client_credentials")
        if form.get("scope") != ["api"]:
            return oauth_error(400, "invalid_scope", "the scope must be api")
        token = f"{self.token_prefix}-{secrets.token_hex(16)}"
        with self._lock:
            lifetime = self.lifetime
            self._tokens[token] = _Token(client_id, self._clock() + lifetime)
            self._issued.append(token)
            self.grants_by_client[client_id] += 1
        expires_in: float | int = int(lifetime) if float(lifetime).is_integer() else lifetime
        return Response(
            200,
            {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": expires_in,
                "scope": "api",
            },
            {"Cache-Control": "no-store"},
        )

    def _basic_client(self, authorization: str) -> str | None:
        """The client id of a valid `Authorization: Basic` pair, else None."""
        scheme, _, encoded = authorization.strip().partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            pair = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return None
        client_id, colon, secret = pair.partition(b":")
        if not colon:
            return None
        name = client_id.decode("utf-8", "replace")
        with self._lock:
            wanted = self._clients.get(name)
        if wanted is None or not hmac.compare_digest(secret, wanted):
            return None
        return name

    # -- control routes (the demo drives them over HTTP) ----------------------------------------

    def control(self, spec: Mapping[str, object]) -> dict[str, object]:
        """Apply `{"add": {id: secret}, "revoke": [id], "expire": true, "lifetime": s}`."""
        added = spec.get("add") or {}
        if not isinstance(added, dict):
            raise TypeError("add: expected an object of client id to secret")
        for client_id, secret in added.items():
            self.add_client(str(client_id), str(secret))
        revoked = spec.get("revoke") or []
        if not isinstance(revoked, list):
            raise TypeError("revoke: expected a list of client ids")
        for client_id in revoked:
            self.revoke_client(str(client_id))
        if "lifetime" in spec:
            lifetime = spec["lifetime"]
            if isinstance(lifetime, bool) or not isinstance(lifetime, (int, float)):
                raise TypeError("lifetime: expected seconds")
            self.lifetime = float(lifetime)
        expired = self.expire_all() if spec.get("expire") else 0
        return {"ok": True, "expired": expired, "grants": self.grants}
