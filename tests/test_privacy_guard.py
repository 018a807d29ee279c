"""The privacy guard on final bytes: every rule is tried with a letter that breaks it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fairwell.domain.mime import Mailbox, OutgoingLetter, to_bytes
from fairwell.domain.model import Stage
from fairwell.guard.privacy import RULES, Expectation, SendTimeFacts, inspect
from fairwell.guard.roster import Roster, RosterEntry

WHEN = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
ANN = RosterEntry(1, "ann.lee@example.com", "Ann Lee", ("FW-ANN0000001",))
MARY = RosterEntry(2, "mary@example.org", "Mary Ann Lee", ("FW-MARY000002",))
BOB = RosterEntry(3, "bob@example.com", "Bob Stone", ("FW-BOB0000003",))
ROSTER = Roster([ANN, MARY, BOB])


def letter_bytes(
    to: RosterEntry = MARY, text: str | None = None, locale: str = "en", subject: str = "Hi"
) -> bytes:
    body = (
        text
        if text is not None
        else (
            f"Dear {to.full_name.split()[0]},\n\nthank you for your application. We are sorry to "
            f"tell you that we will not move forward with it.\n\nYour reference: "
            f"{to.application_refs[0]}\n"
        )
    )
    return to_bytes(
        OutgoingLetter(
            sender=Mailbox("careers@acme.example.com", "Acme"),
            recipient=Mailbox(to.email, to.full_name),
            subject=subject,
            text=body,
            html=f"<p>{body}</p>",
            locale=locale,
            message_id="<m1@acme.example.com>",
            date=WHEN,
        )
    )


def expect(to: RosterEntry = MARY, **kwargs: object) -> Expectation:
    values: dict[str, object] = dict(
        envelope_recipient=to.email,
        addressee_id=to.person_id,
        locale="en",
        planned_stage=Stage.ONSITE,
        roster=ROSTER,
    )
    values.update(kwargs)
    return Expectation(**values)  # type: ignore[arg-type]


def rules_broken(raw: bytes, expectation: Expectation) -> set[str]:
    return {finding.rule for finding in inspect(raw, expectation)}


def test_every_rule_has_a_name_and_a_one_line_description() -> None:
    names = [rule.name for rule in RULES]
    assert len(names) == len(set(names))
    assert all(rule.description and "\n" not in rule.description for rule in RULES)


def test_it_passes_a_clean_letter() -> None:
    assert inspect(letter_bytes(), expect()) == []


def test_it_does_not_hold_a_letter_for_its_own_addressees_name_that_contains_another() -> None:
    text = "Dear Mary Ann Lee,\n\nthank you for your application and your time with us.\n"
    assert rules_broken(letter_bytes(MARY, text), expect(MARY)) == set()


def test_it_holds_a_letter_that_mentions_another_candidates_name() -> None:
    text = "Dear Mary,\n\nthank you. We chose Bob Stone for the role.\n"
    assert rules_broken(letter_bytes(MARY, text), expect()) == {"no-other-candidate"}


def test_it_holds_another_candidates_name_across_a_line_break_and_in_other_case() -> None:
    text = "Dear Mary,\n\nthank you for your time. We chose BOB\nSTONE for the role.\n"
    assert rules_broken(letter_bytes(MARY, text), expect()) == {"no-other-candidate"}


def test_it_holds_another_candidates_address_or_reference() -> None:
    for leak in ("bob@example.com", "fw-bob0000003"):
        text = f"Dear Mary,\n\nthank you for your time with us. Copy: {leak}.\n"
        assert rules_broken(letter_bytes(MARY, text), expect()) == {"no-other-candidate"}


def test_it_holds_another_candidate_in_the_subject_header() -> None:
    raw = letter_bytes(MARY, subject="About Bob Stone")
    assert "no-other-candidate" in rules_broken(raw, expect())


def test_an_address_inside_a_longer_address_is_not_a_mention() -> None:
    roster = Roster(
        [
            RosterEntry(1, "alice@example.com", "Alice Green"),
            RosterEntry(2, "malice@example.com", "Mal Ice"),
        ]
    )
    text = "Dear Mal,\n\nthank you for your application to us. We wrote to malice@example.com.\n"
    owner = RosterEntry(2, "malice@example.com", "Mal Ice", ("FW-X",))
    assert roster.mentions_of_others(text, 2) == []
    assert rules_broken(letter_bytes(owner, text), expect(owner, roster=roster)) == set()


def test_it_holds_a_to_header_that_differs_from_the_envelope() -> None:
    raw = letter_bytes(MARY)
    assert "one-recipient" in rules_broken(raw, expect(envelope_recipient="other@example.com"))


def test_it_holds_a_letter_with_a_cc_header_even_if_someone_smuggled_one_in() -> None:
    raw = letter_bytes().replace(b"MIME-Version:", b"Cc: x@evil.example\r\nMIME-Version:", 1)
    assert "one-recipient" in rules_broken(raw, expect())


def test_it_holds_a_to_header_with_two_addresses() -> None:
    raw = letter_bytes().replace(b"To: ", b"To: x@evil.example, ", 1)
    assert "one-recipient" in rules_broken(raw, expect())


def test_it_holds_a_bare_line_feed_or_nul_in_the_headers() -> None:
    for bad in (b"Subject: Hi\nBcc: x@evil.example", b"Subject: Hi\0"):
        raw = letter_bytes().replace(b"Subject: Hi", bad, 1)
        assert "safe-headers" in rules_broken(raw, expect())


@pytest.mark.parametrize("placeholder", ["{{ first_name }}", "{first_name}", "%NAME%", "[Name]"])
def test_it_holds_an_unrendered_placeholder(placeholder: str) -> None:
    text = f"Dear {placeholder},\n\nthank you for your application to us and your time.\n"
    assert "no-placeholder" in rules_broken(letter_bytes(MARY, text), expect())


def test_it_holds_an_empty_greeting() -> None:
    text = "Dear ,\n\nthank you for your application to us and for your time.\n"
    assert rules_broken(letter_bytes(MARY, text), expect()) == {"no-empty-greeting"}


def test_it_holds_a_letter_in_the_wrong_language() -> None:
    german = "Guten Tag Mary,\n\nvielen Dank für Ihre Bewerbung. Wir haben uns für eine andere Person entschieden, und wir danken Ihnen.\n"  # noqa: E501
    assert rules_broken(letter_bytes(MARY, german, locale="en"), expect()) == {"right-language"}
    assert rules_broken(letter_bytes(MARY, german, locale="de"), expect(locale="de")) == set()


def test_at_send_time_it_holds_a_letter_whose_addressee_was_hired_since() -> None:
    facts = SendTimeFacts(
        current_stage=Stage.HIRED,
        erased=False,
        suppressed=False,
        decision_active=True,
        already_sent=False,
    )
    assert rules_broken(letter_bytes(), expect(facts=facts)) == {"still-eligible"}


def test_a_message_built_by_us_refuses_header_injection() -> None:
    from fairwell.errors import UnsafeHeaderValue

    with pytest.raises(UnsafeHeaderValue):
        letter_bytes(subject="Hello\r\nBcc: x@evil.example")


def test_a_display_name_with_a_comma_is_still_one_recipient() -> None:
    comma = RosterEntry(4, "zoe@example.com", "Müller, Zoë", ("FW-ZOE0000004",))
    roster = Roster([comma, BOB])
    text = "Dear Zoë,\n\nthank you for your application and your time with us.\n"
    raw = letter_bytes(comma, text)
    assert rules_broken(raw, expect(comma, roster=roster)) == set()


def test_a_to_header_with_two_mailboxes_in_any_shape_is_held() -> None:
    for to in (b"To: Bob <bob@example.com>, Eve <eve@example.com>", b"To: a@example.com, b@x.org"):
        raw = letter_bytes().replace(b"To: ", to + b"\r\nX-Old-To: ", 1)
        assert "one-recipient" in rules_broken(raw, expect())
