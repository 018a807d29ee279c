"""The IMAP inbox against a real IMAP server: Dovecot on 127.0.0.1, started by the tests.

In CI a missing Dovecot fails loudly (.ci/run installs it); on a laptop the tests skip and
say why.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from fairwell.delivery.inbox import ImapInbox
from fairwell.delivery.sink import MailSink
from fairwell.errors import InboxUnavailable
from fairwell.runtime import Runtime
from fairwell.services import inbox as service
from tests.conftest import FixedClock
from tests.imap_server import DovecotServer, dovecot_binary
from tests.inbound_mail import reply
from tests.test_cli import run
from tests.test_inbox import letter_id, requests_of, written_to


@pytest.fixture
def imap() -> Iterator[DovecotServer]:
    if dovecot_binary() is None:
        why = "Dovecot is not installed (apt-get install dovecot-imapd)"
        if os.environ.get("CI"):
            pytest.fail(f"the IMAP tests need a real server in CI: {why}")
        pytest.skip(f"{why}: the IMAP tests need a real server")
    with DovecotServer() as server:
        yield server


@pytest.fixture
def runtime(
    sqlite_url: str, sink: MailSink, clock: FixedClock, tmp_path: Path
) -> Iterator[Runtime]:
    """Pat Doe0, Doe1 and Doe2 were written to (storage is tested on PostgreSQL elsewhere)."""
    yield from written_to(sqlite_url, sink, clock, tmp_path)


def inbox_for(imap: DovecotServer, **overrides: object) -> ImapInbox:
    options: dict[str, object] = {
        "host": imap.host,
        "port": imap.port,
        "security": "tls",
        "username": imap.user,
        "password": imap.password,
        "ca_file": imap.ca_file,
        "timeout": 10,
        **overrides,
    }
    return ImapInbox(**options)  # type: ignore[arg-type]


def fetch(runtime: Runtime, inbox: ImapInbox) -> service.FetchCounts:
    policy = service.InboxPolicy(business_days=5)
    return service.fetch(inbox, runtime.inbox_store, policy, runtime.clock.now)


def test_a_reply_fetched_over_imaps_opens_a_request_and_is_marked_read(
    imap: DovecotServer, runtime: Runtime
) -> None:
    imap.append(
        reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")),
        reply(sender="p1@example.com", headers={"Auto-Submitted": "auto-replied"}),
    )
    counts = fetch(runtime, inbox_for(imap))
    assert (counts.requests_created, counts.auto_replies) == (1, 1)
    assert requests_of(runtime) == {"p0@example.com": ["Could you tell me why I was not selected?"]}
    assert imap.flags() == {"1": {"\\Seen"}, "2": {"\\Seen"}}
    assert fetch(runtime, inbox_for(imap)).as_json() == dict.fromkeys(counts.as_json(), 0), (
        "a message read once is not fetched again"
    )


def test_starttls_works_as_well(imap: DovecotServer, runtime: Runtime) -> None:
    imap.append(reply(sender="p2@example.com", in_reply_to=letter_id(runtime, "p2@example.com")))
    counts = fetch(runtime, inbox_for(imap, port=imap.starttls_port, security="starttls"))
    assert counts.requests_created == 1


def test_a_reply_about_an_erased_persons_letter_is_deleted_from_the_folder(
    imap: DovecotServer, runtime: Runtime
) -> None:
    letter = letter_id(runtime, "p0@example.com")
    privacy = runtime.privacy
    person = privacy.person_id("p0@example.com")
    assert person is not None
    privacy.erase(person, None, "t", runtime.clock.now())
    imap.append(
        reply(sender="p0@example.com", in_reply_to=letter),
        reply(sender="p1@example.com", in_reply_to=letter_id(runtime, "p1@example.com")),
    )
    counts = fetch(runtime, inbox_for(imap))
    assert (counts.replies, counts.requests_created) == (2, 1)
    assert imap.flags() == {"2": {"\\Seen"}}, "the erased person's message is gone, the other kept"


def test_a_certificate_nobody_vouches_for_is_refused_and_nothing_is_taken(
    imap: DovecotServer, runtime: Runtime, tmp_path: Path
) -> None:
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    imap.append(reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")))
    with pytest.raises(InboxUnavailable, match="certificate"):
        fetch(runtime, inbox_for(imap, ca_file=other_ca))
    assert imap.flags() == {"1": set()}
    assert requests_of(runtime) == {}


def test_a_wrong_password_is_one_line_exit_1_and_the_mailbox_is_untouched(
    imap: DovecotServer, runtime: Runtime, tmp_path: Path
) -> None:
    imap.append(reply(sender="p0@example.com", in_reply_to=letter_id(runtime, "p0@example.com")))
    env = {
        "FAIRWELL_DATABASE_URL": str(runtime.engine.url),
        "FAIRWELL_IMAP_HOST": imap.host,
        "FAIRWELL_IMAP_PORT": str(imap.port),
        "FAIRWELL_IMAP_USERNAME": imap.user,
        "FAIRWELL_IMAP_PASSWORD": "wrong password",
        "FAIRWELL_IMAP_CA_FILE": str(imap.ca_file),
    }
    code, out, err = run(env, "inbox", "fetch", "--json")
    assert (code, out) == (1, "")
    assert err.count("\n") == 1 and "refused the sign-in" in err
    assert "wrong password" not in err
    assert imap.flags() == {"1": set()}
    secret = tmp_path / "imap-password"
    secret.write_text(imap.password + "\n", encoding="utf-8")
    right = {**env, "FAIRWELL_IMAP_PASSWORD_FILE": str(secret)}
    del right["FAIRWELL_IMAP_PASSWORD"]
    code, out, _ = run(right, "inbox", "fetch", "--json")
    assert code == 0 and json.loads(out)["requests_created"] == 1
