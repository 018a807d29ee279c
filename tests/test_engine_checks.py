"""An SQLite without the JSON functions a claim needs is a configuration error at start, named
with its version and what to do, not a failed claim after a batch was queued."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairwell.errors import ConfigurationError
from fairwell.storage import engine


def test_this_machines_sqlite_has_the_json_functions() -> None:
    assert engine.sqlite_has_json()


def test_an_sqlite_without_them_is_refused_saying_which_version_is_needed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine, "sqlite_has_json", lambda: False)

    with pytest.raises(ConfigurationError, match=r"has no JSON functions .* SQLite 3\.38"):
        engine.make_engine(f"sqlite:///{tmp_path / 'fairwell.db'}")
