"""Every letter can carry a personal portal link: signed, expiring, and never someone else's."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from fairwell.config import load_settings
from fairwell.domain.eligibility import History
from fairwell.domain.model import Application, Decision, Job, Person, Source, Stage
from fairwell.errors import ConfigurationError, InvalidPortalToken
from fairwell.guard.privacy import Expectation, inspect
from fairwell.guard.roster import Roster, RosterEntry
from fairwell.ports import ApplicantView
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import Composer, Sender
from fairwell.services.portal import PortalLinks

KEY = "k" * 40
PORTAL = PortalLinks("https://careers.example.com/p", KEY)
WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JOB = Job(1, "Data Analyst")
LINK = re.compile(r"https://careers\.example\.com/p/(\S+)")


def view(number: int, first: str, last: str) -> ApplicantView:
    person = Person(number, f"{first.lower()}@example.com", first, last, "en")
    application = Application(number, f"FW-{number:010d}", 1, number, Stage.ONSITE, Source.APPLIED)
    decision = Decision(number, number, "position-filled", None, WHEN)
    return ApplicantView(application, person, History(has_active_decision=True), decision)


ANN, BOB = view(1, "Ann", "Lee"), view(2, "Bob", "Stone")
ROSTER = Roster(
    RosterEntry(v.person.id, v.person.email, v.person.full_name, (v.application.ref,))
    for v in (ANN, BOB)
)


def letter_text(composer: Composer, who: ApplicantView) -> str:
    return composer.compose(who, JOB, ROSTER, WHEN).body.decode("ascii")


def test_each_letter_links_to_its_own_application_with_a_valid_signature() -> None:
    composer = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"), PORTAL)
    unwrapped = letter_text(composer, ANN).replace("=\r\n", "")
    token = LINK.search(unwrapped).group(1)  # type: ignore[union-attr]
    assert PORTAL.application_ref(token, max_age_seconds=3600) == ANN.application.ref


def test_a_tampered_foreign_or_expired_token_is_refused() -> None:
    token = PORTAL.link(ANN.application.ref).rsplit("/", 1)[1]
    forged = token.replace(ANN.application.ref, BOB.application.ref)
    other_key = PortalLinks(PORTAL.base_url, "x" * 40)
    for bad, age in ((forged, 3600), (token, -1)):
        with pytest.raises(InvalidPortalToken):
            PORTAL.application_ref(bad, max_age_seconds=age)
    with pytest.raises(InvalidPortalToken):
        other_key.application_ref(token, max_age_seconds=3600)


def test_another_candidates_link_in_a_letter_is_held_by_the_guard() -> None:
    composer = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"), PORTAL)
    letter = composer.compose(ANN, JOB, ROSTER, WHEN)
    assert letter.findings == ()
    bobs_link = PORTAL.link(BOB.application.ref).encode()
    leaked = letter.body.replace(b"Kind regards,", b"See also " + bobs_link + b"\r\nKind regards,")
    expectation = Expectation(ANN.person.email, ANN.person.id, "en", Stage.ONSITE, ROSTER)
    assert "no-other-candidate" in {finding.rule for finding in inspect(leaked, expectation)}


def test_without_a_portal_there_is_no_link() -> None:
    composer = Composer(LetterTemplates(), Sender("careers@acme.example.com", "", "Acme"))
    assert "personal page" not in letter_text(composer, ANN)


def test_a_portal_without_a_long_enough_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="secret_key"):
        load_settings(portal_url="https://careers.example.com/p")
    with pytest.raises(ConfigurationError, match="secret_key"):
        load_settings(portal_url="https://careers.example.com/p", secret_key="short")
