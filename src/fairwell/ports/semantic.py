"""Semantic similarity (services/semantic.py): an optional sentence-embedding model."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol


class SimilarityModel(Protocol):
    """A sentence-embedding model (services/semantic.py): texts in, one vector per text out.

    Vectors of texts alike in meaning point the same way; compare them with
    :func:`fairwell.domain.matching.similarity`.
    """

    @property
    def name(self) -> str:
        """The model's name, as the recruiter reads it."""
        ...

    def encode(self, texts: Sequence[str]) -> list[list[float]]: ...
