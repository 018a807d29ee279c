"""The guard's speed paths give exactly the answers of the plain computations they replace.

Each plain computation is written out here as it was before its shortcut, and the shortcut is
compared with it on generated input made of the characters that could tell them apart.
"""

from __future__ import annotations

from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from fairwell.domain.model import Stage
from fairwell.guard.privacy import (
    _COMMON_WORDS,
    _EMPTY_GREETING,
    Expectation,
    ParsedLetter,
    RightLanguage,
    has_empty_greeting,
    part_words,
)
from fairwell.guard.roster import (
    _PROBES,
    AutomatonRoster,
    IdentifierKind,
    Mention,
    Roster,
    RosterEntry,
    fold,
    fold_words,
    identifiers,
    no_end_before,
    no_start_after,
)

# --- the roster scan -------------------------------------------------------------------------

FIRST = ["Ann", "Anne", "Mary Ann", "Zoë", "Zoe\u0308", "Li", "Lee", "e", " "]
LAST = ["Lee", "Leé", "Li", "Lee-Smith", "Ann", "Müller", "\uffff"]


def plain_bounded(text: str, start: int, end: int) -> bool:
    if start > 0 and no_start_after(text[start - 1]):
        return False
    if end < len(text):
        after = text[end]
        if no_end_before(after):
            return False
        if after == "." and end + 1 < len(text) and text[end + 1].isalnum():
            return False
    return True


def plain_mentions(entries: list[RosterEntry], folded: str, addressee: int) -> list[Mention]:
    """Every occurrence of every identifier, found with str.find: no automaton, no packing."""
    owners: dict[str, dict[IdentifierKind, set[int]]] = defaultdict(lambda: defaultdict(set))
    for entry in entries:
        for pattern, kind in identifiers(entry):
            owners[pattern][kind].add(entry.person_id)
    own: list[tuple[int, int]] = []
    foreign: list[tuple[int, int, Mention]] = []
    for pattern, kinds in owners.items():
        start = folded.find(pattern)
        while start >= 0:
            end = start + len(pattern)
            if plain_bounded(folded, start, end):
                for kind, people in kinds.items():
                    if addressee in people:
                        own.append((start, end))
                    else:
                        foreign.append((start, end, Mention(min(people), kind)))
            start = folded.find(pattern, start + 1)
    return [m for s, e, m in foreign if not any(a <= s and e <= b for a, b in own)]


def ordered(mentions: list[Mention]) -> list[tuple[int, str]]:
    return sorted((mention.person_id, str(mention.kind)) for mention in mentions)


@st.composite
def roster_and_text(draw: st.DrawFn) -> tuple[list[RosterEntry], str, int]:
    count = draw(st.integers(1, 8))
    entries = []
    for person_id in range(1, count + 1):
        first, last = draw(st.sampled_from(FIRST)), draw(st.sampled_from(LAST))
        # Some addresses are a probe word themselves ("e" and a noncharacter).
        email = draw(st.sampled_from([f"{first}.{last}@x.com", f"{first}{last}", "e\uffff"]))
        ref = draw(st.sampled_from([f"FW-{person_id}", "FW-1", ""]))
        entries.append(RosterEntry(person_id, email, f"{first} {last}", (ref,)))
    pieces = [
        *[p for entry in entries for p, _ in identifiers(entry)],
        *_PROBES[:6],
        *"  .@-x\u2063\uffff",
    ]
    # Pieces are joined without spaces too: an identifier right after a letter is no match.
    text = fold("".join(draw(st.lists(st.sampled_from(pieces), max_size=12))))
    return entries, text, draw(st.integers(1, count + 1))


@settings(max_examples=300)
@given(case=roster_and_text())
def test_the_automaton_finds_what_a_plain_search_finds(
    case: tuple[list[RosterEntry], str, int],
) -> None:
    entries, text, addressee = case
    found = AutomatonRoster(entries).mentions_in_folded(text, addressee)
    assert ordered(found) == ordered(plain_mentions(entries, text, addressee))


def test_a_probe_in_the_text_is_nobodys_identifier() -> None:
    roster = AutomatonRoster([RosterEntry(1, "ann@x.com", "Ann Lee")])
    assert roster.mentions_in_folded(" ".join(_PROBES), 2) == []


def test_an_address_equal_to_a_probe_is_still_found() -> None:
    alone = AutomatonRoster([RosterEntry(1, "e\uffff", "Li")])
    assert alone.mentions_in_folded("to e\uffff and", 2) == [Mention(1, IdentifierKind.EMAIL)]
    roster = AutomatonRoster([RosterEntry(1, "e\uffff", "Li"), RosterEntry(2, "b@x.com", "Li")])
    assert roster.mentions_in_folded("to e\uffff and", 2) == [Mention(1, IdentifierKind.EMAIL)]
    assert roster.mentions_in_folded("to e\uffff and", 1) == []


# --- the parsed letter -------------------------------------------------------------------------

VALUE_CHARS = [*"aZ <>@.,:-\t\n\r\x00\x1c\xa0", "\u2063", "é", "e\u0301", "ß", "İ"]
VALUE = st.lists(st.sampled_from(VALUE_CHARS), max_size=12).map("".join)


@given(
    st.lists(st.tuples(st.sampled_from(["To", "to", "CC", "Cc", "İd", "x"]), VALUE), max_size=6),
    st.sampled_from(["to", "cc", "i̇d", "x", "bcc"]),
)
def test_a_header_is_looked_up_as_every_value_of_its_name(
    headers: list[tuple[str, str]], name: str
) -> None:
    letter = ParsedLetter(raw=b"", headers=headers)
    assert letter.header(name) == [value for key, value in headers if key.lower() == name]
    assert (name in letter.names()) == bool(letter.header(name))


@settings(max_examples=300)
@given(st.lists(VALUE, max_size=3))
def test_the_words_of_a_part_are_its_case_folded_words(parts: list[str]) -> None:
    letter = ParsedLetter(raw=b"", parts=[("text/plain", text) for text in parts])
    for index, text in enumerate(parts):
        assert letter.words_of_part(index) == set(text.casefold().split())


# Characters that NFC composes or reorders, that fold in context (final sigma) or into
# several, and every kind of white space and line break str.split() knows.
FOLD_CHARS = [
    *"aZ .\n\r\t\x0b\x0c\x1c\x1d\x85\xa0\u2028\u2029\u3000",
    *["e\u0301", "\u0301", "\u0323", "\u0307", "é", "ß", "İ", "Σ", "ς", "ﬁ", "Å", "\u212b"],
    *["\u1100", "\u1161", "\u11a8", "\uac00", "\u2063", "\ud800"],
]


@settings(max_examples=1000)
@given(st.lists(st.sampled_from(FOLD_CHARS), max_size=30).map("".join))
def test_a_part_folded_line_by_line_is_the_part_folded_whole(text: str) -> None:
    assert part_words(text) == fold_words(text)
    assert part_words(text) == fold_words(text)  # the lines' words remembered
    assert " ".join(part_words(text)) == fold(text)


GREETING_PIECES = [
    *["dear", "Dear", "DEAR", "hi", "Hallo", "guten tag", "Sehr geehrter", "liebe"],
    *["herr", "Mr.", "ms", " ", "\n", "\t", "\r", "\x0b", "\x1c", "\x85", "\u2028", "\xa0"],
    *[",", "!", ":", ".", "x", "Ann", "ſ", "\u212a"],
]


@settings(max_examples=500)
@given(st.lists(st.sampled_from(GREETING_PIECES), max_size=10))
def test_an_empty_greeting_is_found_where_the_whole_text_search_finds_one(
    pieces: list[str],
) -> None:
    text = "".join(pieces)
    assert has_empty_greeting(text) == bool(_EMPTY_GREETING.search(text))


def plain_right_language(letter: ParsedLetter, locale: str) -> str | None:
    """RightLanguage before it picked the common words out of the word list."""
    if letter.header("content-language") != [locale]:
        return "Content-Language differs from the addressee's locale"
    if locale not in _COMMON_WORDS:
        return None
    for content_type, text in letter.parts:
        if content_type != "text/plain":
            continue
        words = set(text.casefold().split())
        scores = {lang: len(common.intersection(words)) for lang, common in _COMMON_WORDS.items()}
        best = max(scores, key=lambda lang: scores[lang])
        if best != locale:
            return f"the text reads as {best!r}, not {locale!r}"
    return None


LANGUAGE_WORDS = [
    *["the", "The", "and", "you", "thank", "und", "der", "Sie", "für", "fu\u0308r", "FÜR"],
    *["vielen", "dank", "Dank", "ß", "ss", "x", " ", "\n", "\xa0"],
]


@settings(max_examples=300)
@given(
    st.lists(st.lists(st.sampled_from(LANGUAGE_WORDS), max_size=12).map(" ".join), max_size=3),
    st.sampled_from(["en", "de", "fr"]),
    st.sampled_from(["en", "de", "fr"]),
)
def test_the_language_is_judged_as_from_the_set_of_all_words(
    parts: list[str], declared: str, locale: str
) -> None:
    letter = ParsedLetter(
        raw=b"",
        headers=[("Content-Language", declared)],
        parts=[("text/plain" if i % 2 == 0 else "text/html", text) for i, text in enumerate(parts)],
    )
    expect = Expectation("a@x.com", 1, locale, Stage.SCREEN, Roster([]))
    assert RightLanguage().check(letter, expect) == plain_right_language(letter, locale)
