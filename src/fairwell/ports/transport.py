"""How a letter leaves: one message to one recipient (delivery/smtp.py), or several in flight.

A transport raises only the DeliveryError family (fairwell.errors), re-exported here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from fairwell.errors import DeliveryError as DeliveryError
from fairwell.errors import PermanentDeliveryError as PermanentDeliveryError
from fairwell.errors import TransientDeliveryError as TransientDeliveryError


class Transport(Protocol):
    """Sends one message to one recipient. Raises only DeliveryError subclasses."""

    def send(self, sender: str, recipient: str, message: bytes) -> None: ...

    def close(self) -> None: ...


@runtime_checkable
class StreamingTransport(Transport, Protocol):
    """A transport that can overlap letters: each letter's outcome may come back with a later
    call. ``submit``, ``collect`` and ``flush`` return (key, None) for a letter the relay
    took, and (key, error) with a DeliveryError otherwise; every submitted key comes back
    exactly once, at the latest from ``flush``, which must be called before ``send`` or
    ``close``. ``collect`` only reads: outcomes recorded before the next ``submit`` keep the
    letters sent but not recorded to one at a time."""

    def submit(
        self, key: int, sender: str, recipient: str, message: bytes
    ) -> list[tuple[int, DeliveryError | None]]: ...

    def collect(self) -> list[tuple[int, DeliveryError | None]]: ...

    def flush(self) -> list[tuple[int, DeliveryError | None]]: ...


class RelayProbe(Protocol):
    """A connection to the relay made exactly as the worker's (TLS, sign-in), that asks
    whether the relay takes mail from ``sender`` and sends nothing. Raises DeliveryError."""

    def probe(self, sender: str) -> None: ...

    def close(self) -> None: ...
