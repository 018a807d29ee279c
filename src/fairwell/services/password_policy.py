"""Refuse guessable passwords: common ones, ones from breach lists, and easy patterns.

Checked with zxcvbn (Dropbox's estimator, maintained as the ``zxcvbn`` package on PyPI):
offline, no network, no account data sent anywhere. It ships frequency-ranked lists from
leaked password sets (30,000 passwords), English words, names and film words, and finds
keyboard walks, dates, repeats and l33t spellings. A password it ranks below "safely
unguessable" (score 3 of 4: about 10^8 guesses) is refused with its own advice; a password
that is itself on the leaked list is refused as such, whatever its score. The username, the
word "fairwell" and the organisation's name count as words an attacker would try first.

The messages never repeat the password.
"""

from __future__ import annotations

import functools

from fairwell.errors import InvalidInput

MIN_SCORE = 3
# zxcvbn's own limit: its matching grows fast with the length. A longer password is judged
# by its first 72 characters, which is enough to find a common word or pattern in it.
CHECKED_CHARACTERS = 72


def check_strength(password: str, username: str, *, hints: tuple[str, ...] = ()) -> None:
    """Raise InvalidInput when ``password`` is common, leaked or easy to guess."""
    from zxcvbn import zxcvbn

    if password.casefold() in _leaked_set():
        raise InvalidInput(
            "password: this password is on a list of passwords leaked in breaches; "
            "choose one nobody else uses"
        )
    words = [username, "fairwell", *hints]
    result = zxcvbn(password[:CHECKED_CHARACTERS], user_inputs=[w for w in words if w])
    if result["score"] >= MIN_SCORE:
        return
    feedback = result["feedback"]
    advice = " ".join(filter(None, [feedback["warning"], *feedback["suggestions"]]))
    raise InvalidInput(
        "password: too easy to guess. "
        + (advice or "Use three or four unrelated words, or a longer phrase.")
    )


@functools.cache
def _leaked_set() -> frozenset[str]:
    """The package's leaked-password list as a set, built once per process."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(word.casefold() for word in FREQUENCY_LISTS["passwords"])
