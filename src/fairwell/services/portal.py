"""Personal links to the candidate portal: signed, expiring, one per application.

A token is the application's public reference, a timestamp and a signature
(``FW-7K2M9QXA4B~<time>~<signature>``, itsdangerous with a salt of its own). The reference
stays readable on purpose: another candidate's link in a letter then contains that
candidate's reference, which the privacy guard already refuses. The portal itself (issue 5)
verifies the signature and the age; it never needs anything but the token.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner

from fairwell.errors import InvalidInput

LETTER_LINK_SALT = "fairwell.portal.letter-link"
SEPARATOR = "~"  # not a word character, so a reference inside a link is still a whole token


class InvalidPortalToken(InvalidInput):
    """A link that was tampered with, signed with another key, or is too old."""


@dataclass(frozen=True, slots=True)
class PortalLinks:
    base_url: str
    secret_key: str

    def _signer(self) -> TimestampSigner:
        return TimestampSigner(self.secret_key, salt=LETTER_LINK_SALT, sep=SEPARATOR)

    def link(self, application_ref: str) -> str:
        token = self._signer().sign(application_ref).decode("ascii")
        return f"{self.base_url.rstrip('/')}/{token}"

    def application_ref(self, token: str, max_age_seconds: int) -> str:
        """The reference a token was made for, or InvalidPortalToken."""
        try:
            return self._signer().unsign(token, max_age=max_age_seconds).decode("ascii")
        except SignatureExpired:
            raise InvalidPortalToken("this link has expired") from None
        except BadSignature:
            raise InvalidPortalToken("this link is not valid") from None
