"""Counts in words with the right plural: "41 letters", "1 letter", never "letter(s)".

In the domain so that services composing text for staff (an applicant's timeline) and the
web pages share one rule.
"""

from __future__ import annotations


def plural(count: int, one: str, many: str | None = None) -> str:
    """``count`` and the noun in the number it needs: plural(41, "letter") is "41 letters",
    plural(2, "person", "people") is "2 people". Thousands are grouped: "1,234 letters"."""
    noun = one if count == 1 else (many or one + "s")
    return f"{count:,} {noun}"
