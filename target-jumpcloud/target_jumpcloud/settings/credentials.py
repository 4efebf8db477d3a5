"""Which JumpCloud credentials a run uses, as plain values: no HTTP here.

A service account's client id and secret are exchanged for a token by the JumpCloud client
(`jumpcloud/auth.py`); this module only knows which token endpoint belongs to a console URL
and how the grant's Basic header is spelt (the exits scrub that form from messages too).
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

#: JumpCloud's admin OAuth token endpoints, by console region (not the end-user SSO issuer
#: `oauth.id.jumpcloud.com`).
TOKEN_URLS: Final = {
    "US": "https://admin-oauth.id.jumpcloud.com/oauth2/token",
    "EU": "https://admin-oauth.id.eu.jumpcloud.com/oauth2/token",
    "IN": "https://admin-oauth.id.in.jumpcloud.com/oauth2/token",
}
_JUMPCLOUD_DOMAIN: Final = "jumpcloud.com"


def region_of(api_url: str) -> str | None:
    """`US`, `EU` or `IN` for a JumpCloud console URL; None for any other host.

    `console.eu.jumpcloud.com` is EU, `console.in.jumpcloud.com` IN, every other
    `*.jumpcloud.com` host US.
    """
    host = (urlsplit(api_url.strip()).hostname or "").lower().rstrip(".")
    if host != _JUMPCLOUD_DOMAIN and not host.endswith("." + _JUMPCLOUD_DOMAIN):
        return None
    labels = host.removesuffix(_JUMPCLOUD_DOMAIN).rstrip(".").split(".")
    if "eu" in labels:
        return "EU"
    if "in" in labels:
        return "IN"
    return "US"


def default_token_url(api_url: str) -> str | None:
    """The token endpoint of `api_url`'s region; None when `api_url` is not JumpCloud's.

    No default for another host (an emulator, a proxy): the client secret is never sent to
    JumpCloud's real token endpoint for an `api_url` that points elsewhere.
    """
    region = region_of(api_url)
    return TOKEN_URLS[region] if region else None


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The `Authorization: Basic` value of the grant: base64 of `id:secret` (UTF-8).

    The id and secret are sent as they are, as JumpCloud's own clients send them.
    """
    pair = f"{client_id}:{client_secret}".encode()
    return "Basic " + base64.b64encode(pair).decode("ascii")


@dataclass(frozen=True)
class ServiceAccount:
    """A JumpCloud service account's client credentials and its token endpoint."""

    client_id: str
    client_secret: str = field(repr=False)
    token_url: str
