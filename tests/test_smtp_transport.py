"""SmtpTransport against a real, scripted SMTP server on 127.0.0.1 (no mocks)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from fairwell.config import Settings
from fairwell.delivery.smtp import SmtpTransport
from fairwell.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from tests.smtp_server import ScriptedSmtpServer, Step, unused_port


@pytest.fixture(autouse=True, params=[False, True], ids=["one-by-one", "pipelined"])
def _both_ways_of_talking_smtp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test here runs against a relay without and with PIPELINING (RFC 2920)."""
    monkeypatch.setattr(ScriptedSmtpServer, "pipelining_by_default", request.param)


SENDER = "careers@example.com"
ANNA = "anna.schmidt@example.org"
BOB = "bob.jones@example.net"
LETTER = (
    b"From: Example Careers <careers@example.com>\r\n"
    b"To: Anna Schmidt <anna.schmidt@example.org>\r\n"
    b"Subject: Your application\r\n"
    b"\r\n"
    b"Dear Anna,\r\n"
    b".a line that starts with a dot survives dot-stuffing\r\n"
    b".\r\n"
    b"Thank you for applying.\r\n"
)


@pytest.fixture
def server() -> Iterator[ScriptedSmtpServer]:
    with ScriptedSmtpServer() as running:
        yield running


def transport_for(server: ScriptedSmtpServer, **overrides: Any) -> SmtpTransport:
    options: dict[str, Any] = {
        "host": server.host,
        "port": server.port,
        "security": "none",
        "timeout": 5.0,
        "local_hostname": "fairwell.test",
    }
    options.update(overrides)
    return SmtpTransport(**options)


def send_to_anna(transport: SmtpTransport) -> None:
    transport.send(SENDER, ANNA, LETTER)


# -- delivery and the session ------------------------------------------------------------------


def test_it_delivers_the_exact_bytes_to_exactly_one_recipient(server: ScriptedSmtpServer) -> None:
    with transport_for(server) as transport:
        send_to_anna(transport)

    [message] = server.received
    assert message.mail_from == SENDER
    assert message.rcpt_tos == (ANNA,)
    assert message.data == LETTER
    assert f"SIZE={len(LETTER)}" in message.mail_options


def test_it_reuses_one_connection_for_twenty_letters(server: ScriptedSmtpServer) -> None:
    with transport_for(server) as transport:
        for _ in range(20):
            send_to_anna(transport)

    assert len(server.received) == 20
    assert server.connections == 1


def test_it_says_quit_when_closed_and_closing_twice_is_harmless(
    server: ScriptedSmtpServer,
) -> None:
    transport = transport_for(server)
    send_to_anna(transport)
    transport.close()
    transport.close()

    assert server.quits == 1


def test_it_reconnects_when_the_relay_closes_the_connection_mid_batch() -> None:
    with ScriptedSmtpServer(close_after=3) as server, transport_for(server) as transport:
        for _ in range(7):
            send_to_anna(transport)

    assert len(server.received) == 7
    assert server.connections == 3


def test_it_reconnects_when_a_reused_connection_answers_421_at_mail(
    server: ScriptedSmtpServer,
) -> None:
    server.script(Step.accept(), Step.refuse("MAIL", "421 4.4.2 idle too long, closing"))
    with transport_for(server) as transport:
        send_to_anna(transport)
        send_to_anna(transport)

    assert len(server.received) == 2
    assert server.connections == 2


def test_it_resets_the_session_after_a_refused_recipient_and_carries_on(
    server: ScriptedSmtpServer,
) -> None:
    server.script(Step.refuse("RCPT", "550 5.1.1 no such user"))
    with transport_for(server) as transport:
        with pytest.raises(PermanentDeliveryError):
            send_to_anna(transport)
        transport.send(SENDER, BOB, LETTER)

    assert [message.rcpt_tos for message in server.received] == [(BOB,)]
    assert server.resets == 1
    assert server.connections == 1


# -- classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stage", "reply"),
    [
        ("MAIL", "421 4.7.0 too many connections, closing"),
        ("MAIL", "451 4.3.0 local error, try later"),
        ("RCPT", "450 4.2.1 mailbox busy"),
        ("RCPT", "451 4.7.1 greylisted, try later"),
        ("RCPT", "452 4.5.3 too many recipients"),
        ("DATA", "451 4.3.0 queue file write error"),
        ("DATA", "454 4.7.0 temporary authentication failure"),
    ],
)
def test_it_retries_a_4xx_reply_as_transient(
    server: ScriptedSmtpServer, stage: Any, reply: str
) -> None:
    server.script(Step.refuse(stage, reply))
    with transport_for(server) as transport, pytest.raises(TransientDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.code == int(reply[:3])
    assert caught.value.possible_duplicate is False
    assert server.received == []


@pytest.mark.parametrize("stage", ["RCPT", "DATA"])
def test_it_treats_552_as_temporary_as_rfc_5321_says(
    server: ScriptedSmtpServer, stage: Any
) -> None:
    server.script(Step.refuse(stage, "552 5.2.2 mailbox full"))
    with transport_for(server) as transport, pytest.raises(TransientDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.code == 552


@pytest.mark.parametrize("reply", ["550 5.1.1 user unknown", "553 5.1.3 bad address syntax"])
def test_it_fails_a_recipient_refused_at_rcpt_permanently(
    server: ScriptedSmtpServer, reply: str
) -> None:
    server.script(Step.refuse("RCPT", reply))
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.code == int(reply[:3])
    assert caught.value.recipient_refused is True


def test_it_fails_a_5xx_after_the_data_permanently_without_blaming_the_recipient(
    server: ScriptedSmtpServer,
) -> None:
    server.script(Step.refuse("DATA", "554 5.7.1 message refused as spam"))
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.code == 554
    assert caught.value.recipient_refused is False


def test_it_fails_a_refused_sender_permanently(server: ScriptedSmtpServer) -> None:
    server.script(Step.refuse("MAIL", "553 5.7.1 sender not allowed"))
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.recipient_refused is False


def test_it_flags_a_possible_duplicate_when_the_relay_hangs_up_after_the_data(
    server: ScriptedSmtpServer,
) -> None:
    server.script(Step.drop_after_data())
    with transport_for(server) as transport:
        with pytest.raises(TransientDeliveryError) as caught:
            send_to_anna(transport)
        send_to_anna(transport)

    assert caught.value.possible_duplicate is True
    assert [message.data for message in server.possibly_received] == [LETTER]
    assert len(server.received) == 1
    assert server.connections == 2


def test_it_flags_a_possible_duplicate_when_the_final_reply_times_out(
    server: ScriptedSmtpServer,
) -> None:
    server.script(Step.stall_after_data(seconds=5.0))
    with (
        transport_for(server, timeout=1.0) as transport,
        pytest.raises(TransientDeliveryError) as caught,
    ):
        send_to_anna(transport)

    assert caught.value.possible_duplicate is True


def test_it_reports_a_relay_that_is_not_listening_as_transient() -> None:
    transport = SmtpTransport(host="127.0.0.1", port=unused_port(), security="none", timeout=2)
    with pytest.raises(TransientDeliveryError) as caught:
        send_to_anna(transport)

    assert caught.value.possible_duplicate is False


# -- personal data and the one-recipient rule --------------------------------------------------


def test_it_keeps_the_recipient_address_out_of_error_details(server: ScriptedSmtpServer) -> None:
    server.script(
        Step.refuse("RCPT", "550 5.1.1 <anna.schmidt@example.org>: Recipient address rejected"),
        Step.refuse("DATA", "554 5.7.1 message for Anna.Schmidt refused"),
    )
    with transport_for(server) as transport:
        errors = []
        for _ in range(2):
            with pytest.raises(PermanentDeliveryError) as caught:
                send_to_anna(transport)
            errors.append(caught.value)

    for error in errors:
        assert "anna" not in error.detail.lower()
        assert "anna" not in str(error).lower()
    assert errors[0].detail.startswith("550 at RCPT TO:")
    assert "Recipient address rejected" in errors[0].detail


def test_it_refuses_a_list_of_recipients_before_connecting(server: ScriptedSmtpServer) -> None:
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError):
        transport.send(SENDER, [ANNA, BOB], LETTER)  # type: ignore[arg-type]

    assert server.connections == 0


@pytest.mark.parametrize(
    "recipient", [f"{ANNA}, {BOB}", f"{ANNA}\r\nRCPT TO:<{BOB}>", f"<{ANNA}>", "", "anna"]
)
def test_it_refuses_anything_but_one_plain_address(
    server: ScriptedSmtpServer, recipient: str
) -> None:
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError) as caught:
        transport.send(SENDER, recipient, LETTER)

    assert "anna" not in caught.value.detail
    assert server.connections == 0


def test_it_refuses_a_message_with_a_bare_line_feed(server: ScriptedSmtpServer) -> None:
    smuggling = LETTER + b"\n.\nMAIL FROM:<x@example.com>\r\n"
    with transport_for(server) as transport, pytest.raises(PermanentDeliveryError):
        transport.send(SENDER, ANNA, smuggling)

    assert server.received == []


# -- TLS and AUTH ------------------------------------------------------------------------------


def test_it_sends_over_starttls_verified_against_the_configured_ca() -> None:
    with ScriptedSmtpServer(tls="starttls") as server:
        with transport_for(server, security="starttls", ca_file=server.ca_file) as transport:
            send_to_anna(transport)
            send_to_anna(transport)

        assert len(server.received) == 2
        assert server.connections == 1


def test_it_sends_over_implicit_tls() -> None:
    with ScriptedSmtpServer(tls="implicit") as server:
        with transport_for(server, security="tls", ca_file=server.ca_file) as transport:
            send_to_anna(transport)

        assert len(server.received) == 1


@pytest.mark.parametrize(("tls", "security"), [("starttls", "starttls"), ("implicit", "tls")])
def test_it_refuses_a_certificate_not_signed_by_the_configured_ca(
    tmp_path: Path, tls: Any, security: str
) -> None:
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    with ScriptedSmtpServer(tls=tls) as server:
        transport = transport_for(server, security=security, ca_file=other_ca)
        with pytest.raises(PermanentDeliveryError) as caught:
            send_to_anna(transport)

        assert "certificate" in caught.value.detail
        assert server.received == []


def test_it_refuses_to_send_in_clear_when_the_relay_offers_no_starttls(
    server: ScriptedSmtpServer,
) -> None:
    with (
        transport_for(server, security="starttls", ca_file=server.ca_file) as transport,
        pytest.raises(PermanentDeliveryError) as caught,
    ):
        send_to_anna(transport)

    assert "STARTTLS" in caught.value.detail
    assert server.received == []


def test_it_logs_in_when_a_username_is_configured() -> None:
    with ScriptedSmtpServer(tls="starttls", auth=("fairwell", "s3cret")) as server:
        credentials = {"username": "fairwell", "password": "s3cret"}
        with transport_for(
            server, security="starttls", ca_file=server.ca_file, **credentials
        ) as transport:
            send_to_anna(transport)

        assert len(server.received) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_it_fails_wrong_credentials_permanently_without_showing_the_password() -> None:
    with ScriptedSmtpServer(tls="implicit", auth=("fairwell", "s3cret")) as server:
        transport = transport_for(
            server, security="tls", ca_file=server.ca_file, username="fairwell", password="wrong"
        )
        with pytest.raises(PermanentDeliveryError) as caught:
            send_to_anna(transport)

    assert caught.value.code == 535
    assert "wrong" not in caught.value.detail


# -- configuration -----------------------------------------------------------------------------


def test_it_refuses_a_password_that_would_cross_the_network_in_clear() -> None:
    with pytest.raises(ConfigurationError):
        SmtpTransport(
            host="relay.test", port=25, security="none", username="fairwell", password="x"
        )


def test_it_refuses_a_ca_file_that_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SmtpTransport(host="relay.test", port=25, security="tls", ca_file=tmp_path / "none.pem")


def test_it_is_built_from_the_settings(server: ScriptedSmtpServer) -> None:
    settings = Settings(smtp_host=server.host, smtp_port=server.port, smtp_timeout=5)
    with SmtpTransport.from_settings(settings) as transport:
        send_to_anna(transport)

    assert len(server.received) == 1


def test_with_a_pipelining_relay_mail_rcpt_and_data_go_in_one_write() -> None:
    from fairwell.delivery import smtp as smtp_module

    writes: list[bytes | str] = []

    class CountingSMTP(smtplib.SMTP):
        def send(self, s: bytes | str) -> None:
            writes.append(s)
            super().send(s)

    with ScriptedSmtpServer(pipelining=True) as server:
        original = smtp_module.smtplib.SMTP
        smtp_module.smtplib.SMTP = CountingSMTP  # type: ignore[misc]
        try:
            transport = SmtpTransport(host=server.host, port=server.port, security="none")
            transport.send("a@example.com", "b@example.com", b"Subject: x\r\n\r\nhi\r\n")
            transport.close()
        finally:
            smtp_module.smtplib.SMTP = original  # type: ignore[misc]
    grouped = [w for w in writes if isinstance(w, str) and w.startswith("MAIL FROM")]
    assert grouped and "RCPT TO:<b@example.com>\r\nDATA\r\n" in grouped[0]
    assert len(server.received) == 1
