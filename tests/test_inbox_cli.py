"""`fairwell inbox` and `fairwell suppressions` as scripts use them: JSON, exit codes, one-line
errors; and the answer to a request that came by mail, threaded, as the relay received it."""

from __future__ import annotations

import json
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest

from fairwell.delivery.sink import MailSink, read_sink
from tests.helpers import add_cli_user, applicant, write_csv
from tests.inbound_mail import delivery_report, drop, reply, waiting
from tests.smtp_server import unused_port
from tests.test_cli import run


@pytest.fixture
def env(tmp_path: Path, sink: MailSink) -> dict[str, str]:
    """Three people rejected and written to; replies and bounces arrive in a Maildir."""
    settings = {
        "FAIRWELL_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
        "FAIRWELL_SMTP_PORT": str(sink.port),
        "FAIRWELL_FROM": "careers@acme.example.com",
        "FAIRWELL_BOUNCE_ADDRESS": "bounces@acme.example.com",
        "FAIRWELL_INBOX_MAILDIR": str(tmp_path / "Maildir"),
        "FAIRWELL_SEND_WINDOWS": "off",
    }
    rows = [applicant(f"p{i}@example.com", "Pat", f"Doe{i}") for i in range(3)]
    assert run(settings, "init")[0] == 0
    assert run(settings, "import", str(write_csv(tmp_path / "a.csv", rows)))[0] == 0
    add_cli_user(settings, tmp_path, "rita", "recruiter")
    settings["FAIRWELL_USER"] = "rita"  # decisions are made by a named user
    job = ("--job", "Data Analyst")
    assert (
        run(settings, "reject", *job, "--all-except-hired", "--reason", "position-filled")[0] == 0
    )
    code, out, _ = run(settings, "send", *job, "--yes")
    assert code == 0, out
    drop(tmp_path / "Maildir")
    return settings


def letter_to(sink: MailSink, address: str) -> tuple[str, str]:
    """The Message-ID and Subject of the letter the relay received for ``address``."""
    for message in read_sink(sink.directory):
        if message.rcpt_tos == [address]:
            parsed = message_from_bytes(message.data, policy=default)
            return str(parsed["Message-ID"]), str(parsed["Subject"])
    raise AssertionError(f"no letter to {address}")


def test_letters_go_from_the_bounce_address(env: dict[str, str], sink: MailSink) -> None:
    senders = {message.mail_from for message in read_sink(sink.directory)}
    assert senders == {"bounces@acme.example.com"}
    parsed = message_from_bytes(read_sink(sink.directory)[0].data, policy=default)
    assert "careers@acme.example.com" in str(parsed["From"]), "From: stays the careers address"


def test_fetch_prints_the_five_counts_as_json(
    env: dict[str, str], sink: MailSink, tmp_path: Path
) -> None:
    maildir = tmp_path / "Maildir"
    first, _ = letter_to(sink, "p0@example.com")
    second, _ = letter_to(sink, "p1@example.com")
    drop(
        maildir,
        reply(sender="p0@example.com", in_reply_to=first),
        reply(sender="p2@example.com", subject="Out of office", headers={"X-Autoreply": "yes"}),
        delivery_report(original_id=second, address="p1@example.com"),
        reply(sender="someone@elsewhere.example", subject="Hello", quoted=False),
    )
    code, out, err = run(env, "inbox", "fetch", "--json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "replies": 1,
        "requests_created": 1,
        "bounces": 1,
        "auto_replies": 1,
        "unmatched": 1,
    }
    assert waiting(maildir) == (0, 4)
    unmatched = json.loads(run(env, "inbox", "unmatched", "--json")[1])
    assert [(u["sender"], u["subject"]) for u in unmatched] == [
        ("someone@elsewhere.example", "Hello")
    ]
    status = json.loads(run(env, "outbox", "status", "--json")[1])
    assert status["counts"] == {"sent": 2, "bounced": 1}
    assert json.loads(run(env, "requests", "--json")[1])[0]["email"] == "p0@example.com"


def test_the_answer_to_a_mailed_question_goes_back_in_the_same_thread(
    env: dict[str, str], sink: MailSink, tmp_path: Path
) -> None:
    ours, subject = letter_to(sink, "p0@example.com")
    theirs = "<question-1@mail.example.net>"
    drop(
        tmp_path / "Maildir",
        reply(
            sender="p0@example.com",
            message_id=theirs,
            in_reply_to=ours,
            references=ours,
            subject=f"Re: {subject}",
        ),
    )
    assert run(env, "inbox", "fetch")[0] == 0
    [request] = json.loads(run(env, "requests", "--json")[1])
    text = "We needed more experience with SQL reporting for this role."
    code, out, err = run(env, "requests", "answer", str(request["id"]), "--text", text)
    assert code == 0, out + err
    answer = read_sink(sink.directory)[-1]
    assert answer.rcpt_tos == ["p0@example.com"]
    parsed = message_from_bytes(answer.data, policy=default)
    assert str(parsed["In-Reply-To"]) == theirs
    assert str(parsed["References"]).split() == [ours, theirs]
    assert str(parsed["Subject"]) == f"Re: {subject}", "one Re:, not two"


def test_a_maildir_that_cannot_be_read_is_one_line_and_exit_1(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out, err = run(
        {**env, "FAIRWELL_INBOX_MAILDIR": str(tmp_path / "gone")}, "inbox", "fetch"
    )
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "gone" in err


def test_an_imap_server_that_cannot_be_reached_is_one_line_and_exit_1(
    env: dict[str, str],
) -> None:
    imap = {key: value for key, value in env.items() if key != "FAIRWELL_INBOX_MAILDIR"} | {
        "FAIRWELL_IMAP_HOST": "127.0.0.1",
        "FAIRWELL_IMAP_PORT": str(unused_port()),
        "FAIRWELL_IMAP_USERNAME": "careers",
        "FAIRWELL_IMAP_PASSWORD": "not-shown-anywhere",
    }
    code, out, err = run(imap, "inbox", "fetch", "--json")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "cannot reach the mailbox 127.0.0.1" in err
    assert "not-shown-anywhere" not in err


def test_fetch_without_an_inbox_is_a_configuration_error(env: dict[str, str]) -> None:
    bare = {key: value for key, value in env.items() if key != "FAIRWELL_INBOX_MAILDIR"}
    code, _, err = run(bare, "inbox", "fetch")
    assert code == 3 and "FAIRWELL_INBOX_MAILDIR" in err


def test_suppressions_are_listed_added_and_removed(env: dict[str, str]) -> None:
    assert json.loads(run(env, "suppressions", "--json")[1]) == []
    code, out, _ = run(env, "suppressions", "add", "P2@Example.com", "--reason", "asked us not to")
    assert (code, out.strip()) == (0, "suppressed")
    assert run(env, "suppressions", "add", "p2@example.com")[1].strip().startswith("already")
    [entry] = json.loads(run(env, "suppressions", "--json")[1])
    assert set(entry) == {"email", "reason", "since"}
    assert (entry["email"], entry["reason"]) == ("p2@example.com", "asked us not to")
    assert run(env, "suppressions", "remove", "p2@example.com")[0] == 0
    code, _, err = run(env, "suppressions", "remove", "p2@example.com")
    assert code == 1 and err.count("\n") == 1
    code, _, err = run(env, "suppressions", "add", "not an address")
    assert code == 1 and err.count("\n") == 1


def test_the_plan_shows_a_suppressed_address_as_skipped_with_the_reason(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = [applicant("new@example.com", "Nia", "New")]
    assert run(env, "import", str(write_csv(tmp_path / "b.csv", rows)))[0] == 0
    run(
        env,
        "reject",
        "--job",
        "Data Analyst",
        "--email",
        "new@example.com",
        "--reason",
        "position-filled",
    )
    run(env, "suppressions", "add", "new@example.com", "--reason", "bounced before")
    plan = json.loads(run(env, "plan", "--job", "Data Analyst", "--json")[1])
    assert plan["ready"] == 0
    assert {
        "email": "new@example.com",
        "stage": "screen",
        "reason": "address suppressed: bounced before",
    } in plan["skipped"]
