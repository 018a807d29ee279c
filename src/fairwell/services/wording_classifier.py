"""The wording check's second reader: a small local classifier of meaning beside the word lists.

Word lists miss paraphrase ("someone at an earlier stage of life would suit our team better"
names no listed phrase). This classifier reads each sentence the lists found nothing in and
says which protected characteristic, if any, it is closest to in meaning.

* **Model.** Sentences become vectors with Google's Universal Sentence Encoder, multilingual
  v3 (services/semantic.py: the optional ``semantic`` extra, numpy only, nothing downloaded at
  run time), trained on English and German among sixteen languages. Until the seventh session
  it was all-MiniLM-L6-v2, rediscovery's English model: German sentences about a forklift
  licence or an interview answer were flagged as age or language (bench/README.md, "Feedback
  from jobs outside the library"). A multinomial logistic regression (scikit-learn, which the
  extra brings) over those vectors is trained when first needed, from the labelled examples
  kept as data in ``domain/compliance_terms/examples.toml``: a few seconds, once per process.
* **Decision.** A sentence is flagged when the probability that it is fine ("none") is below
  ``FLAG_BELOW``; the finding names the most likely rule, explains it with that rule's own
  ``why`` and ``suggestion`` from the terms files, and quotes the nearest labelled example, so
  a reviewer sees why in seconds. Language proficiency stays job-related where the job states
  that language (the lists' rule, domain/compliance.py).
* **Without the extra** the classifier is unavailable: ``choose`` says so in plain words
  ("not available: ..."), the CLI and pages print it, and the word lists run as before.
  ``FAIRWELL_WORDING_CLASSIFIER=on`` makes a missing extra a configuration error; ``off``
  never loads it.

Measured on bench/data/wording_corpus.tsv (308 sentences, English and German, written apart
from the examples): see bench/wording_check.py and bench/README.md.
"""

from __future__ import annotations

import functools
import re
import threading
import tomllib
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from fairwell.config import SemanticMode
from fairwell.domain.compliance import RULES, Linter, LintFinding
from fairwell.errors import ConfigurationError
from fairwell.ports import SimilarityModel
from fairwell.services.semantic import EXTRA, INSTALL, MULTILINGUAL_MODEL_NAME, load_multilingual

NONE = "none"
# Shorter sentences ("Dear Alex,", "Hier ist er:") carry too little meaning to judge; the
# word lists still read them.
MIN_WORDS = 4
# Flag when the probability that a sentence is fine is below FLAG_BELOW. Both values were
# chosen by 5-fold cross-validation on the examples alone (the best F1; bench/wording_check.py
# --cross-validate), never on the evaluation corpus.
FLAG_BELOW = 0.5
REGULARISATION = 4.0  # scikit-learn's C
_SENTENCE_END = re.compile(r"(?<=[.!?;])\s+|\n+")
_DESCRIPTIONS = {rule.name: rule.description for rule in RULES}
_EXPLAINED = {
    "en": " The meaning check (not a listed phrase) read this sentence as close to wording "
    "about {what}, such as: “{example}”",
    "de": " Die Bedeutungsprüfung (kein gelisteter Ausdruck) hat diesen Satz als ähnlich zu "
    "solchen Formulierungen erkannt, etwa: „{example}“",
}


@dataclass(frozen=True, slots=True)
class Example:
    label: str
    lang: str
    text: str


def load_examples() -> list[Example]:
    """The labelled examples the classifier learns from (data, in the terms folder)."""
    text = (
        resources.files("fairwell.domain")
        .joinpath("compliance_terms", "examples.toml")
        .read_text(encoding="utf-8")
    )
    data = tomllib.loads(text)
    known = {rule.name for rule in RULES} | {NONE}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigurationError(f"examples.toml: unknown label(s) {', '.join(unknown)}")
    return [
        Example(label, lang, sentence)
        for label, by_lang in data.items()
        for lang, sentences in by_lang.items()
        for sentence in sentences
    ]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the classifier read in one sentence: a rule, or None when it looks fine."""

    rule: str | None
    fine: float  # the probability that the sentence is fine to send
    nearest: str  # the labelled example of ``rule`` closest in meaning ("" when fine)


class MeaningClassifier:
    """Two logistic regressions, trained on the examples: one tells wording to flag from
    wording that is fine, the other which rule a flagged sentence is closest to. Both read a
    sentence as its vector beside its character n-grams (TF-IDF): the n-grams carry German
    compounds ("Kinderwunsch") whole. Thread-safe."""

    def __init__(
        self,
        model: SimilarityModel,
        examples: Sequence[Example],
        *,
        flag_below: float = FLAG_BELOW,
        regularisation: float = REGULARISATION,
    ) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        self.model = model
        self.flag_below = flag_below
        self._examples = list(examples)
        texts = [e.text for e in self._examples]
        self._grams: Any = TfidfVectorizer(
            analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True
        ).fit(texts)
        self._vectors, features = self._features(texts)
        fine = [e.label == NONE for e in self._examples]
        self._fine: Any = LogisticRegression(
            C=regularisation, max_iter=5000, class_weight="balanced"
        ).fit(features, fine)
        flagged = [i for i, is_fine in enumerate(fine) if not is_fine]
        self._rules: Any = LogisticRegression(C=regularisation, max_iter=5000).fit(
            features[flagged], [self._examples[i].label for i in flagged]
        )
        self._fine_column = list(self._fine.classes_).index(True)
        self._lock = threading.Lock()

    def _features(self, texts: Sequence[str]) -> tuple[Any, Any]:
        import numpy as np
        from scipy.sparse import csr_matrix, hstack

        vectors = np.asarray(self.model.encode(list(texts)))
        return vectors, hstack([csr_matrix(vectors), self._grams.transform(texts)]).tocsr()

    def classify(self, sentences: Sequence[str], lang: str | None = None) -> list[Verdict]:
        """A verdict per sentence; ``lang`` picks the nearest example from that language."""
        if not sentences:
            return []
        vectors, features = self._features(sentences)
        with self._lock:
            fine = self._fine.predict_proba(features)[:, self._fine_column]
            rules = self._rules.predict(features)
        return [
            Verdict(None, float(p), "")
            if p >= self.flag_below
            else Verdict(str(rule), float(p), self._nearest(vector, str(rule), lang))
            for vector, p, rule in zip(vectors, fine, rules, strict=True)
        ]

    def _nearest(self, vector: Any, rule: str, lang: str | None) -> str:
        same = [
            i
            for i, e in enumerate(self._examples)
            if e.label == rule and (lang is None or e.lang == lang)
        ] or [i for i, e in enumerate(self._examples) if e.label == rule]
        scores = self._vectors[same] @ vector
        return self._examples[same[int(scores.argmax())]].text


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Where each sentence of ``text`` starts and ends (lines and . ! ? ; end one)."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def meaning_findings(
    classifier: MeaningClassifier,
    linter: Linter,
    text: str,
    required_languages: Collection[str],
    listed: Sequence[LintFinding],
) -> list[LintFinding]:
    """The classifier's findings in the sentences the lists found nothing in."""
    spans = [
        span
        for span in sentence_spans(text)
        if len(text[slice(*span)].split()) >= MIN_WORDS
        and not any(f.span[0] < span[1] and span[0] < f.span[1] for f in listed)
    ]
    verdicts = classifier.classify([text[s:e] for s, e in spans], linter.lang)
    findings = []
    for span, verdict in zip(spans, verdicts, strict=True):
        if verdict.rule is None or _job_language(
            linter, verdict.rule, text[slice(*span)], required_languages
        ):
            continue
        why, suggestion = linter.explanation(verdict.rule)
        what = _DESCRIPTIONS.get(verdict.rule, verdict.rule)
        explained = _EXPLAINED.get(linter.lang, _EXPLAINED["en"])
        findings.append(
            LintFinding(
                verdict.rule,
                span,
                why + explained.format(what=what, example=verdict.nearest),
                suggestion,
            )
        )
    return findings


def _job_language(linter: Linter, rule: str, sentence: str, required: Collection[str]) -> bool:
    """Proficiency in a language the job requires is job-related, as for the lists."""
    if rule != "language-proficiency" or not required:
        return False
    return linter.languages_named(sentence) <= set(required)


# --- choosing and loading ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Meaning:
    """The classifier to use, or None; ``status`` says which, and why, in plain words."""

    classifier: MeaningClassifier | None
    status: str


Loader = Callable[[], MeaningClassifier]
_loading = threading.Lock()


def load_classifier() -> MeaningClassifier:
    """Trained once per process on first use. Raises ImportError without the extra."""
    with _loading:
        return _load()


@functools.cache
def _load() -> MeaningClassifier:
    return MeaningClassifier(load_multilingual(), load_examples())


def choose(mode: SemanticMode, loader: Loader = load_classifier) -> Meaning:
    """The classifier as the setting asks: ``on`` without the extra is a configuration error
    naming the install command; ``auto`` then says plainly that only the lists ran."""
    if mode is SemanticMode.OFF:
        return Meaning(
            None,
            "word lists only; the meaning classifier is turned off "
            "(FAIRWELL_WORDING_CLASSIFIER=off)",
        )
    try:
        classifier = loader()
    except ImportError as error:
        if mode is SemanticMode.ON:
            raise ConfigurationError(
                f"FAIRWELL_WORDING_CLASSIFIER=on needs the optional '{EXTRA}' extra, which is "
                f"not installed ({error}); install it with: {INSTALL}"
            ) from None
        return Meaning(
            None,
            f"word lists only; the meaning classifier is not available: the optional "
            f"'{EXTRA}' extra is not installed ({INSTALL})",
        )
    return Meaning(
        classifier,
        f"word lists and the meaning classifier ({MULTILINGUAL_MODEL_NAME}, local, trained on "
        f"{len(load_examples())} labelled examples)",
    )
