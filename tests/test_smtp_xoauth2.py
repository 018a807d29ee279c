"""Modern SMTP sign-in: AUTH XOAUTH2 with a bearer token from a file, against a local relay
(aiosmtpd over STARTTLS) that checks the XOAUTH2 string exactly as Google and Microsoft do."""

from __future__ import annotations

from pathlib import Path

import pytest

from fairwell.config import load_settings
from fairwell.delivery.smtp import SmtpTransport
from fairwell.errors import ConfigurationError, PermanentDeliveryError, TransientDeliveryError
from tests.smtp_server import ScriptedSmtpServer

USER = "careers@acme.example.com"
LETTER = b"From: careers@acme.example.com\r\nTo: pat@example.com\r\nSubject: Hi\r\n\r\nHello\r\n"


def signed_in(server: ScriptedSmtpServer, token_file: Path) -> SmtpTransport:
    return SmtpTransport(
        host=server.host,
        port=server.port,
        security="starttls",
        ca_file=server.ca_file,
        username=USER,
        auth="xoauth2",
        oauth2_token_file=token_file,
        timeout=5,
    )


def test_it_signs_in_with_the_token_the_file_holds(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ya29.first-token\n", encoding="utf-8")
    relay = ScriptedSmtpServer(tls="starttls", xoauth2=(USER, "ya29.first-token"))
    with relay as server, signed_in(server, token) as transport:
        transport.send(USER, "pat@example.com", LETTER)
    assert len(server.received) == 1
    assert server.xoauth2_attempts == [
        f"user={USER}\x01auth=Bearer ya29.first-token\x01\x01".encode()
    ]


def test_each_new_session_reads_the_token_again_so_the_helper_can_refresh_it(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("ya29.first-token", encoding="utf-8")
    with ScriptedSmtpServer(tls="starttls", xoauth2=(USER, "ya29.first-token")) as server:
        transport = signed_in(server, token)
        transport.send(USER, "pat@example.com", LETTER)
        transport.close()
        server.xoauth2 = (USER, "ya29.second-token")  # the old one expired
        token.write_text("ya29.second-token", encoding="utf-8")
        transport.send(USER, "pat@example.com", LETTER)
        transport.close()
    assert len(server.received) == 2
    assert b"second-token" in server.xoauth2_attempts[-1]


def test_a_refused_token_fails_at_auth_and_nothing_is_sent(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ya29.expired", encoding="utf-8")
    relay = ScriptedSmtpServer(tls="starttls", xoauth2=(USER, "ya29.valid"))
    with (
        relay as server,
        signed_in(server, token) as transport,
        pytest.raises(PermanentDeliveryError) as caught,
    ):
        transport.send(USER, "pat@example.com", LETTER)
    assert caught.value.code == 535 and "AUTH" in caught.value.detail
    assert "ya29" not in caught.value.detail, "the token is never shown"
    assert server.received == []


def test_an_unreadable_token_file_is_a_temporary_failure(tmp_path: Path) -> None:
    with ScriptedSmtpServer(tls="starttls", xoauth2=(USER, "ya29.valid")) as server:
        transport = signed_in(server, tmp_path / "not-written-yet")
        with transport, pytest.raises(TransientDeliveryError, match="smtp_oauth2_token_file"):
            transport.send(USER, "pat@example.com", LETTER)
    assert server.received == []


def test_a_relay_that_does_not_offer_xoauth2_is_refused_before_anything_goes(
    tmp_path: Path,
) -> None:
    token = tmp_path / "token"
    token.write_text("ya29.valid", encoding="utf-8")
    with (
        ScriptedSmtpServer(tls="starttls", auth=("u", "p")) as server,
        signed_in(server, token) as transport,
        pytest.raises(PermanentDeliveryError) as caught,
    ):
        transport.send(USER, "pat@example.com", LETTER)
    assert "XOAUTH2" in caught.value.detail
    assert server.received == []


def test_xoauth2_needs_a_username_a_token_file_and_tls(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="smtp_oauth2_token_file"):
        load_settings(smtp_auth="xoauth2", smtp_username=USER)
    with pytest.raises(ConfigurationError, match="in clear"):
        SmtpTransport(
            host="127.0.0.1",
            port=25,
            security="none",
            username=USER,
            auth="xoauth2",
            oauth2_token_file=tmp_path / "token",
        )
    settings = load_settings(
        smtp_auth="xoauth2",
        smtp_username=USER,
        smtp_oauth2_token_file=tmp_path / "token",
        smtp_security="starttls",
    )
    assert settings.smtp_auth.value == "xoauth2"
