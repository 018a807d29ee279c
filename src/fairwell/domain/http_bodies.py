"""What the HTTP edges share about bodies: signatures, reading a JSON body, quoting an answer.

Webhooks in (the vendors' modules in integrations/) and out (services/webhooks_out.py) sign
and check bodies with HMAC-SHA256; an ATS's or a webhook endpoint's answer is quoted, cut
short, in a message. Pure: the standard library only.

A refused webhook is logged by the caller with the vendor and the reason only: never the
body (it carries names and addresses) and never the signature or secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from fairwell.errors import WebhookRefused as WebhookRefused

__all__ = ["QUOTED_CHARS", "WebhookRefused", "digest", "json_object", "same", "short"]

# An error body quoted in a message is cut to this many characters.
QUOTED_CHARS = 200


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


def short(text: str) -> str:
    """One line of at most :data:`QUOTED_CHARS` characters, for quoting an error body."""
    line = " ".join(text.split())
    return line if len(line) <= QUOTED_CHARS else line[:QUOTED_CHARS] + "…"
