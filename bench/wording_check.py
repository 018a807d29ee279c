"""Precision and recall of the wording check on an evaluation corpus it never learnt from.

    .venv/bin/python bench/wording_check.py            # the table
    .venv/bin/python bench/wording_check.py --json     # one JSON object
    .venv/bin/python bench/wording_check.py --misses   # and every sentence it got wrong
    .venv/bin/python bench/wording_check.py --cross-validate   # how FLAG_BELOW was chosen
    .venv/bin/python bench/wording_check.py --corpus bench/data/wording_corpus_other_jobs.tsv

The corpus (bench/data/wording_corpus.tsv) holds English and German sentences, each labelled
with the rule it should be flagged for or "none"; it was written apart from the classifier's
training examples (src/fairwell/domain/compliance_terms/examples.toml) and shares no sentence
with them. A sentence counts as flagged when the check has any finding in it; precision and
recall are over flagged sentences, and "right rule" is the share of true findings whose first
finding names the labelled rule. Time per sentence is the wall time of the whole check (lists
and classifier) per sentence, after the model is loaded, on this machine.

Needs the optional `semantic` extra for the classifier; without it the lists are measured
alone and the classifier's rows say it is not available.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fairwell.config import SemanticMode
from fairwell.domain.compliance import Linter, LintFinding
from fairwell.services import wording_classifier as meaning

CORPUS = Path(__file__).with_name("data") / "wording_corpus.tsv"
# Feedback from jobs outside the built-in library (care, logistics, trades, retail, ...).
OTHER_JOBS = Path(__file__).with_name("data") / "wording_corpus_other_jobs.tsv"


@dataclass(frozen=True)
class Labelled:
    label: str
    lang: str
    text: str


def read_corpus(path: Path = CORPUS) -> list[Labelled]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            label, lang, text = line.split("\t")
            rows.append(Labelled(label, lang, text))
    return rows


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    right_rule: int = 0
    seconds: float = 0.0
    sentences: int = 0

    @property
    def precision(self) -> float:
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else 1.0

    @property
    def recall(self) -> float:
        wanted = self.true_positive + self.false_negative
        return self.true_positive / wanted if wanted else 1.0

    def as_json(self) -> dict[str, float | int]:
        return {
            "precision": round(self.precision, 3),
            "recall": round(self.recall, 3),
            "right_rule": round(self.right_rule / max(self.true_positive, 1), 3),
            "ms_per_sentence": round(1000 * self.seconds / max(self.sentences, 1), 2),
            "true_positive": self.true_positive,
            "false_positive": self.false_positive,
            "false_negative": self.false_negative,
        }


Check = Callable[[str, str], list[LintFinding]]


def score(check: Check, corpus: list[Labelled], misses: list[str] | None = None) -> Score:
    result = Score()
    started = time.perf_counter()
    for item in corpus:
        found = check(item.text, item.lang)
        wanted = item.label != meaning.NONE
        if found and wanted:
            result.true_positive += 1
            result.right_rule += found[0].rule == item.label
        elif found:
            result.false_positive += 1
        elif wanted:
            result.false_negative += 1
        if misses is not None and bool(found) != wanted:
            rule = found[0].rule if found else "-"
            misses.append(f"{item.lang} {item.label:>22} got {rule:<22} {item.text}")
    result.seconds = time.perf_counter() - started
    result.sentences = len(corpus)
    return result


def checks(classifier: meaning.MeaningClassifier | None) -> dict[str, Check]:
    linters = {lang: Linter.from_files(lang) for lang in ("en", "de")}

    def lists(text: str, lang: str) -> list[LintFinding]:
        return linters[lang].lint(text)

    found: dict[str, Check] = {"word lists": lists}
    if classifier is None:
        return found

    def classified(text: str, lang: str) -> list[LintFinding]:
        return meaning.meaning_findings(classifier, linters[lang], text, (), [])

    def both(text: str, lang: str) -> list[LintFinding]:
        listed = lists(text, lang)
        return listed + meaning.meaning_findings(classifier, linters[lang], text, (), listed)

    found["classifier"] = classified
    found["lists + classifier (the check)"] = both
    return found


def cross_validate(folds: int = 5) -> list[dict[str, float]]:
    """Precision and recall of the classifier alone on held-out examples, per threshold and
    regularisation: how FLAG_BELOW and REGULARISATION were chosen, without the corpus."""
    from fairwell.services.semantic import load_multilingual

    examples = meaning.load_examples()
    model = load_multilingual()
    rows = []
    for regularisation in (1.0, 4.0, 16.0):
        for flag_below in (0.3, 0.4, 0.5, 0.6, 0.7):
            result = Score()
            for fold in range(folds):
                train = [e for i, e in enumerate(examples) if i % folds != fold]
                held = [e for i, e in enumerate(examples) if i % folds == fold]
                classifier = meaning.MeaningClassifier(
                    model, train, flag_below=flag_below, regularisation=regularisation
                )
                verdicts = classifier.classify([e.text for e in held])
                for example, verdict in zip(held, verdicts, strict=True):
                    wanted, flagged = example.label != meaning.NONE, verdict.rule is not None
                    result.true_positive += wanted and flagged
                    result.false_positive += flagged and not wanted
                    result.false_negative += wanted and not flagged
            rows.append(
                {
                    "C": regularisation,
                    "flag_below": flag_below,
                    "precision": round(result.precision, 3),
                    "recall": round(result.recall, 3),
                }
            )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--misses", action="store_true", help="list every wrong sentence")
    parser.add_argument("--cross-validate", action="store_true")
    parser.add_argument("--corpus", type=Path, default=CORPUS, help=f"default: {CORPUS.name}")
    args = parser.parse_args()
    if args.cross_validate:
        for row in cross_validate():
            print(row)
        return 0
    corpus = read_corpus(args.corpus)
    started = time.perf_counter()
    chosen = meaning.choose(SemanticMode.AUTO)
    loaded = time.perf_counter() - started
    results: dict[str, Score] = {}
    missed: dict[str, list[str]] = {}
    for name, check in checks(chosen.classifier).items():
        check("warm up", "en")
        if chosen.classifier is not None:  # time encoding, not the model's cache of texts
            getattr(chosen.classifier.model, "_known", {}).clear()
        missed[name] = []
        results[name] = score(check, corpus, missed[name])
    report = {
        "corpus": {
            "file": args.corpus.name,
            "sentences": len(corpus),
            "en": sum(item.lang == "en" for item in corpus),
            "de": sum(item.lang == "de" for item in corpus),
            "to_flag": sum(item.label != meaning.NONE for item in corpus),
        },
        "classifier": chosen.status,
        "load_and_train_seconds": round(loaded, 1),
        "results": {name: result.as_json() for name, result in results.items()},
    }
    if args.json:
        json.dump(report, sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        print(f"corpus: {report['corpus']}")
        print(f"classifier: {chosen.status} (loaded and trained in {loaded:.1f} s)")
        print(
            f"{'check':<32} {'precision':>9} {'recall':>7} {'right rule':>10} {'ms/sentence':>11}"
        )
        for name, result in results.items():
            row = result.as_json()
            print(
                f"{name:<32} {row['precision']:>9.3f} {row['recall']:>7.3f} "
                f"{row['right_rule']:>10.3f} {row['ms_per_sentence']:>11.2f}"
            )
    if args.misses:
        for name, lines in missed.items():
            print(f"\n{name}: {len(lines)} wrong")
            for line in lines:
                print("  " + line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
