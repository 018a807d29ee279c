"""Strict address parsing and header-value checks.

Python 3.11's email package does not reliably refuse CR, LF or NUL inside header values, so
every value we put in a header passes :func:`check_header_value` first.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from fairwell.errors import InvalidInput
from fairwell.errors import UnsafeHeaderValue as UnsafeHeaderValue

# Bidi overrides and isolates can make a name display as something else (U+202E and friends).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f")
MAX_NAME_LENGTH = 200


# Control characters other than TAB have no place in a header; some mail software reads a
# vertical tab or form feed as a line break.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def check_header_value(value: str) -> str:
    """Return the value unchanged, or raise when it holds CR, LF, NUL or another control
    character (a tab is allowed)."""
    if "\r" in value or "\n" in value or "\0" in value:
        raise UnsafeHeaderValue("header value contains CR, LF or NUL")
    found = _CONTROL.search(value)
    if found:
        raise UnsafeHeaderValue(f"header value contains the control character {found[0]!r}")
    return value


def normalise_address(raw: str) -> str:
    """Parse one address strictly and return the form we send to and compare by.

    The domain is IDNA-encoded (ASCII) so the envelope works without SMTPUTF8, and the whole
    address is lower-cased: two rows that differ only in case are the same person.
    """
    text = raw.strip()
    if not text:
        raise InvalidInput("the address is empty")
    check_header_value(text)
    return _plain_address(text) or _validated(text)


# An address of plain ASCII (RFC 5322 dot-atom before the @, letters, digits, dots and hyphens
# after it), as nearly every address in a file is. email-validator accepts such a local part
# as it stands, whatever the domain, so only its domain needs the library's (costly) checks:
# those are made once per domain. Anything else goes through the library whole.
_ATEXT = r"[A-Za-z0-9_!#$%&'*+\-/=?^`{|}~]+"
_PLAIN_ADDRESS = re.compile(rf"({_ATEXT}(?:\.{_ATEXT})*)@([A-Za-z0-9.\-]+)")
_MAX_ADDRESS_BYTES = 254  # email-validator's limit (RFC 5321), checked on all its forms


def _plain_address(text: str) -> str | None:
    """The normalised form of a plain address whose domain email-validator accepts; None
    sends it to :func:`_validated`, which gives the verdict and the reason."""
    plain = _PLAIN_ADDRESS.fullmatch(text)
    if plain is None:
        return None
    local, domain = plain.groups()
    verdict = _domain_verdict(domain)
    if verdict is None:
        return None
    ascii_domain, longest = verdict
    if len(local) + 1 + longest > _MAX_ADDRESS_BYTES:
        return None
    return f"{local}@{ascii_domain}".lower()


@lru_cache(maxsize=4096)
def _domain_verdict(domain: str) -> tuple[str, int] | None:
    """The domain as email-validator normalises it to IDNA ASCII, with the longest of its
    forms in bytes (as given, in Unicode, in ASCII: the library checks the address's length
    with each, and near the limit says which, so it decides), or None if it refuses it. Its
    checks of the domain do not depend on the part before the @, so one address with a plain
    local part asks for the domain's verdict."""
    from email_validator import EmailNotValidError, validate_email

    try:
        parsed = validate_email(f"a@{domain}", check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    forms = (parsed.domain, parsed.ascii_domain)
    return parsed.ascii_domain, max(len(domain), *(len(form.encode()) for form in forms))


def _validated(text: str) -> str:
    """email-validator's verdict on the whole address, and its normalised form."""
    # Imported here: it compiles its patterns on import (20-40 ms), and most commands start
    # without ever checking an address.
    from email_validator import EmailNotValidError, validate_email

    try:
        parsed = validate_email(text, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"not a single valid address: {error}") from None
    return parsed.ascii_email.lower() if parsed.ascii_email else parsed.normalized.lower()


def clean_name(raw: str, field: str) -> str:
    """Return a display name that is safe in a header and in a letter, or raise InvalidInput."""
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise InvalidInput(f"{field} is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"{field} is longer than {MAX_NAME_LENGTH} characters")
    for char in name:
        if char in _BIDI_CONTROLS:
            raise InvalidInput(f"{field} contains a text-direction control character")
        if unicodedata.category(char) in ("Cc", "Cf") and char not in "\u200d":
            raise InvalidInput(f"{field} contains a control character (U+{ord(char):04X})")
    return name
