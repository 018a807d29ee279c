"""The embedded SMTP sink: a local SMTP server that keeps every message it receives as files.

Used by the demo (``fairwell mailsink``) and the benchmarks instead of a real relay. Message
number N is stored as two files in one directory:

* ``N.eml`` - the exact DATA bytes (after dot-unstuffing), nothing added;
* ``N.json`` - the envelope: ``mail_from``, ``rcpt_tos``, ``received_at`` (ISO-8601, UTC), ``peer``.

N is zero-padded and keeps increasing across restarts. Each file is written to a temporary
name and renamed into place, the ``.json`` last, so a reader that sees ``N.json`` also sees a
complete ``N.eml``. Nothing is fsynced: this is a demo sink, not a mail store.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, cast

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, syntax

DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_MESSAGE_SIZE = 32 * 1024 * 1024
_NUMBER_WIDTH = 8
# Sent in the greeting and EHLO. Naming it avoids aiosmtpd's default, socket.getfqdn(), which
# runs on every new connection and can wait for DNS.
_SERVER_NAME = "fairwell-sink"
# "<local@domain>" plus parameters, with a dot-atom local part and a plain domain: the form
# every ordinary client sends. For these the standard library's address parser, which
# aiosmtpd calls for every MAIL and RCPT, would return the same string at a much higher cost.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_PATH = re.compile(
    rf"\s*<({_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>\s*(.*)", re.S
)


@dataclass(frozen=True, slots=True)
class SinkMessage:
    """One message the sink received, read back from its files."""

    number: int
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    received_at: datetime


class _MessageStore:
    """Writes numbered message files; numbering continues after what the directory holds."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self._directory = str(directory)
        self._numbers = itertools.count(_highest_number(directory) + 1)
        # next() on itertools.count is atomic under the GIL; the lock keeps numbering safe even
        # if a future handler stores from several threads.
        self._lock = threading.Lock()

    def save(self, mail_from: str, rcpt_tos: list[str], data: bytes, peer: Any) -> int:
        """Store one message and its envelope; return its number."""
        with self._lock:
            number = next(self._numbers)
        stem = os.path.join(self._directory, f"{number:0{_NUMBER_WIDTH}d}")
        envelope = {
            "mail_from": mail_from,
            "rcpt_tos": rcpt_tos,
            "received_at": datetime.now(UTC).isoformat(),
            "peer": peer,
        }
        _write_atomically(f"{stem}.eml", data)
        _write_atomically(f"{stem}.json", json.dumps(envelope).encode("utf-8"))
        return number


def _highest_number(directory: Path) -> int:
    """Return the highest message number already in ``directory`` (0 when there is none)."""
    numbers = [0]
    with os.scandir(directory) as entries:
        for entry in entries:
            stem, _, suffix = entry.name.partition(".")
            if suffix in ("eml", "json") and stem.isdigit():
                numbers.append(int(stem))
    return max(numbers)


def _write_atomically(path: str, data: bytes) -> None:
    # A dot-name in the same directory, so os.replace is a rename on one file system and
    # read_sink's "*.json" never matches it.
    temporary = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.tmp")
    with open(temporary, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


class _StoringHandler:
    """aiosmtpd handler: accept every message and store it, with no parsing."""

    def __init__(self, store: _MessageStore) -> None:
        self._store = store

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        # Runs on the event loop thread and never awaits, so each message is stored in one
        # step even with many sessions open. Blocking writes of a few kB cost less here than
        # a hop to a thread pool.
        try:
            number = self._store.save(
                envelope.mail_from, envelope.rcpt_tos, envelope.original_content, session.peer
            )
        except OSError:
            # A full disk is temporary for the sender; aiosmtpd would otherwise answer 500.
            return "451 4.3.0 the sink cannot store the message"
        return f"250 2.0.0 OK stored as {number}"


class _SinkSMTP(SMTP):
    """aiosmtpd's SMTP session with a faster DATA reader and a fast path for plain addresses.

    aiosmtpd reads DATA one line at a time in Python, about 5 µs a line; with letters of about
    a hundred lines that capped the sink near 700 messages a second. This reads from one
    ``.<CRLF>`` to the next instead (a few reads a message) and undoes dot-stuffing with one
    ``bytes.replace``. It keeps aiosmtpd's replies and checks, but not its 1001-byte line limit:
    the sink stores what it is given.
    """

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        match = _PLAIN_PATH.fullmatch(arg)
        if match is None:
            return super()._getaddr(arg)
        return match.group(1), match.group(2)

    @syntax("DATA")
    async def smtp_DATA(self, arg: str | None) -> None:  # noqa: N802
        if await self.check_helo_needed() or await self.check_auth_needed("DATA"):
            return
        assert self.envelope is not None
        if not self.envelope.rcpt_tos:
            await self.push("503 Error: need RCPT command")
            return
        if arg:
            await self.push("501 Syntax: DATA")
            return
        await self.push("354 End data with <CR><LF>.<CR><LF>")
        content = await self._read_data()
        if content is None:
            status = "552 Error: Too much mail data"
        else:
            self.envelope.content = self.envelope.original_content = content
            status = await self._call_handler_hook("DATA")
        self._set_post_data_state()  # type: ignore[no-untyped-call]
        await self.push(status)

    async def _read_data(self) -> bytes | None:
        """Read up to the end-of-data line; return the content, None when over the size limit."""
        limit = self.data_size_limit
        received = bytearray()
        too_big = False
        while received != b".\r\n" and not received.endswith(b"\r\n.\r\n"):
            try:
                received += await self._reader.readuntil(b".\r\n")
            except asyncio.LimitOverrunError as error:
                # The reader's limit is one line: take the bytes known not to hold the
                # separator and search on.
                received += await self._reader.readexactly(error.consumed)
            if limit and len(received) > limit + 3:
                # Too big: read on to the end marker but keep only a tail that can complete it.
                too_big = True
                del received[:-5]
        return None if too_big else _unstuff(received)


def _unstuff(received: bytearray) -> bytes:
    # Drop the end line ".\r\n" (the CRLF before it ends the last line of the message), then
    # remove the dot the client added to every line that starts with one (RFC 5321 4.5.2).
    content = bytes(received[:-3])
    if content.startswith(b"."):
        content = content[1:]
    return content.replace(b"\r\n.", b"\r\n")


class _SinkController(Controller):
    """A Controller that uses :class:`_SinkSMTP`, can listen on port 0 and reports the port."""

    def factory(self) -> SMTP:
        return _SinkSMTP(self.handler, **self.SMTP_kwargs)

    def _trigger_server(self) -> None:
        # Controller.start() connects to self.port to make sure the server answers; with port
        # 0 that connection would fail, so learn the bound port first.
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


class MailSink:
    """A local SMTP server that stores every message it receives in ``directory``.

    ``port=0`` picks a free port; :attr:`port` reports the real one once started. A message
    larger than ``max_message_size`` bytes is refused with 552. Usable as a context manager.
    The server runs on its own thread until :meth:`stop`.
    """

    def __init__(
        self,
        directory: Path | str,
        *,
        host: str = DEFAULT_HOST,
        port: int = 0,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    ) -> None:
        self.directory = Path(directory)
        self.host = host
        self.max_message_size = max_message_size
        self._requested_port = port
        self._port = port
        self._controller: _SinkController | None = None

    @property
    def port(self) -> int:
        """The port the sink listens on (the real one after start, even if 0 was asked)."""
        return self._port

    def start(self) -> None:
        """Start listening; return once the server answers connections."""
        if self._controller is not None:
            raise RuntimeError("the mail sink is already running")
        # A new Controller per start: a stopped Controller has closed its event loop.
        controller = _SinkController(
            _StoringHandler(_MessageStore(self.directory)),
            hostname=self.host,
            port=self._requested_port,
            server_hostname=_SERVER_NAME,
            data_size_limit=self.max_message_size,
        )
        controller.start()
        self._controller = controller
        self._port = controller.port

    def stop(self) -> None:
        """Stop listening and close open sessions. Does nothing when not running."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailSink:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def read_sink(directory: Path | str) -> list[SinkMessage]:
    """Return every complete message stored in ``directory``, sorted by number."""
    messages = [
        _read_message(path) for path in Path(directory).glob("*.json") if path.stem.isdigit()
    ]
    return sorted(messages, key=lambda message: message.number)


def sink_numbers(directory: Path | str) -> list[int]:
    """The numbers of the stored messages, without reading any of them."""
    return sorted(int(path.stem) for path in Path(directory).glob("*.json") if path.stem.isdigit())


def read_sink_message(directory: Path | str, number: int) -> SinkMessage | None:
    """One stored message by its number, or None."""
    path = Path(directory) / f"{number:0{_NUMBER_WIDTH}d}.json"
    return _read_message(path) if path.is_file() else None


def sink_recipients(directory: Path | str, number: int) -> list[str]:
    """One message's envelope recipients, read from its small envelope file only."""
    envelope = json.loads((Path(directory) / f"{number:0{_NUMBER_WIDTH}d}.json").read_bytes())
    return list(envelope["rcpt_tos"])


def _read_message(envelope_path: Path) -> SinkMessage:
    envelope = json.loads(envelope_path.read_bytes())
    return SinkMessage(
        number=int(envelope_path.stem),
        mail_from=envelope["mail_from"],
        rcpt_tos=list(envelope["rcpt_tos"]),
        data=envelope_path.with_suffix(".eml").read_bytes(),
        received_at=datetime.fromisoformat(envelope["received_at"]),
    )


def run_sink_forever(
    host: str,
    port: int,
    directory: Path | str,
    *,
    on_ready: Callable[[MailSink], None] | None = None,
) -> None:
    """Run a sink until SIGINT or SIGTERM, then stop it cleanly and return.

    ``on_ready`` is called once the sink listens (e.g. to print ``sink.port``). Must be called
    from the main thread, because only the main thread can install signal handlers.
    """
    # aiosmtpd logs every sender and recipient at INFO on "mail.log"; addresses are personal
    # data and stay out of the logs even when the CLI turns INFO on.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with MailSink(directory, host=host, port=port) as sink:
            if on_ready is not None:
                on_ready(sink)
            # Wake up now and then rather than block forever, so a signal is acted on
            # promptly whatever the platform does with interrupted lock waits.
            while not stop.wait(timeout=0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
