"""Property tests: random rosters of look-alike people, real templates, real guard."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime
from email import message_from_bytes
from email.utils import getaddresses

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fairwell.domain.eligibility import History
from fairwell.domain.model import Application, Decision, Job, Person, Source, Stage
from fairwell.guard.privacy import Finding
from fairwell.guard.roster import Roster, RosterEntry
from fairwell.ports import ApplicantView
from fairwell.rendering import LetterTemplates
from fairwell.services.compose import ComposedLetter, Composer, Sender

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
JOB = Job(1, "Business Product Manager")
FIRST = ["Ann", "Anne", "Anna", "Mary Ann", "Zoë", "Zoe", "José", "Jose", "Li", "Lee"]
LAST = ["Lee", "Leé", "Li", "Lee-Smith", "Smith", "Ann", "Müller", "Muller"]
TEMPLATES = LetterTemplates()
COMPOSER = Composer(TEMPLATES, Sender("careers@acme.example.com", "Acme hiring", "Acme"))


def people(rng: random.Random, count: int) -> list[ApplicantView]:
    views = []
    for index in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".replace(" ", "").encode("ascii", "ignore").decode().lower()
        plus = f"+{rng.choice(['jobs', 'cv'])}" if rng.random() < 0.2 else ""
        email = f"{local}{plus}.{index}@example.{rng.choice(['com', 'org'])}"
        person = Person(index + 1, email, first, last, rng.choice(["en", "de"]))
        application = Application(
            id=index + 1,
            ref=f"FW-{index:010d}",
            job_id=1,
            person_id=index + 1,
            stage=rng.choice([Stage.SCREEN, Stage.PHONE, Stage.ONSITE, Stage.APPLIED]),
            source=rng.choice([Source.APPLIED, Source.APPLIED, Source.REFERRED]),
            referral_aware=rng.choice([True, False, None]),
        )
        decision = Decision(index + 1, index + 1, "position-filled", None, WHEN)
        views.append(
            ApplicantView(application, person, History(has_active_decision=True), decision)
        )
    return views


def roster_of(views: list[ApplicantView]) -> Roster:
    return Roster(
        RosterEntry(v.person.id, v.person.email, v.person.full_name, (v.application.ref,))
        for v in views
    )


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), count=st.integers(1, 2000))
def test_every_letter_has_one_recipient_and_mentions_nobody_else(seed: int, count: int) -> None:
    views = people(random.Random(seed), count)
    roster = roster_of(views)
    for view in views:
        letter = COMPOSER.compose(view, JOB, roster, WHEN)
        assert letter.findings == ()
        message = message_from_bytes(letter.body)
        to = getaddresses(message.get_all("To", []))
        assert [address for _, address in to] == [view.person.email]
        assert message.get_all("Cc") is None and message.get_all("Bcc") is None


class NextPersonsDataRenderer:
    """A broken renderer: it fills each letter with the next person's data."""

    def __init__(self, views: list[ApplicantView]) -> None:
        self.next_of = {v.person.id: views[(i + 1) % len(views)] for i, v in enumerate(views)}

    def context(self, view: ApplicantView) -> ApplicantView:
        return self.next_of[view.person.id]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), count=st.integers(2, 2000))
def test_a_renderer_that_uses_the_next_persons_data_is_always_caught(seed: int, count: int) -> None:
    views = people(random.Random(seed), count)
    roster = roster_of(views)
    broken = NextPersonsDataRenderer(views)

    class LeakyComposer(Composer):
        def context(self, view: ApplicantView, job: Job, reason: str) -> dict[str, object]:
            return super().context(broken.context(view), job, reason)

    leaky = LeakyComposer(TEMPLATES, COMPOSER.sender)
    for view in views:
        letter = leaky.compose(view, JOB, roster, WHEN)
        assert "no-other-candidate" in {finding.rule for finding in letter.findings}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32), count=st.integers(2, 300), hashed=st.booleans())
def test_letters_guarded_a_batch_at_a_time_get_the_findings_they_get_one_by_one(
    seed: int, count: int, hashed: bool
) -> None:
    # Every other letter is filled with the next person's data: a batch holds leaks and
    # clean letters side by side, and each must be told apart as it is alone.
    views = people(random.Random(seed), count)
    entries = [
        RosterEntry(v.person.id, v.person.email, v.person.full_name, (v.application.ref,))
        for v in views
    ]
    roster = Roster(entries, compact_from=0 if hashed else 10**9)
    broken = NextPersonsDataRenderer(views)

    class SometimesLeaky(Composer):
        def context(self, view: ApplicantView, job: Job, reason: str) -> dict[str, object]:
            leaks = view.person.id % 2 == 0
            return super().context(broken.context(view) if leaks else view, job, reason)

    composer = SometimesLeaky(TEMPLATES, COMPOSER.sender)
    unguarded = [composer.compose(v, JOB, roster, WHEN, guard=False) for v in views]
    together = Composer.guarded(unguarded, roster)
    alone = [composer.compose(v, JOB, roster, WHEN) for v in views]
    # Bodies differ (each composition has its own Message-ID): compare what the guard said.
    assert [letter.findings for letter in together] == [letter.findings for letter in alone]
    flagged = [bool(letter.findings) for letter in together]
    assert any(flagged) and not all(flagged)


def test_a_guarded_letter_keeps_every_field_but_findings_and_seal() -> None:
    # Composer.guarded builds the guarded letter field by field: a field it left out would
    # be reset to its default, or the build would fail.
    views = people(random.Random(7), 2)
    entries = [
        RosterEntry(v.person.id, v.person.email, v.person.full_name, (v.application.ref,))
        for v in views
    ]
    roster = Roster(entries)
    roster.version = 3  # a sealed letter needs the roster's version
    composer = Composer(TEMPLATES, COMPOSER.sender)
    letter = composer.compose(views[0], JOB, roster, WHEN, guard=False)
    own = (Finding("own-rule", "a finding of the letter's own", "detail"),)
    letter = dataclasses.replace(letter, findings=own, keep_until=WHEN.date())
    (guarded,) = Composer.guarded([letter], roster)
    assert isinstance(guarded, ComposedLetter)
    expected = dataclasses.replace(letter, findings=guarded.findings, seal=guarded.seal)
    assert guarded == expected
    assert guarded.findings == own and guarded.seal is not None
