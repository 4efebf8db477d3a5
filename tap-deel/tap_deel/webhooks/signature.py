"""Deel's webhook signature: HMAC-SHA256 over "POST" + the raw body, as lowercase hex.

Checked on the raw bytes before anything parses the body (a re-serialised body would not
match), and compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

HEADER = "x-deel-signature"


def expected_signature(signing_key: str, body: bytes) -> str:
    """The signature Deel sends for `body`: lowercase hex of HMAC-SHA256("POST" + body).

    Args:
        signing_key: The subscription's signing key (its UTF-8 bytes key the HMAC).
        body: The raw request body.

    Returns:
        64 lowercase hex characters.
    """
    return hmac.new(signing_key.encode("utf-8"), b"POST" + body, hashlib.sha256).hexdigest()


def signature_matches(signing_key: str, body: bytes, header: str | None) -> bool:
    """Whether the `x-deel-signature` header is the body's signature under the key.

    Surrounding white space and upper-case hex digits are accepted (Deel's own example reads
    the header that way); a `sha256=` prefix or any other text is not. The comparison takes
    the same time wherever the first difference is.

    Args:
        signing_key: The subscription's signing key.
        body: The raw request body.
        header: The header's value, or None when it was not sent.

    Returns:
        True only for the right signature.
    """
    if not header:
        return False
    given = header.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected_signature(signing_key, body).encode("ascii"), given)
