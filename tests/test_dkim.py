"""DKIM: every letter is signed after the guard and before the relay, and the signature of
what the relay received verifies (dkimpy's verify, with a DNS lookup function of the test's
own: no network)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from fairwell.config import load_settings
from fairwell.delivery.dkim import DkimSigner, SigningStream, SigningTransport, signing
from fairwell.errors import ConfigurationError
from fairwell.runtime import smtp_transport
from fairwell.services.delivery import Deliverer, DeliveryPolicy
from fairwell.storage.store import SqlStore
from tests.conftest import FixedClock
from tests.helpers import tamper_with_letter
from tests.smtp_server import ScriptedSmtpServer
from tests.test_delivery_faults import queue, smtp, states

DOMAIN, SELECTOR = "acme.example.com", "fw2026"


@pytest.fixture(autouse=True, params=[False, True], ids=["one-by-one", "pipelined"])
def _both_ways_of_talking_smtp(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ScriptedSmtpServer, "pipelining_by_default", request.param)


@pytest.fixture
def key(tmp_path: Path) -> tuple[Path, Callable[..., bytes]]:
    """A fresh RSA key in a file, and the DNS lookup that publishes its public half."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = private.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode(), "no other lookup"
        return record

    return path, dns


def signature_tags(message: bytes) -> dict[str, str]:
    """The tags of the DKIM-Signature header, which must be the message's first header."""
    lines = message.split(b"\r\n\r\n", 1)[0].decode("ascii").split("\r\n")
    assert lines[0].startswith("DKIM-Signature:"), "the signature is the first header"
    folded = [lines[0]]
    for line in lines[1:]:
        if not line[:1].isspace():
            break
        folded.append(line)
    text = "".join(folded).removeprefix("DKIM-Signature:")
    tags = {}
    for part in text.split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            tags[name] = "".join(value.split())
    return tags


def test_every_letter_the_relay_receives_is_signed_and_verifies(
    store: SqlStore,
    tmp_path: Path,
    clock: FixedClock,
    key: tuple[Path, Callable[..., bytes]],
) -> None:
    path, dns = key
    queue(store, tmp_path, clock, 3)
    with ScriptedSmtpServer() as relay:
        signer = DkimSigner(DOMAIN, SELECTOR, path)
        Deliverer(store, signing(smtp(relay), signer), clock, "w", DeliveryPolicy()).run_once()
    assert states(store) == {"sent": 3}
    assert len(relay.received) == 3
    for received in relay.received:
        assert dkim.verify(received.data, dnsfunc=dns)
        tags = signature_tags(received.data)
        assert (tags["a"], tags["c"], tags["d"], tags["s"]) == (
            "rsa-sha256",
            "relaxed/relaxed",
            DOMAIN,
            SELECTOR,
        )
        signed = tags["h"].lower().split(":")
        for header in ("from", "to", "subject", "date", "message-id", "mime-version"):
            assert header in signed
        assert "content-type" in signed


def test_the_stored_letter_stays_unsigned_the_signature_is_for_the_wire(
    store: SqlStore,
    tmp_path: Path,
    clock: FixedClock,
    key: tuple[Path, Callable[..., bytes]],
) -> None:
    queue(store, tmp_path, clock, 1)
    with ScriptedSmtpServer() as relay:
        signer = DkimSigner(DOMAIN, SELECTOR, key[0])
        Deliverer(store, signing(smtp(relay), signer), clock, "w", DeliveryPolicy()).run_once()
    stored = store.outbox_body(store.outbox_rows(None, None, 1)[0].id)
    assert b"DKIM-Signature" not in stored
    assert relay.received[0].data.endswith(stored)


def test_a_letter_changed_after_signing_no_longer_verifies(
    store: SqlStore,
    tmp_path: Path,
    clock: FixedClock,
    key: tuple[Path, Callable[..., bytes]],
) -> None:
    path, dns = key
    queue(store, tmp_path, clock, 1)
    with ScriptedSmtpServer() as relay:
        signer = DkimSigner(DOMAIN, SELECTOR, path)
        Deliverer(store, signing(smtp(relay), signer), clock, "w", DeliveryPolicy()).run_once()
    received = relay.received[0].data
    assert not dkim.verify(received.replace(b"Subject: ", b"Subject: FW: "), dnsfunc=dns)
    assert not dkim.verify(received.replace(b"Dear", b"Hello"), dnsfunc=dns)


def test_signing_comes_after_the_guard_a_held_letter_is_never_signed_or_sent(
    store: SqlStore,
    tmp_path: Path,
    clock: FixedClock,
    key: tuple[Path, Callable[..., bytes]],
) -> None:
    queue(store, tmp_path, clock, 2)
    tamper_with_letter(store.engine, last=True, old=b"Dear Pat", new=b"Dear Pat Doe0")
    with ScriptedSmtpServer() as relay:
        signer = DkimSigner(DOMAIN, SELECTOR, key[0])
        policy = DeliveryPolicy(stop_batch_on_violation=False)
        Deliverer(store, signing(smtp(relay), signer), clock, "w", policy).run_once()
    assert states(store) == {"sent": 1, "held": 1}
    assert len(relay.received) == 1


def test_a_threaded_answer_signs_its_thread_headers_too(
    key: tuple[Path, Callable[..., bytes]],
) -> None:
    path, dns = key
    letter = (
        b"From: careers@acme.example.com\r\nTo: pat@example.com\r\nSubject: Re: Why?\r\n"
        b"Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nMessage-ID: <a@acme.example.com>\r\n"
        b"In-Reply-To: <q@example.com>\r\nReferences: <l@acme.example.com>\r\n <q@example.com>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nBecause.\r\n"
    )
    signed = DkimSigner(DOMAIN, SELECTOR, path).sign(letter)
    assert dkim.verify(signed, dnsfunc=dns)
    assert {"in-reply-to", "references"} <= set(signature_tags(signed)["h"].lower().split(":"))


def test_the_runtime_signs_only_when_dkim_is_configured(
    tmp_path: Path, key: tuple[Path, Callable[..., bytes]]
) -> None:
    plain = load_settings(database_url=f"sqlite:///{tmp_path / 'f.db'}")
    assert not isinstance(smtp_transport(plain), SigningTransport)
    signed = load_settings(dkim_domain=DOMAIN, dkim_selector=SELECTOR, dkim_private_key_file=key[0])
    assert isinstance(smtp_transport(signed), SigningStream), "still streams letters"


def test_dkim_settings_come_together_and_the_key_must_sign(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="together"):
        load_settings(dkim_domain=DOMAIN)
    not_a_key = tmp_path / "key.pem"
    not_a_key.write_text(
        "-----BEGIN RSA PRIVATE KEY-----\nbm9wZQ==\n-----END RSA PRIVATE KEY-----\n"
    )
    with pytest.raises(ConfigurationError, match="dkim_private_key_file"):
        DkimSigner(DOMAIN, SELECTOR, not_a_key)
    with pytest.raises(ConfigurationError, match="cannot read"):
        DkimSigner(DOMAIN, SELECTOR, tmp_path / "missing.pem")
