"""JumpCloud over HTTP: one keep-alive session, credentials, retries, refusals, scrubbed messages.

Every API module (users, scheduled states, groups) sends through `Transport._request`, so the
retry policy, the 401-renews-once rule and the scrubbing of secrets are written once.
"""

from __future__ import annotations

import logging
import random
import time
from typing import TYPE_CHECKING, Any, Final, TypeVar
from urllib.parse import urlsplit

import msgspec
import requests
from requests.adapters import HTTPAdapter

from target_jumpcloud.jumpcloud.auth import (
    GRANT_FORM,
    ApiKeyAuth,
    ServiceAccountAuth,
    TokenGrant,
    TokenResponseError,
    read_token_response,
)
from target_jumpcloud.jumpcloud.errors import (
    AuthenticationError,
    JumpCloudError,
    TokenUnavailableError,
    UnknownOutcomeError,
)
from target_jumpcloud.jumpcloud.request_counts import API_OAUTH, API_V1, RequestCounts, api_of_path
from target_jumpcloud.jumpcloud.retries import (
    BACKOFF_CAP_SECONDS,
    MIN_ATTEMPTS,
    RETRY_BUDGET_SECONDS,
    RetryBudget,
    RetryPolicy,
    backoff_scale,
    parse_retry_after,
)
from target_jumpcloud.jumpcloud.session import ApiSession
from target_jumpcloud.settings.sync_settings import require_secure_url

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from target_jumpcloud.jumpcloud.auth import AuthProvider, Credential
    from target_jumpcloud.settings.credentials import ServiceAccount


logger = logging.getLogger("target-jumpcloud.client")
T = TypeVar("T")

PAGE_SIZE: Final = 100  # JumpCloud's documented maximum `limit` on list endpoints
_MESSAGE_LIMIT: Final = 300  # JumpCloud's `message` is cut to this many characters
_RETRY_STATUSES: Final = frozenset({429, 500, 502, 503, 504})
_HTTP_TOO_MANY: Final = 429
_HTTP_SERVER_ERROR: Final = 500
HTTP_BAD_REQUEST: Final = 400
_HTTP_UNAUTHORIZED: Final = 401
_HTTP_FORBIDDEN: Final = 403
HTTP_NOT_FOUND: Final = 404
_TRANSPORT_ERRORS: Final = (requests.ConnectionError, requests.Timeout)


#: OAuth error codes of a token endpoint that mean: these client credentials are refused.
_REFUSED_CLIENT: Final = frozenset({"invalid_client", "invalid_grant", "unauthorized_client"})
_FORM_HEADERS: Final = {
    "Content-Type": "application/x-www-form-urlencoded",
    "x-org-id": None,  # (None removes the session's header: the token endpoint needs none)
}


decode_json = msgspec.json.Decoder().decode


def suffix(api_message: str | None) -> str:
    """JumpCloud's short message as the tail of one of our messages ("" when none)."""
    return f": {api_message}" if api_message else ""


def _transport_reason(exc: Exception) -> str:
    """A one-line reason for a transport error, without the long urllib3 chain."""
    if isinstance(exc, requests.Timeout):
        return "timed out"
    return "connection failed or was dropped"


def list_body(body: Any, what: str) -> tuple[list[dict[str, Any]], int | None]:  # noqa: ANN401
    """`{totalCount, results}` → (results, totalCount); a different shape is an error."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise JumpCloudError(f"{what}: unexpected response (no `results` list)")
    results = [item for item in body["results"] if isinstance(item, dict)]
    total = body.get("totalCount")
    return results, total if isinstance(total, int) and not isinstance(total, bool) else None


class Transport:
    """JumpCloud's V1 system-user API over one keep-alive `requests.Session`.

    Retries 429, 5xx, dropped connections and timeouts with capped exponential backoff (with
    jitter) for up to `retry_budget` seconds per request (and at least `min_attempts` times),
    and honours `Retry-After`; never retries any other 4xx. Thread-safe for the
    applier's worker threads: the session's pool holds `pool_size` connections.

    Authenticates with `api_key` or with `service_account` (exactly one); the token grant
    goes through the same retry policy. `clock` is the service account's clock (tests).
    """

    def __init__(
        self,
        api_url: str,
        api_key: str | None = None,
        org_id: str | None = None,
        *,
        service_account: ServiceAccount | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
        retry_budget: float = RETRY_BUDGET_SECONDS,
        min_attempts: int = MIN_ATTEMPTS,
        backoff_base: float = 1.0,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
        retry_after_cap: float = 120.0,
        pool_size: int = 8,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.api_url = require_secure_url(api_url, "api_url")  # before any connection
        self._service_account = service_account
        self._auth: AuthProvider
        if service_account is not None and api_key:
            raise AuthenticationError(
                "both an API key and a service account given; set either `api_key` or "
                "`client_id` and `client_secret`",
                setting="api_key",
            )
        if service_account is not None:
            require_secure_url(service_account.token_url, "token_url")  # before any connection
            self._auth = ServiceAccountAuth(service_account, self._grant_token, clock=clock)
        elif api_key:
            self._auth = ApiKeyAuth(api_key)
        else:
            raise AuthenticationError(
                "no credentials given; set `api_key`, or `client_id` and `client_secret`",
                setting="api_key",
            )
        self.org_id = org_id or None
        self.timeout = timeout
        self.retry_policy = RetryPolicy(
            base=backoff_base,
            cap=backoff_cap,
            retry_after_cap=retry_after_cap,
            budget=retry_budget,
            min_attempts=max(1, min_attempts),
        ).scaled(backoff_scale())  # (1.0 unless the test knob is set)
        self._sleep = sleep
        #: Every request sent, by API and method (the metrics file's `requests`).
        self.request_counts = RequestCounts()
        # The first page of the user list, fetched early as the key check (see
        # `start_user_listing`): (query, (users, totalCount)).
        self._first_page: tuple[dict[str, Any], tuple[list[dict[str, Any]], int | None]] | None
        self._first_page = None
        self._random = random.Random()  # noqa: S311 - jitter, not security
        self.session = ApiSession()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(1, pool_size), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self.session.headers.update(
            {
                "Accept": "application/json",
                "Content-Type": "application/json",
                "User-Agent": "target-jumpcloud",
            }
        )
        if self.org_id:
            self.session.headers["x-org-id"] = self.org_id

    def __repr__(self) -> str:
        return f"JumpCloudClient(api_url={self.api_url!r}, org_id={self.org_id!r})"

    @property
    def credential_label(self) -> str:
        """What authenticates this client, for log lines: "API key" or "service account"."""
        return "service account" if self._service_account is not None else "API key"

    @property
    def grants(self) -> int:
        """Access tokens minted so far in this run (0 with an API key)."""
        return self._auth.grants if isinstance(self._auth, ServiceAccountAuth) else 0

    def retry_budget(self) -> RetryBudget:
        """A new request's retries (see `retries.py`); a create's re-sends share its first's."""
        return RetryBudget(self.retry_policy, rng=self._random, sleep=self._sleep)

    def close(self) -> None:
        """Release the pooled connections."""
        self.session.close()

    def _all_pages(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        *,
        body: Mapping[str, Any] | None = None,
    ) -> list[dict[str, Any]]:
        """Every page of a (small) filtered list; a search is a read, so retries are safe."""
        users: list[dict[str, Any]] = []
        skip = 0
        while True:
            page = {**params, "limit": PAGE_SIZE, "skip": skip}
            answer = self._request(method, path, params=page, json_body=body)
            results, total = list_body(answer, f"{method} {path}")
            users.extend(results)
            skip += len(results)
            if len(results) < PAGE_SIZE or (total is not None and skip >= total):
                return users

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        read: Callable[[requests.Response], Any] | None = None,
        budget: RetryBudget | None = None,
    ) -> Any:  # noqa: ANN401 - decoded JSON
        """Send one API request with the retry policy; return the decoded JSON body.

        `read`, when given, reads a successful response instead of `_decode`. Each attempt
        carries the provider's current credential; a 401 renews a service account's token
        once and repeats the request (see `_send`). `budget`: the retries of a request that
        started earlier (a create sent again after a look-up); by default a new one.
        """
        return self._send(
            method,
            self.api_url + path,
            f"{method} {path}",
            self._auth.current,
            params=params,
            json_body=json_body,
            idempotent=idempotent,
            read=read,
            renew=True,
            api=api_of_path(path),
            budget=budget,
        )

    def _send(
        self,
        method: str,
        url: str,
        what: str,
        credential: Callable[[], Credential],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        read: Callable[[requests.Response], Any] | None = None,
        form: Mapping[str, str] | None = None,
        refusal: Callable[[str, int, str | None], JumpCloudError] | None = None,
        renew: bool = False,
        api: str = API_V1,
        budget: RetryBudget | None = None,
    ) -> Any:  # noqa: ANN401 - decoded JSON
        """One request to `url` under the retry policy; `credential()` authenticates each attempt.

        Taking the credential per attempt means a retry after a long wait carries the token
        of that moment, not one that went stale meanwhile. With `renew`, a 401 asks the
        provider for a new credential once and sends again at once (JumpCloud refused the
        request before doing anything, so even a create is safe to repeat); a second 401 is
        the refusal. `form` sends a form body instead of JSON (the token grant); `refusal`
        builds the error of a non-retried 4xx (default: the API's, see `_refusal`).
        A non-idempotent request whose outcome is unknown raises `UnknownOutcomeError` at
        once: its caller looks first, then sends again under the same `budget`.
        """
        retries = budget or self.retry_budget()
        renewed = False
        while True:
            sent = credential()
            self.request_counts.count(api, method)
            try:
                response = self._send_once(method, url, sent, params, json_body, form)
            except _TRANSPORT_ERRORS as exc:
                reason = self._scrub(_transport_reason(exc))
                if not idempotent:
                    raise UnknownOutcomeError(
                        f"{what}: {reason}; the request may have been processed"
                    ) from None
                delay = retries.next_delay()
                if delay is None:
                    raise JumpCloudError(f"{what}: {reason} ({retries.gave_up()})") from None
                logger.warning("%s: %s; retrying in %.1fs", what, reason, delay)
            else:
                status = response.status_code
                if status < HTTP_BAD_REQUEST:
                    return self._decode(response, what) if read is None else read(response)
                if status == _HTTP_UNAUTHORIZED and renew and not renewed:
                    renewed = self._auth.renew(sent) is not None
                    if renewed:
                        logger.info("%s: the access token was refused (HTTP 401); renewed it", what)
                        continue
                api_message = self._api_message(response)
                if status not in _RETRY_STATUSES:
                    raise (refusal or self._refusal)(what, status, api_message)
                if not idempotent and status != _HTTP_TOO_MANY:
                    raise UnknownOutcomeError(
                        f"{what}: HTTP {status}{suffix(api_message)}; "
                        "the request may have been processed",
                        status=status,
                        api_message=api_message,
                    )
                delay = retries.next_delay(parse_retry_after(response.headers.get("Retry-After")))
                if delay is None:
                    raise JumpCloudError(
                        f"{what}: HTTP {status}{suffix(api_message)} ({retries.gave_up()})",
                        status=status,
                        api_message=api_message,
                    )
                logger.warning("%s: HTTP %s; retrying in %.1fs", what, status, delay)
            retries.pause(delay)

    def _send_once(  # noqa: PLR0917 - the request's parts
        self,
        method: str,
        url: str,
        sent: Credential,
        params: Mapping[str, Any] | None,
        json_body: Mapping[str, Any] | None,
        form: Mapping[str, str] | None,
    ) -> requests.Response:
        """One attempt; a GET (a list page, mostly) by the session's lean path."""
        if method == "GET" and json_body is None and form is None:
            return self.session.get_page(url, params=params, auth=sent, timeout=self.timeout)
        return self.session.request(
            method,
            url,
            params=params,
            json=json_body,
            data=form,
            headers=_FORM_HEADERS if form is not None else None,
            auth=sent,
            timeout=self.timeout,
        )

    def _grant_token(self) -> TokenGrant:
        """Mint an access token: the client-credentials grant, retried as any API read.

        Called by the auth provider, one grant at a time. A grant is safe to repeat (a
        second token costs nothing), so 429, 5xx and dropped connections are retried.

        Raises:
            AuthenticationError: The token endpoint refused the grant (exit 3).
            TokenUnavailableError: It could not be reached, or kept failing (exit 6).
        """
        account = self._service_account
        assert account is not None  # noqa: S101 - only the service account's provider calls it
        assert isinstance(self._auth, ServiceAccountAuth)  # noqa: S101
        parts = urlsplit(account.token_url)
        what = f"POST {parts.hostname}{parts.path}"
        basic = self._auth.basic_credential()
        logger.debug("%s: requesting an access token for the service account", what)
        try:
            grant: TokenGrant = self._send(
                "POST",
                account.token_url,
                what,
                lambda: basic,
                form=GRANT_FORM,
                read=lambda response: self._read_grant(response, what),
                refusal=self._grant_refusal,
                api=API_OAUTH,
            )
        except AuthenticationError:
            raise
        except JumpCloudError as exc:
            raise TokenUnavailableError(
                f"Could not get an access token for the service account: {exc}"
            ) from None
        logger.info("Got an access token for the service account (valid %.0f s)", grant.expires_in)
        return grant

    def _read_grant(self, response: requests.Response, what: str) -> TokenGrant:
        """The token in a successful grant's answer; anything else names `token_url`."""
        try:
            return read_token_response(response.json())
        except (ValueError, TokenResponseError) as exc:
            reason = str(exc) if isinstance(exc, TokenResponseError) else "not JSON"
            raise AuthenticationError(
                f"{what}: HTTP {response.status_code}, but {reason}; check the setting "
                "`token_url` (it must be JumpCloud's admin OAuth token endpoint)",
                setting="token_url",
                status=response.status_code,
            ) from None

    def _grant_refusal(self, what: str, status: int, api_message: str | None) -> JumpCloudError:
        """The error of a refused grant: the client pair, the role, or the token URL."""
        if status == _HTTP_UNAUTHORIZED or (
            status == HTTP_BAD_REQUEST and api_message in _REFUSED_CLIENT
        ):
            return AuthenticationError(
                f"JumpCloud refused the service account's credentials (HTTP {status}"
                f"{suffix(api_message)}); check the settings `client_id` and `client_secret` "
                "(the secret may have expired or been rotated, or the service account "
                "removed)",
                setting="client_id",
                status=status,
                api_message=api_message,
            )
        if status == _HTTP_FORBIDDEN:
            return AuthenticationError(
                f"{what}: JumpCloud refused the service account a token (HTTP 403"
                f"{suffix(api_message)}); check its role and the settings `client_id` and "
                "`client_secret`",
                setting="client_id",
                status=status,
                api_message=api_message,
            )
        return AuthenticationError(
            f"{what}: the token endpoint answered HTTP {status}{suffix(api_message)}; check "
            "the setting `token_url` (it must be JumpCloud's admin OAuth token endpoint)",
            setting="token_url",
            status=status,
            api_message=api_message,
        )

    def _refusal(self, what: str, status: int, api_message: str | None) -> JumpCloudError:
        """The exception for a non-retried 4xx; 401/403 name the setting to fix."""
        service_account = self._service_account is not None
        if status == _HTTP_UNAUTHORIZED:
            if service_account:
                message = (
                    f"JumpCloud rejected the service account's access token (HTTP 401"
                    f"{suffix(api_message)}), a freshly granted one too; check the settings "
                    "`client_id` and `client_secret`"
                    + (
                        " and `org_id`"
                        if self.org_id
                        else " (a multi-tenant account also needs `org_id`)"
                    )
                )
                setting = "client_id"
            else:
                hint = (
                    "check the settings `api_key` and `org_id`"
                    if self.org_id
                    else "check the setting `api_key` (a multi-tenant key also needs `org_id`)"
                )
                message = f"JumpCloud rejected the API key (HTTP 401{suffix(api_message)}); {hint}"
                setting = "api_key"
            return AuthenticationError(
                message, setting=setting, status=status, api_message=api_message
            )
        if status == _HTTP_FORBIDDEN:
            setting = "org_id" if self.org_id else self._auth.settings[0]
            holder = "the service account's role" if service_account else "the key"
            return AuthenticationError(
                f"{what}: JumpCloud refused access (HTTP 403{suffix(api_message)}); "
                f"check the permissions of {holder} and the setting `{setting}`",
                setting=setting,
                status=status,
                api_message=api_message,
            )
        return JumpCloudError(
            f"{what}: HTTP {status}{suffix(api_message)}", status=status, api_message=api_message
        )

    def _api_message(self, response: requests.Response) -> str | None:
        """JumpCloud's `message` (or `error`) field, shortened and scrubbed; never the body."""
        try:
            body = response.json()
        except ValueError:
            return None
        if not isinstance(body, dict):
            return None
        message = body.get("message") or body.get("error")
        if not isinstance(message, str) or not message.strip():
            return None
        text = " ".join(message.split())
        if len(text) > _MESSAGE_LIMIT:
            text = text[: _MESSAGE_LIMIT - 3] + "..."
        return self._scrub(text)

    def _decode(self, response: requests.Response, what: str) -> Any:  # noqa: ANN401
        """The JSON body of a success; an unreadable one is an error, not a crash.

        Parsed by msgspec (a page of users in a third of the time); whatever it refuses goes
        to `requests`' own parser, which has the last word.
        """
        if not response.content:
            return None
        try:
            return decode_json(response.content)
        except (msgspec.DecodeError, RecursionError):
            pass
        try:
            return response.json()
        except ValueError:
            raise JumpCloudError(
                f"{what}: HTTP {response.status_code} with a body that is not JSON",
                status=response.status_code,
            ) from None

    def _scrub(self, text: str) -> str:
        """Remove every secret (key, client secret, tokens) from a message, whatever made it."""
        for secret in self._auth.secrets():
            if secret:
                text = text.replace(secret, "***")
        return text
