"""Local accounts: Alice the recruiter signs in, Bob guesses, Carol leaves; no password is kept
anywhere but as an argon2 hash."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select, update
from typer.testing import CliRunner

import fairwell.cli.users  # noqa: F401  (registers `fairwell users` on the app)
from fairwell.cli import app
from fairwell.domain.users import Role, check_password, check_role, check_username
from fairwell.errors import InvalidInput, NotFound
from fairwell.services.users import add_user, authenticate, disable_user, list_users
from fairwell.storage import migrate
from fairwell.storage.engine import make_engine
from fairwell.storage.tables import audit_log, users
from fairwell.storage.users_store import SqlUserStore
from tests.conftest import FixedClock
from tests.helpers import applicant, write_csv

ALICE_PASSWORD = "correct horse battery staple"
CAROL_PASSWORD = "her own long secret phrase"
ACTOR = "test:admin"


@pytest.fixture
def store(database_url: str) -> Iterator[SqlUserStore]:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    yield SqlUserStore(engine)
    engine.dispose()


def add(store: SqlUserStore, clock: FixedClock, name: str, password: str, role: Role) -> None:
    add_user(store, name, password, role, actor=ACTOR, now=clock.now())


def test_alice_signs_in_with_her_password(store: SqlUserStore, clock: FixedClock) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    user = authenticate(store, "alice", ALICE_PASSWORD)
    assert user is not None
    assert (user.username, user.role, user.disabled) == ("alice", Role.RECRUITER, False)
    assert store.by_id(user.id) == user


def test_a_wrong_password_signs_nobody_in(store: SqlUserStore, clock: FixedClock) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    assert authenticate(store, "alice", ALICE_PASSWORD + "!") is None
    assert authenticate(store, "alice", "") is None


def test_an_unknown_or_malformed_username_signs_nobody_in(store: SqlUserStore) -> None:
    assert authenticate(store, "bob", ALICE_PASSWORD) is None
    assert authenticate(store, "b", ALICE_PASSWORD) is None
    assert authenticate(store, "no spaces allowed", ALICE_PASSWORD) is None


def test_carol_disabled_cannot_sign_in_and_her_sessions_end(
    store: SqlUserStore, clock: FixedClock
) -> None:
    add(store, clock, "carol", CAROL_PASSWORD, Role.INTERVIEWER)
    before = authenticate(store, "carol", CAROL_PASSWORD)
    assert before is not None

    disable_user(store, "Carol", actor=ACTOR, now=clock.now())

    assert authenticate(store, "carol", CAROL_PASSWORD) is None
    after = store.by_id(before.id)
    assert after is not None and after.disabled
    assert after.session_version != before.session_version


def test_disabling_an_unknown_user_is_refused(store: SqlUserStore, clock: FixedClock) -> None:
    with pytest.raises(NotFound):
        disable_user(store, "nobody", actor=ACTOR, now=clock.now())


def test_a_username_is_taken_once_whatever_its_case(store: SqlUserStore, clock: FixedClock) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    with pytest.raises(InvalidInput, match="already exists"):
        add(store, clock, "  ALICE ", "another long password", Role.ADMIN)
    assert [(u.username, u.role) for u in list_users(store)] == [("alice", Role.RECRUITER)]


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short pass1", "at least 12"),
        ("x" * 1025, "at most 1024"),
        ("my name is ALICE ok", "username"),
        ("alice", "at least 12"),
    ],
)
def test_a_weak_password_is_refused_without_repeating_it(
    store: SqlUserStore, clock: FixedClock, password: str, why: str
) -> None:
    with pytest.raises(InvalidInput, match=why) as refused:
        add(store, clock, "alice", password, Role.RECRUITER)
    assert password not in str(refused.value)
    assert list_users(store) == []


def test_usernames_are_stripped_and_lower_cased() -> None:
    assert check_username("  Alice.Smith@Example.com ") == "alice.smith@example.com"
    assert check_username("a_b-c") == "a_b-c"


@pytest.mark.parametrize("bad", ["ab", "x" * 65, "al ice", "alice!", "ålice", "\u212aate"])
def test_a_malformed_username_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput, match="username"):
        check_username(bad)


def test_roles_are_read_forgivingly_and_checked() -> None:
    assert check_role("Hiring Manager") is Role.HIRING_MANAGER
    assert check_role("hiring-manager") is Role.HIRING_MANAGER
    assert check_role(" admin ") is Role.ADMIN
    with pytest.raises(InvalidInput, match="recruiter"):
        check_role("owner")


def test_the_password_rules_compare_the_username_without_case() -> None:
    check_password("a perfectly fine one", "alice")
    with pytest.raises(InvalidInput):
        check_password("xxALICExxxxxxx", "alice")


def test_passwords_are_stored_as_argon2id_hashes(store: SqlUserStore, clock: FixedClock) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    found = store.by_username("alice")
    assert found is not None
    _, stored = found
    assert stored.startswith("$argon2id$")
    assert ALICE_PASSWORD not in stored


def test_an_old_hash_is_replaced_at_the_next_sign_in(
    store: SqlUserStore, clock: FixedClock
) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(ALICE_PASSWORD)
    with store.engine.begin() as conn:
        conn.execute(update(users).where(users.c.username == "alice").values(password_hash=weak))

    assert authenticate(store, "alice", ALICE_PASSWORD) is not None

    found = store.by_username("alice")
    assert found is not None
    assert found[1] != weak
    assert not PasswordHasher().check_needs_rehash(found[1])
    assert authenticate(store, "alice", ALICE_PASSWORD) is not None


def test_a_corrupt_stored_hash_signs_nobody_in(store: SqlUserStore, clock: FixedClock) -> None:
    add(store, clock, "alice", ALICE_PASSWORD, Role.RECRUITER)
    with store.engine.begin() as conn:
        conn.execute(update(users).values(password_hash="not-a-hash"))
    assert authenticate(store, "alice", ALICE_PASSWORD) is None


def test_no_password_reaches_the_logs_or_the_audit_log(
    store: SqlUserStore, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    add(store, clock, "alice", ALICE_PASSWORD, Role.ADMIN)
    authenticate(store, "alice", ALICE_PASSWORD)
    authenticate(store, "alice", "a wrong guess of a password")
    authenticate(store, "bob", "a guess for nobody at all")
    with pytest.raises(InvalidInput):
        add(store, clock, "alice", "a second try at alice", Role.ADMIN)
    disable_user(store, "alice", actor=ACTOR, now=clock.now())

    found = store.by_username("alice")
    assert found is not None
    stored_hash = found[1]
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (ALICE_PASSWORD, "a wrong guess", "a guess for nobody", "a second try"):
        assert secret not in logged
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("fairwell")]
    assert ours, "the service logs what happened, by user id"
    assert not any(stored_hash in message or "alice" in message for message in ours)

    with store.engine.begin() as conn:
        entries = conn.execute(
            select(audit_log.c.action, audit_log.c.entity, audit_log.c.detail).order_by(
                audit_log.c.id
            )
        ).all()
    assert [(action, entity) for action, entity, _ in entries] == [
        ("user.added", "user"),
        ("user.disabled", "user"),
    ]
    assert [json.loads(detail) for _, _, detail in entries] == [{"role": "admin"}] * 2
    everything = repr(entries)
    assert ALICE_PASSWORD not in everything and "argon2" not in everything
    assert "alice" not in everything


# --- The command line ------------------------------------------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}


def run(env: dict[str, str], *args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), env=env, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_the_cli_adds_lists_and_disables_accounts(env: dict[str, str], tmp_path: Path) -> None:
    secret = tmp_path / "alice.pw"
    secret.write_text(ALICE_PASSWORD + "\n", encoding="utf-8")
    assert run(env, "init")[0] == 0

    code, out, err = run(
        env, "users", "add", "--username", "Alice", "--role", "recruiter",
        "--password-file", str(secret),
    )  # fmt: skip
    assert code == 0, err
    assert "alice" in out and ALICE_PASSWORD not in out + err

    code, out, _ = run(env, "users", "list", "--json")
    assert code == 0
    assert json.loads(out) == [{"username": "alice", "role": "recruiter", "disabled": False}]
    assert "argon2" not in out

    code, out, _ = run(env, "users", "list")
    assert code == 0 and "alice" in out and "argon2" not in out

    assert run(env, "users", "disable", "alice")[0] == 0
    code, out, _ = run(env, "users", "list", "--json")
    assert json.loads(out) == [{"username": "alice", "role": "recruiter", "disabled": True}]


def test_the_cli_asks_for_the_password_twice_when_there_is_no_file(env: dict[str, str]) -> None:
    assert run(env, "init")[0] == 0
    typed = f"{CAROL_PASSWORD}\n{CAROL_PASSWORD}\n"
    code, out, err = run(
        env, "users", "add", "--username", "carol", "--role", "Hiring Manager", stdin=typed
    )
    assert code == 0, err
    assert CAROL_PASSWORD not in out + err
    code, out, _ = run(env, "users", "list", "--json")
    assert json.loads(out)[0]["role"] == "hiring_manager"


def test_the_cli_refuses_with_exit_code_1_and_one_line(env: dict[str, str], tmp_path: Path) -> None:
    weak = tmp_path / "weak.pw"
    weak.write_text("too short\n", encoding="utf-8")
    good = tmp_path / "good.pw"
    good.write_text(ALICE_PASSWORD, encoding="utf-8")
    assert run(env, "init")[0] == 0

    def add_alice(*extra: str) -> tuple[int, str, str]:
        return run(env, "users", "add", "--username", "alice", *extra)

    code, _, err = add_alice("--role", "recruiter", "--password-file", str(weak))
    assert code == 1 and "at least 12" in err and "too short" not in err
    code, _, err = add_alice("--role", "owner", "--password-file", str(good))
    assert code == 1 and "role" in err
    code, _, err = add_alice("--role", "admin", "--password-file", str(tmp_path / "missing"))
    assert code == 1 and "cannot read" in err
    assert add_alice("--role", "admin", "--password-file", str(good))[0] == 0
    code, _, err = add_alice("--role", "admin", "--password-file", str(good))
    assert code == 1 and "already exists" in err and "argon2" not in err
    assert err.count("\n") == 1
    code, _, err = run(env, "users", "disable", "nobody")
    assert code == 1 and "no user named" in err


@pytest.mark.parametrize("command", [["users"], ["users", "add"], ["users", "list"]])
def test_the_users_commands_have_help(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0 and "Usage" in result.stdout


def test_a_hiring_manager_is_assigned_to_a_job_and_no_one_else_can_be(
    env: dict[str, str], tmp_path: Path
) -> None:
    secret = tmp_path / "pw"
    secret.write_text(ALICE_PASSWORD + "\n", encoding="utf-8")
    run(env, "init")
    rows = tmp_path / "a.csv"
    write_csv(rows, [applicant("ann@example.com", "Ann", "Lee")])
    run(env, "import", str(rows))
    for username, role in (("hank", "hiring_manager"), ("rita", "recruiter")):
        run(
            env,
            "users",
            "add",
            "--username",
            username,
            "--role",
            role,
            "--password-file",
            str(secret),
        )
    code, out, _ = run(env, "users", "assign", "--username", "hank", "--job", "Data Analyst")
    assert code == 0 and "hank now looks after 'Data Analyst'" in out
    code, _, err = run(env, "users", "assign", "--username", "rita", "--job", "Data Analyst")
    assert code == 1 and "not a hiring manager" in err
    code, _, err = run(env, "users", "assign", "--username", "hank", "--job", "Astronaut")
    assert code == 1 and "Astronaut" in err
