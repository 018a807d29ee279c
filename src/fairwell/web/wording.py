"""Words every page shares: counts with the right plural, role names, and each role's menu.

"41 letters", "1 letter", "2 people": never "letter(s)". English plurals are all the staff
pages need; the candidate portal speaks the letter's language from web/portal_text.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from fairwell.domain.users import Role, User
from fairwell.domain.words import plural as plural  # the pages' name for it

ROLE_NAMES = {
    Role.ADMIN: "admin",
    Role.RECRUITER: "recruiter",
    Role.HIRING_MANAGER: "hiring manager",
    Role.INTERVIEWER: "interviewer",
}


def role_name(role: Role) -> str:
    return ROLE_NAMES[role]


@dataclass(frozen=True, slots=True)
class MenuItem:
    label: str
    href: str

    def is_current(self, path: str) -> bool:
        return path == self.href or (self.href != "/home" and path.startswith(self.href + "/"))


_READERS = (Role.ADMIN, Role.RECRUITER, Role.HIRING_MANAGER)
_STAFF = (Role.ADMIN, Role.RECRUITER)
# Each link with the roles whose pages let them in: a menu never leads to a refusal.
_MENU: tuple[tuple[str, str, tuple[Role, ...]], ...] = (
    ("Home", "/home", tuple(Role)),
    ("My interviews", "/interviews", (Role.INTERVIEWER,)),
    ("Jobs", "/jobs", _READERS),
    ("Feedback", "/feedback", _READERS),
    ("Requests", "/requests", _READERS),
    ("Outbox", "/outbox", _STAFF),
    ("Deadlines", "/deadlines", _STAFF),
    ("Settings", "/settings", (Role.ADMIN,)),
    ("Data requests", "/data-requests", (Role.ADMIN,)),
    ("Suppressions", "/suppressions", (Role.ADMIN,)),
    ("Webhooks", "/webhooks", (Role.ADMIN,)),
)


def menu(request: Request, user: User) -> list[MenuItem]:
    """The links this user's role may open; the demo's Mail for staff when the sink is on."""
    items = [MenuItem(label, href) for label, href, roles in _MENU if user.role in roles]
    if getattr(request.app.state, "mail_viewer", None) is not None and user.role in _STAFF:
        items.append(MenuItem("Mail", "/mail"))
    return items
