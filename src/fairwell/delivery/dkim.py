"""DKIM signing (RFC 6376) with dkimpy: every letter signed after the guard, before the relay.

The transport the delivery loop holds is wrapped, so a letter is signed at the last moment:
after the send-time guard read its stored bytes and just before the relay gets them. The
stored bytes stay unsigned (a signature carries a time and is only good for the wire).

Signed: rsa-sha256, relaxed/relaxed, over From, To, Subject, Date, Message-ID, MIME-Version
and Content-Type, and also Reply-To, In-Reply-To, References and Content-Language when the
letter has them (a header named in ``h=`` that a letter lacks would be signed as absent, so
only those present are named). The body hash covers the whole body.
"""

from __future__ import annotations

from pathlib import Path

from fairwell.errors import ConfigurationError, DeliveryError
from fairwell.ports import StreamingTransport, Transport

SIGNED_HEADERS = (
    b"From",
    b"To",
    b"Subject",
    b"Date",
    b"Message-ID",
    b"MIME-Version",
    b"Content-Type",
)
SIGNED_WHEN_PRESENT = (b"Reply-To", b"In-Reply-To", b"References", b"Content-Language")
# A letter that mentions nothing of these is signed without reading its header block twice.
_PROBE = tuple(b"\r\n" + name.lower() + b":" for name in SIGNED_WHEN_PRESENT)


class DkimSigner:
    """Signs letters for one domain and selector with one private key (read once).

    dkimpy is imported here, not at the top: it loads dnspython's resolver (about 0.1 s), and
    every delivering process builds its transport through this module, signing or not."""

    def __init__(self, domain: str, selector: str, key_file: Path) -> None:
        import dkim

        self.domain = domain.encode("ascii")
        self.selector = selector.encode("ascii")
        try:
            self._key = Path(key_file).read_bytes()
        except OSError as error:
            raise ConfigurationError(
                f"dkim_private_key_file: cannot read {key_file}: {error.strerror}"
            ) from None
        try:  # a key dkimpy cannot use is a configuration error now, not a failed letter later
            self.sign(b"From: a@example.com\r\nTo: b@example.com\r\n\r\nkey check\r\n")
        except dkim.DKIMException as error:
            raise ConfigurationError(f"dkim_private_key_file: {error}") from None

    def sign(self, message: bytes) -> bytes:
        """The message with its DKIM-Signature header in front."""
        import dkim  # loaded by __init__: only a look-up in sys.modules

        head = message.split(b"\r\n\r\n", 1)[0].lower()
        present = [
            name for name, probe in zip(SIGNED_WHEN_PRESENT, _PROBE, strict=True) if probe in head
        ]
        signature: bytes = dkim.sign(
            message,
            self.selector,
            self.domain,
            self._key,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[*SIGNED_HEADERS, *present],
        )
        return signature + message


class SigningTransport:
    """A transport that signs each letter, then hands it to the transport it wraps."""

    def __init__(self, inner: Transport, signer: DkimSigner) -> None:
        self.inner, self.signer = inner, signer

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        self.inner.send(sender, recipient, self.signer.sign(message))

    def close(self) -> None:
        self.inner.close()


class SigningStream(SigningTransport):
    """The same for a streaming transport: outcomes come back exactly as the inner one says."""

    def __init__(self, inner: StreamingTransport, signer: DkimSigner) -> None:
        super().__init__(inner, signer)
        self.stream = inner

    def submit(
        self, key: int, sender: str, recipient: str, message: bytes
    ) -> list[tuple[int, DeliveryError | None]]:
        return self.stream.submit(key, sender, recipient, self.signer.sign(message))

    def collect(self) -> list[tuple[int, DeliveryError | None]]:
        return self.stream.collect()

    def flush(self) -> list[tuple[int, DeliveryError | None]]:
        return self.stream.flush()


def signing(transport: Transport, signer: DkimSigner | None) -> Transport:
    """``transport`` with every letter signed, keeping its streaming if it has it."""
    if signer is None:
        return transport
    if isinstance(transport, StreamingTransport):
        return SigningStream(transport, signer)
    return SigningTransport(transport, signer)
