"""Personal links to the candidate portal, and the signed forms of its pages.

A link's token is the application's public reference, a timestamp and a signature
(``FW-7K2M9QXA4B~<time>~<signature>``, itsdangerous with a salt of its own). The reference
stays readable on purpose: another candidate's link in a letter then contains that
candidate's reference, which the privacy guard already refuses. The portal needs nothing but
the token.

Each purpose has its own salt, so a token made for one purpose (a form) is never accepted
for another (a link). Keys rotate: new tokens are signed with the current key, tokens signed
with an earlier key (``secret_key_fallbacks``) are still accepted.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from fairwell.errors import ExpiredPortalToken as ExpiredPortalToken
from fairwell.errors import InvalidPortalToken as InvalidPortalToken

LETTER_LINK_SALT = "fairwell.portal.letter-link"
FORM_SALT = "fairwell.portal.form"
SEPARATOR = "~"  # not a word character, so a reference inside a link is still a whole token
FORM_MAX_AGE_SECONDS = 2 * 3600


@dataclass(frozen=True, slots=True)
class PortalLinks:
    """Signs and reads letter links; ``fallback_keys`` are earlier keys, oldest first."""

    base_url: str
    secret_key: str
    fallback_keys: tuple[str, ...] = ()

    def _signer(self) -> TimestampSigner:
        # itsdangerous signs with the last key of the list and verifies with any of them.
        keys = [*self.fallback_keys, self.secret_key]
        return TimestampSigner(keys, salt=LETTER_LINK_SALT, sep=SEPARATOR)

    def token(self, application_ref: str) -> str:
        return self._signer().sign(application_ref).decode("ascii")

    def link(self, application_ref: str) -> str:
        return f"{self.base_url.rstrip('/')}/{self.token(application_ref)}"

    def application_ref(self, token: str, max_age_seconds: int) -> str:
        """The reference a token was made for; ExpiredPortalToken or InvalidPortalToken."""
        try:
            return self._signer().unsign(token, max_age=max_age_seconds).decode("ascii")
        except SignatureExpired as expired:
            # The signature was checked before the age: the payload is authentic.
            raise ExpiredPortalToken(bytes(expired.payload or b"").decode("ascii")) from None
        except (BadSignature, UnicodeDecodeError):
            raise InvalidPortalToken("this link is not valid") from None


@dataclass(frozen=True, slots=True)
class FormClaim:
    """What a portal form was issued for: one application, one action, one random nonce."""

    application_ref: str
    action: str
    nonce: str


@dataclass(frozen=True, slots=True)
class PortalForms:
    """Signed form tokens: the CSRF token of every portal form, carrying a single-use nonce.

    Issuing one writes nothing (a GET stays harmless); the POST that uses it records the
    nonce, so the same form is accepted once.
    """

    secret_key: str
    fallback_keys: tuple[str, ...] = ()

    def _serializer(self) -> URLSafeTimedSerializer:
        keys = [*self.fallback_keys, self.secret_key]
        return URLSafeTimedSerializer(keys, salt=FORM_SALT)

    def issue(self, application_ref: str, action: str) -> str:
        claim = {"r": application_ref, "a": action, "n": secrets.token_urlsafe(18)}
        return str(self._serializer().dumps(claim))

    def read(self, token: str, application_ref: str, action: str) -> FormClaim:
        """The claim of a form sent for this application and action, or InvalidPortalToken."""
        try:
            data = self._serializer().loads(token, max_age=FORM_MAX_AGE_SECONDS)
            claim = FormClaim(str(data["r"]), str(data["a"]), str(data["n"]))
        except (BadSignature, KeyError, TypeError, ValueError):
            raise InvalidPortalToken("this form is not valid or too old") from None
        if claim.application_ref != application_ref or claim.action != action:
            raise InvalidPortalToken("this form was made for something else")
        return claim
