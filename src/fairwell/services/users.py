"""Local user accounts: add, sign in, disable, list.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106 "low memory"). Neither a
password nor a hash is ever logged or put in an exception; logs name accounts by id only.
"""

from __future__ import annotations

import functools
import logging
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fairwell.domain.users import (
    JOB_BOUND_ROLES,
    Permission,
    Role,
    User,
    check_password,
    check_role,
    check_username,
    may,
)
from fairwell.errors import InvalidInput, NotFound
from fairwell.errors import NotAllowed as NotAllowed
from fairwell.ports import JobManagers, UserStore
from fairwell.services.password_policy import check_strength

log = logging.getLogger(__name__)
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A hash with the current parameters, verified when the username is unknown.

    Computed once per process, at the first sign-in whoever signs in, so that a first attempt
    with an unknown name takes no longer than one with a known name.
    """
    return _HASHER.hash("fairwell: no such user")


def add_user(
    store: UserStore, username: str, password: str, role: Role, *, actor: str, now: datetime
) -> User:
    """Create an account; raise InvalidInput for a bad or taken username or a weak password."""
    name = check_username(username)
    check_password(password, name)
    check_strength(password, name)
    user = store.add(name, _HASHER.hash(password), check_role(role), actor, now)
    log.info("user %d added as %s", user.id, user.role.value)
    return user


def authenticate(store: UserStore, username: str, password: str) -> User | None:
    """Return the account when the password is right and the account is enabled, else None.

    An unknown (or malformed) username costs one verification too, against a dummy hash, so
    the time taken does not tell whether the account exists. A hash made with older
    parameters is replaced after a successful sign-in.
    """
    dummy = _dummy_hash()
    try:
        found = store.by_username(check_username(username))
    except InvalidInput:
        found = None
    if found is None:
        _verify(dummy, password)
        log.info("sign-in refused: unknown username")
        return None
    user, stored = found
    if not _verify(stored, password, user.id):
        log.info("sign-in refused for user %d: wrong password", user.id)
        return None
    if user.disabled:
        log.info("sign-in refused for user %d: disabled", user.id)
        return None
    if _HASHER.check_needs_rehash(stored):
        store.set_hash(user.id, _HASHER.hash(password))
        log.info("user %d: password rehashed with the current parameters", user.id)
    return user


def _verify(stored: str, password: str, user_id: int | None = None) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except InvalidHashError:
        log.error("user %s: the stored password hash is not an argon2 hash", user_id)
        return False
    except VerificationError:  # a wrong password (VerifyMismatchError) among them
        return False


def change_password(
    store: UserStore, user: User, current: str, new: str, *, actor: str, now: datetime
) -> None:
    """Replace the user's password after checking the current one and the new one's strength.

    Raise InvalidInput, saying which, when the current password is wrong or the new one is
    weak. The caller ends the user's other sessions (web/account.py).
    """
    found = store.by_username(user.username)
    if found is None or not _verify(found[1], current, user.id):
        raise InvalidInput("current password: that is not your current password")
    check_password(new, user.username)
    check_strength(new, user.username)
    if new == current:
        raise InvalidInput("new password: choose a password you have not used here")
    store.change_password(user.id, _HASHER.hash(new), actor, now)
    log.info("user %d changed their password", user.id)


def disable_user(store: UserStore, username: str, *, actor: str, now: datetime) -> None:
    """Refuse the account's sign-ins from now on and end every session it has.

    Raise NotFound for an unknown username, InvalidInput for one that cannot exist.
    """
    store.disable(check_username(username), actor, now)


def assign_manager(
    users: UserStore, managers: JobManagers, username: str, job_id: int, actor: str, now: datetime
) -> str:
    """Let a hiring manager see the job (they see only the jobs assigned to them); their
    username. Raise NotFound for an unknown user, InvalidInput for one not a hiring manager."""
    found = users.by_username(check_username(username))
    if found is None:
        raise NotFound(f"no user {username!r}")
    user = found[0]
    if user.role is not Role.HIRING_MANAGER:
        raise InvalidInput(f"{user.username} is a {user.role.value}, not a hiring manager")
    managers.assign(job_id, user.id, actor, now)
    return user.username


def list_users(store: UserStore) -> list[User]:
    """Every account, by username; without hashes."""
    return store.all()


def acting_user(
    store: UserStore,
    managers: JobManagers,
    username: str | None,
    permission: Permission,
    *,
    job_id: int | None = None,
) -> User:
    """The user a command acts as, once it is certain they may do this; else raise.

    Nobody decides anonymously: without a name this raises InvalidInput saying how to give
    one. The user must exist, be enabled and hold a role allowed ``permission`` (as in the web
    app); a hiring manager only for a job assigned to them (``job_id``).
    """
    if not username or not username.strip():
        raise InvalidInput(
            f"name yourself to {permission}: --as USERNAME or FAIRWELL_USER=USERNAME "
            "(`fairwell users list` lists the users)"
        )
    name = check_username(username)
    found = store.by_username(name)
    if found is None:
        raise NotFound(f"no user named {name!r}; `fairwell users list` lists them")
    user = found[0]
    if user.disabled:
        raise NotAllowed(f"user {name!r} is disabled")
    if not may(user.role, permission):
        raise NotAllowed(f"{name} is {_a(user.role)}, who may not {permission}")
    if (
        user.role in JOB_BOUND_ROLES
        and job_id is not None
        and job_id not in managers.jobs_of(user.id)
    ):
        raise NotAllowed(
            f"{name} does not look after this job; an admin can run "
            f"`fairwell users assign --username {name} --job TITLE`"
        )
    log.info("user %d acts: %s", user.id, permission.name.lower())
    return user


def _a(role: Role) -> str:
    words = role.value.replace("_", " ")
    return f"an {words}" if words[0] in "aeiou" else f"a {words}"
