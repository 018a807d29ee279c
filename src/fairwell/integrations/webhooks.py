"""What the vendors' webhook modules share: the refusal, and reading a JSON body.

A refused webhook is logged by the caller with the vendor and the reason only: never the
body (it carries names and addresses) and never the signature or secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fairwell.errors import WebhookRefused as WebhookRefused

__all__ = ["WebhookRefused", "digest", "json_object", "same"]


def digest(key: str, message: bytes) -> str:
    """HMAC-SHA256 of ``message`` under ``key``, as lower-case hex."""
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def same(expected: str, given: str) -> bool:
    """Compare signatures in constant time (a timing difference would leak the right one)."""
    return hmac.compare_digest(
        expected.encode("ascii", "replace"), given.encode("ascii", "replace")
    )


def json_object(body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRefused("the body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookRefused("the body is not a JSON object")
    return value
