"""Error types and messages for Deel's answers. Messages never carry a response body or token."""

from __future__ import annotations

from http import HTTPStatus

from singer_sdk.exceptions import FatalAPIError

TOKEN_SETTING = "api_token"  # noqa: S105 -- the name of a setting, not a secret
TOKEN_ENV_VAR = "TAP_DEEL_API_TOKEN"  # noqa: S105 -- the name of a variable


class DeelAccessError(FatalAPIError):
    """Deel refused the token (401) or a scope the stream needs (403); retrying cannot help."""


class PersonNotFoundError(FatalAPIError):
    """Deel answered 404 for one person (setting `person_ids`): deleted, or not visible."""


def _reason(status: int, reason: str | None) -> str:
    if reason:
        return reason
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


def unauthorized_message(method: str, path: str) -> str:
    """The message for a 401: the token itself was refused.

    Args:
        method: HTTP method of the request.
        path: URL path of the request (no query, no host).

    Returns:
        A one-line message that names the `api_token` setting.
    """
    return (
        f"Deel answered 401 Unauthorized to {method} {path}: the {TOKEN_SETTING} setting is "
        f"missing, wrong, expired or revoked. Check {TOKEN_SETTING} ({TOKEN_ENV_VAR})."
    )


def forbidden_message(method: str, path: str, stream: str, scope: str) -> str:
    """The message for a 403: the token lacks the scope a stream needs.

    Args:
        method: HTTP method of the request.
        path: URL path of the request.
        stream: The stream being synced.
        scope: The Deel scope that stream needs, e.g. `contracts:read`.

    Returns:
        A one-line message that names the missing scope.
    """
    return (
        f"Deel answered 403 Forbidden to {method} {path}: the {TOKEN_SETTING} lacks the "
        f"{scope} scope that stream '{stream}' needs. Add {scope} to the token, or deselect "
        f"the '{stream}' stream."
    )


def http_error_message(status: int, reason: str | None, method: str, path: str, stream: str) -> str:
    """The message for any other error status (4xx not retried, 429 and 5xx retried).

    Args:
        status: HTTP status code.
        reason: The status line's reason phrase, if any.
        method: HTTP method of the request.
        path: URL path of the request.
        stream: The stream being synced.

    Returns:
        A one-line message without the response body (it can carry people's data).
    """
    return (
        f"Deel answered {status} {_reason(status, reason)} to {method} {path} (stream '{stream}')"
    )
