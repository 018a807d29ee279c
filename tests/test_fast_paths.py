"""Fast paths give exactly the answers of the plain computations they replace."""

from __future__ import annotations

import unicodedata
from email.utils import formataddr

from hypothesis import given
from hypothesis import strategies as st

from fairwell.domain.mime import Mailbox
from fairwell.guard.privacy import _PIECE_BREAK, ParsedLetter, unrendered_placeholder
from fairwell.guard.privacy import _PLACEHOLDERS as PLACEHOLDERS
from fairwell.guard.roster import _fold_short, fold

# Letters, white space of every kind, combining marks, case pairs that fold to two letters
# ("ß", "ﬁ"), and the characters placeholders and identifiers are made of.
SPECIAL = ["é", "e\u0301", "\u0301", "ß", "ﬁ", "İ", "Σ", "ς", "Å", "A\u030a", "\u2063"]
ALPHABET = st.sampled_from(
    [*"aAzZ @.-_{}%[]$\t\n\r\x00\x0b\x0c\x1c\x1f\x85\xa0\u2028\u3000", *SPECIAL]
)
TEXT = st.lists(ALPHABET, max_size=40).map("".join)


def plain_fold(text: str) -> str:
    """What fold() was before its ASCII shortcut."""
    return " ".join(unicodedata.normalize("NFC", text).casefold().split())


@given(TEXT)
def test_fold_takes_a_shortcut_only_where_it_changes_nothing(text: str) -> None:
    assert fold(text) == plain_fold(text)
    assert _fold_short(text) == plain_fold(text)


@given(st.lists(TEXT, max_size=6), st.lists(TEXT, max_size=3))
def test_the_letter_folded_piece_by_piece_is_the_whole_text_folded(
    values: list[str], parts: list[str]
) -> None:
    letter = ParsedLetter(
        raw=b"",
        headers=[("X-Header", value) for value in values],
        parts=[("text/plain", text) for text in parts],
    )
    assert letter.all_text() == _PIECE_BREAK.join([*values, *parts])
    assert letter.folded_text() == plain_fold(letter.all_text())
    for index, (_, text) in enumerate(letter.parts):
        assert letter.words_of_part(index) - {""} == set(text.casefold().split())


@given(TEXT)
def test_a_placeholder_is_found_with_or_without_the_quick_look(text: str) -> None:
    found = PLACEHOLDERS.search(text)
    assert unrendered_placeholder(text) == (found.group(0) if found else None)


@given(
    st.text(st.sampled_from([*"Ann Lee-O'Brien.,;:<>@()[]\\\"", "ü", "é", "\u00a0"]), max_size=20)
)
def test_a_mailbox_header_is_what_formataddr_makes(name: str) -> None:
    mailbox = Mailbox("ann.lee@example.com", name)
    assert mailbox.header() == formataddr((name, "ann.lee@example.com"), charset="utf-8")
