"""Erasure: complete (no readable copy left in the SQLite file, its WAL, or any PostgreSQL
column), blocked by a legal hold or a pending access request, and scriptable from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import LargeBinary, String, Text, cast, func, select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from fairwell.cli import app as cli
from fairwell.domain.users import Role
from fairwell.runtime import Runtime
from fairwell.services import erasure
from fairwell.services.users import add_user
from fairwell.storage.tables import erasures, metadata
from tests.helpers import USER_PASSWORD
from tests.test_portal import ANN, GRETA, KEY, PORTAL_URL, client, runtime  # noqa: F401

NEEDLES = (ANN, "Annabel", "Quixote", "Your SQL was careful")


def ask_and_consent(client: object, runtime: Runtime) -> None:  # noqa: F811
    """Leave data in every portal table: a request, a consent, ticks and used nonces."""
    from tests.test_portal import form_of, token_of

    base = f"/p/{token_of(runtime, ANN)}"
    client.post(
        f"{base}/ask",
        data={"form": form_of(client.get(f"{base}/ask").text), "question": "Annabel asks why"},
    )  # type: ignore[attr-defined]
    page = client.get(f"{base}/consent").text  # type: ignore[attr-defined]
    client.post(f"{base}/consent", data={"form": form_of(page), "choice": "keep"})  # type: ignore[attr-defined]
    page = client.get(base).text  # type: ignore[attr-defined]
    client.post(f"{base}/checklist", data={"form": form_of(page), "step": ["0"]})  # type: ignore[attr-defined]


def found_in_postgres(wired: Runtime, needle: str) -> list[str]:
    """Every text and binary column of every table, searched for ``needle``."""
    hits = []
    with wired.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, String | Text):
                    text = column
                elif isinstance(column.type, LargeBinary):
                    text = func.encode(column, "escape")
                else:
                    continue
                query = select(func.count()).where(cast(text, Text).contains(needle))
                if conn.execute(query.select_from(table)).scalar_one():
                    hits.append(f"{table.name}.{column.name}")
    return hits


def found_in_sqlite_files(wired: Runtime, needle: str) -> list[str]:
    path = Path(str(make_url(wired.settings.database_url).database))
    hits = []
    for file in (path, Path(f"{path}-wal")):
        if file.exists() and needle.encode() in file.read_bytes():
            hits.append(file.name)
    return hits


def found(wired: Runtime, needle: str) -> list[str]:
    if wired.engine.dialect.name == "sqlite":
        return found_in_sqlite_files(wired, needle)
    return found_in_postgres(wired, needle)


def test_right_after_erasure_no_copy_of_the_person_is_left(
    client: object,  # noqa: F811
    runtime: Runtime,  # noqa: F811
) -> None:
    ask_and_consent(client, runtime)
    assert found(runtime, ANN), "the search finds the address before the erasure"
    privacy = runtime.privacy
    person_id = erasure.person_by_email(privacy, ANN)
    counts = erasure.erase_person(privacy, person_id, "test", runtime.clock.now())
    assert counts["applications"] == 1 and counts["letter_bodies"] == 1
    for needle in NEEDLES:
        assert found(runtime, needle) == [], needle
    assert found(runtime, GRETA), "other people are untouched"
    with runtime.engine.connect() as conn:
        evidence = conn.execute(select(erasures.c.counts, erasures.c.actor)).one()
    assert evidence.actor == "test" and json.loads(evidence.counts)["consents"] == 1


def cli_env(wired: Runtime) -> dict[str, str]:
    """Privacy commands act as ada, an admin (FAIRWELL_USER)."""
    env = {
        "FAIRWELL_DATABASE_URL": wired.settings.database_url,
        "FAIRWELL_SECRET_KEY": KEY,
        "FAIRWELL_PORTAL_URL": PORTAL_URL,
    }
    users = wired.users
    if users.by_username("ada") is None:
        add_user(users, "ada", USER_PASSWORD, Role.ADMIN, actor="t", now=wired.clock.now())
    return {**env, "FAIRWELL_USER": "ada"}


def test_a_legal_hold_blocks_erasure_with_its_reason_until_released(
    runtime: Runtime,  # noqa: F811
) -> None:
    runner, env = CliRunner(), cli_env(runtime)
    added = runner.invoke(
        cli, ["holds", "add", "--email", ANN, "--reason", "pending claim 42"], env=env
    )
    assert added.exit_code == 0, added.output
    blocked = runner.invoke(cli, ["erase", "--email", ANN, "--yes"], env=env)
    assert blocked.exit_code == 1
    assert blocked.output.strip().splitlines() == [
        "fairwell: not erased: legal hold #1: pending claim 42"
    ]
    assert found(runtime, ANN), "nothing was erased"
    assert runner.invoke(cli, ["holds", "release", "1"], env=env).exit_code == 0
    erased = runner.invoke(cli, ["erase", "--email", ANN, "--yes"], env=env)
    assert erased.exit_code == 0, erased.output
    assert runner.invoke(cli, ["export", "--email", ANN], env=env).exit_code == 1


def test_a_pending_access_request_is_answered_before_erasure(
    runtime: Runtime,  # noqa: F811
) -> None:
    privacy = runtime.privacy
    person_id = erasure.person_by_email(privacy, ANN)
    now = runtime.clock.now()
    erasure.record_request(privacy, erasure.ACCESS, person_id, "admin", now)
    with pytest.raises(erasure.ErasureBlocked, match="access request is pending"):
        erasure.erase_person(privacy, person_id, "test", now)
    runner, env = CliRunner(), cli_env(runtime)
    exported = runner.invoke(cli, ["export", "--email", ANN], env=env)
    assert exported.exit_code == 0
    document = json.loads(exported.stdout)
    assert document["person"]["email"] == ANN and GRETA not in exported.stdout
    assert runner.invoke(cli, ["erase", "--email", ANN, "--yes"], env=env).exit_code == 0


def test_erase_without_yes_or_for_an_unknown_address_refuses(
    runtime: Runtime,  # noqa: F811
) -> None:
    runner, env = CliRunner(), cli_env(runtime)
    assert runner.invoke(cli, ["erase", "--email", ANN], env=env).exit_code == 1
    unknown = runner.invoke(cli, ["erase", "--email", "who@example.com", "--yes"], env=env)
    assert unknown.exit_code == 1 and "no person" in unknown.output


def test_a_candidate_deleting_under_a_hold_gets_a_due_date_and_admins_see_why(
    client: object,  # noqa: F811
    runtime: Runtime,  # noqa: F811
) -> None:
    from tests.test_portal import form_of, token_of

    privacy = runtime.privacy
    person_id = erasure.person_by_email(privacy, ANN)
    privacy.add_hold(person_id, "pending claim", "admin", runtime.clock.now())
    base = f"/p/{token_of(runtime, ANN)}"
    form = form_of(client.get(f"{base}/delete").text)  # type: ignore[attr-defined]
    answer = client.post(f"{base}/delete", data={"form": form, "confirm": "yes"})  # type: ignore[attr-defined]
    assert "will complete it by 26 December 2026" in answer.text
    replay = client.post(f"{base}/delete", data={"form": form, "confirm": "yes"})  # type: ignore[attr-defined]
    assert replay.status_code == 409
    [request] = privacy.requests()
    assert request.kind == "erasure" and request.state == "open"
    assert erasure.blocked_by(privacy, person_id) == "legal hold #1: pending claim"
