"""Local user accounts: roles, and the rules a username and a password must meet.

Pure: no hashing here (that is a service's job), no storage, no clock. A refused password is
never repeated in an error message, so it cannot end up in a log or on a screen.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from fairwell.errors import InvalidInput

USERNAME_MIN = 3
USERNAME_MAX = 64
PASSWORD_MIN = 12
# Hashing cost grows with the length; a cap keeps one sign-in from tying up a worker.
PASSWORD_MAX = 1024

# ASCII only, checked before lower-casing: str.lower() maps some non-ASCII letters to ASCII
# ones (the Kelvin sign to "k"), which would let two spellings name one account.
_USERNAME = re.compile(r"[A-Za-z0-9._@-]+")


class Role(StrEnum):
    """What a signed-in person may do; the web app decides which role may do what."""

    ADMIN = "admin"
    RECRUITER = "recruiter"
    HIRING_MANAGER = "hiring_manager"
    INTERVIEWER = "interviewer"


class Permission(StrEnum):
    """A decision someone takes on behalf of a person; the value reads after "may not"."""

    REJECT = "reject applicants"
    REVIEW_FEEDBACK = "approve, edit or downgrade feedback"
    ANSWER_REQUESTS = "answer feedback requests"
    INVITE_FROM_POOL = "write to people on file about a role"
    PRIVACY = "erase people or record and release legal holds"
    AUTO_SEND = "let a job's letters go without confirming each plan"


# Who may do what, as the web app lets them (web/common.py, web/reviews.py): recruiters and
# admins run the pipeline, hiring managers also review feedback and answer requests (only for
# the jobs assigned to them), admins alone handle erasure and legal holds. Interviewers fill
# in scorecards and decide nothing else.
STAFF_ROLES = frozenset({Role.ADMIN, Role.RECRUITER})
REVIEWER_ROLES = STAFF_ROLES | {Role.HIRING_MANAGER}
ALLOWED_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.REJECT: STAFF_ROLES,
    Permission.REVIEW_FEEDBACK: REVIEWER_ROLES,
    Permission.ANSWER_REQUESTS: REVIEWER_ROLES,
    Permission.INVITE_FROM_POOL: STAFF_ROLES,
    Permission.PRIVACY: frozenset({Role.ADMIN}),
    Permission.AUTO_SEND: STAFF_ROLES,
}
# Roles that act only on the jobs assigned to them (`fairwell users assign`).
JOB_BOUND_ROLES = frozenset({Role.HIRING_MANAGER})


def may(role: Role, permission: Permission) -> bool:
    return role in ALLOWED_ROLES[permission]


@dataclass(frozen=True, slots=True)
class User:
    """An account, without its password hash (that stays in the store and the service).

    ``session_version`` goes up whenever every session of the user must end (disabling the
    account); a session records the version it was issued under and is valid only while the
    two are equal.
    """

    id: int
    username: str
    role: Role
    disabled: bool
    session_version: int


def check_username(raw: str) -> str:
    """Return the username stripped and lower-cased, or raise InvalidInput.

    A username is 3 to 64 ASCII letters, digits, dots, underscores, hyphens or at signs
    (an email address fits).
    """
    name = raw.strip()
    if not USERNAME_MIN <= len(name) <= USERNAME_MAX:
        raise InvalidInput(
            f"username: use {USERNAME_MIN} to {USERNAME_MAX} characters, got {len(name)}"
        )
    if not _USERNAME.fullmatch(name):
        raise InvalidInput("username: use only letters a-z, digits and . _ - @")
    return name.lower()


def check_role(raw: str) -> Role:
    """Return the role named ``raw`` ("hiring-manager" and "Hiring Manager" are accepted too).

    Raise InvalidInput, listing the roles, for anything else.
    """
    key = raw.strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return Role(key)
    except ValueError:
        choices = ", ".join(role.value for role in Role)
        raise InvalidInput(f"role: {raw.strip()!r} is not one of {choices}") from None


def check_password(password: str, username: str) -> None:
    """Raise InvalidInput when ``password`` is too short, too long or contains the username.

    Lengths are counted in characters. The username is compared without regard to case.
    The message says what is wrong and never contains the password.
    """
    if len(password) < PASSWORD_MIN:
        raise InvalidInput(f"password: use at least {PASSWORD_MIN} characters")
    if len(password) > PASSWORD_MAX:
        raise InvalidInput(f"password: use at most {PASSWORD_MAX} characters")
    name = username.strip().lower()
    if name and name in password.lower():
        raise InvalidInput("password: must not contain the username")
