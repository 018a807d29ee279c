"""Shared fixtures: real SQLite files, the real PostgreSQL server, a real SMTP sink."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from fairwell.config import Settings, load_settings
from fairwell.delivery.sink import MailSink
from fairwell.ports import SimilarityModel
from fairwell.services.semantic import INSTALL, load_minilm
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.store import SqlStore

POSTGRES_URL = os.environ.get(
    "FAIRWELL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


class FixedClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 26, 10, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'fairwell.db'}"


def _migrated_store(url: str) -> Iterator[SqlStore]:
    engine = make_engine(url)
    migrate.upgrade(engine)
    yield SqlStore(engine)
    engine.dispose()


@pytest.fixture
def store(sqlite_url: str) -> Iterator[SqlStore]:
    yield from _migrated_store(sqlite_url)


@pytest.fixture
def any_store(database_url: str) -> Iterator[SqlStore]:
    """A migrated store on SQLite, then on PostgreSQL (see database_url)."""
    yield from _migrated_store(database_url)


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL)
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as error:
        return f"{type(error).__name__}: {error}".splitlines()[0]
    return None


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh database on the real PostgreSQL server, dropped afterwards.

    In CI a missing server fails the test loudly; on a laptop it skips with the reason.
    """
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and is not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL}: {problem}")
    name = f"fairwell_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, sqlite_url: str) -> str:
    """Each test that asks for it runs twice: on a SQLite file and on the real PostgreSQL."""
    if request.param == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return sqlite_url


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    """The embedded SMTP sink on 127.0.0.1 and a free port, storing into tmp_path/mail."""
    with MailSink(tmp_path / "mail", port=0) as running:
        yield running


def settings_for(database_url: str, smtp_port: int, **extra: object) -> Settings:
    return load_settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        from_address="careers@acme.example.com",
        org_name="Acme",
        **extra,
    )


@pytest.fixture(autouse=True)
def _no_fairwell_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts from the documented defaults, whatever the developer's shell has."""
    for name in list(os.environ):
        if name.startswith("FAIRWELL_") and name != "FAIRWELL_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    # Letters go at once unless a test is about when they go (tests/test_send_windows*.py,
    # with frozen clocks): many tests run the CLI on the wall clock, and their outcome must
    # not depend on the hour or the weekday they happen to run at.
    monkeypatch.setenv("FAIRWELL_SEND_WINDOWS", "off")


@pytest.fixture(scope="session")
def minilm() -> SimilarityModel:
    """The real all-MiniLM-L6-v2 from the `semantic` extra, loaded once for the session.

    In CI a missing extra fails the test loudly; on a laptop it skips with the reason.
    """
    try:
        return load_minilm()
    except ImportError as error:
        if os.environ.get("CI"):
            pytest.fail(f"the 'semantic' extra is required in CI and is not installed: {error}")
        pytest.skip(f"the optional 'semantic' extra is not installed ({INSTALL}): {error}")
