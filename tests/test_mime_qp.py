"""Quoted-printable one line at a time gives exactly the bytes of encoding the whole text."""

from __future__ import annotations

import binascii

from hypothesis import given, settings
from hypothesis import strategies as st

from fairwell.domain.mime import _quoted_printable


def whole_text(text: str) -> bytes:
    """The encoding as it was: the whole text in one b2a_qp call."""
    unix_text = text.replace("\r\n", "\n").replace("\r", "\n")
    return binascii.b2a_qp(unix_text.encode("utf-8"), istext=True).replace(b"\n", b"\r\n")


# The characters b2a_qp treats apart (line ends, "=", ".", white space, NUL, controls, bytes
# over 126) and plain ones, in runs long enough to cross the 76-character soft line break.
PIECES = st.sampled_from(
    ["\n", "\r", "\r\n", "=", ".", " ", "\t", "\0", "\x7f", "\x1b", "é", "€", "a", "b", "<p>"]
)
RUNS = st.builds(lambda char, count: char * count, st.sampled_from("ax. =é"), st.integers(0, 90))


@settings(max_examples=1000)
@given(st.lists(st.one_of(PIECES, RUNS), max_size=40))
def test_line_by_line_is_the_whole_text_encoding(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert _quoted_printable(text) == whole_text(text)


@given(st.text(max_size=300))
def test_any_text(text: str) -> None:
    try:
        expected = whole_text(text)
    except UnicodeEncodeError:  # a lone surrogate: neither can encode it
        return
    assert _quoted_printable(text) == expected


def test_edges() -> None:
    for text in ["", "\n", ".", ".\n", "a \n", "a ", "a\t", "x" * 76, "x" * 77, "x" * 75 + "=\n"]:
        assert _quoted_printable(text) == whole_text(text), repr(text)
        assert _quoted_printable(text) == whole_text(text), repr(text)  # cached
