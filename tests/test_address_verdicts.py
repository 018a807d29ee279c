"""normalise_address decides plain addresses with one email-validator call per domain: its
verdicts and normalised forms must be the library's own, address for address.

The reference is ``_validated``: the library asked about the whole address, as every address
was checked before the per-domain path existed.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fairwell.domain import addresses
from fairwell.domain.addresses import normalise_address
from fairwell.errors import InvalidInput


def _outcome(check: object, text: str) -> tuple[str, str]:
    assert callable(check)
    try:
        return ("ok", check(text))
    except InvalidInput as error:
        return ("refused", str(error))


def _reference(text: str) -> tuple[str, str]:
    """What the library alone says (after the same strip and header check)."""
    stripped = text.strip()
    if not stripped:
        return _outcome(normalise_address, text)  # empty: refused before any library call
    try:
        addresses.check_header_value(stripped)
    except InvalidInput as error:
        return ("refused", str(error))
    return _outcome(addresses._validated, stripped)


LONG_LABEL = "a" * 63
# Domains the library accepts, refuses for many reasons, or normalises (IDNA, case).
DOMAINS = [
    "example.com",
    "EXAMPLE.COM",
    "mail.example.co.uk",
    "xn--bcher-kva.de",
    "bücher.de",
    "localhost",
    "a.localhost",
    "host.invalid",
    "x.test",
    "foo.local",
    "onion",
    "1.2.3.4",
    "example.123",
    "-bad.com",
    "bad-.com",
    "a..com",
    ".com",
    "com.",
    "com",
    "under_score.com",
    "xn--zz.com",
    f"{LONG_LABEL}.com",
    f"{LONG_LABEL}a.com",
    ".".join([LONG_LABEL] * 3) + ".com",
    ".".join([LONG_LABEL] * 4) + ".com",
    "[127.0.0.1]",
    "",
]
LOCALS = [
    "a",
    "Ann.Lee",
    "o'brien",
    "x+tag",
    "!#$%&'*+-/=?^_`{|}~",
    "a..b",
    ".a",
    "a.",
    '"quoted"',
    '"a b"',
    "jörg",
    "a b",
    "",
    "INFO",
    "Postmaster",
    "l" * 64,
    "l" * 65,
    "l" * 180,
]

# Characters that matter to an address's syntax, and some that only look as if they might.
ALPHABET = st.sampled_from(
    [*"abcXYZ09.-_+'\"@<>()[]\\ ,;:!#%/=?^`{|}~", "é", "ü", "\u0301", "\u0338", "＠", "．"]
)


@pytest.mark.parametrize("domain", DOMAINS)
@pytest.mark.parametrize("local", LOCALS)
def test_the_table_of_local_parts_and_domains(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    assert _outcome(normalise_address, text) == _reference(text)


@pytest.mark.parametrize("size", range(240, 258))
def test_lengths_around_the_limit(size: int) -> None:
    """The library says which form of the address is too long: the plain path never guesses."""
    domain = ".".join([LONG_LABEL, LONG_LABEL, "example", "com"])
    for tail in ("example.com", domain, "xn--bcher-kva.de"):
        text = "l" * max(1, size - len(tail) - 1) + "@" + tail
        assert _outcome(normalise_address, text) == _reference(text)


@settings(max_examples=400, deadline=None)
@given(local=st.text(ALPHABET, max_size=12), domain=st.sampled_from(DOMAINS))
def test_any_local_part_with_known_domains(local: str, domain: str) -> None:
    text = f"{local}@{domain}"
    assert _outcome(normalise_address, text) == _reference(text)


@settings(max_examples=400, deadline=None)
@given(text=st.text(ALPHABET, max_size=24))
def test_any_text(text: str) -> None:
    assert _outcome(normalise_address, text) == _reference(text)


@settings(max_examples=200, deadline=None)
@given(
    local=st.from_regex(r"[A-Za-z0-9.+_-]{1,20}", fullmatch=True),
    labels=st.lists(st.from_regex(r"[A-Za-z0-9-]{0,8}", fullmatch=True), min_size=1, max_size=4),
)
def test_plain_looking_addresses(local: str, labels: list[str]) -> None:
    text = f"{local}@{'.'.join(labels)}"
    assert _outcome(normalise_address, text) == _reference(text)


def test_a_domain_is_asked_about_once() -> None:
    addresses._domain_verdict.cache_clear()
    for number in range(50):
        normalise_address(f"person.{number}@Once.Example.org")
    assert addresses._domain_verdict.cache_info().misses == 1
