"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, with replies scripted per transaction.

Not a mock: clients talk to it over a socket, with optional STARTTLS or implicit TLS
(certificates from a ``trustme`` CA) and optional AUTH. Each mail transaction (each MAIL)
takes the next :class:`Step` from the script; when the script is empty it accepts::

    with ScriptedSmtpServer() as server:
        server.script(Step.refuse("RCPT", "550 5.1.1 no such user"), Step.accept())
        ...
        assert server.connections == 1

What it recorded: ``received`` (accepted with 250), ``possibly_received`` (the whole message
arrived but the server hung up or stalled instead of replying: a real relay may have kept
it), ``connections`` (sessions that sent EHLO or HELO), ``resets`` and ``quits``.
"""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import threading
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, cast

import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

# What Gmail answers to a bad XOAUTH2 token (RFC 7628 3.2.3): a 334 with an error document.
XOAUTH2_ERROR = b'{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}'

Stage = Literal["MAIL", "RCPT", "DATA"]
Action = Literal["accept", "refuse", "drop", "stall", "close"]
TlsMode = Literal["none", "starttls", "implicit"]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Step:
    """What the server does in one mail transaction."""

    action: Action
    stage: Stage = "DATA"
    reply: str = "250 2.0.0 OK"
    seconds: float = 0.0

    @classmethod
    def accept(cls) -> Step:
        """Reply 250 at every stage and keep the message."""
        return cls("accept")

    @classmethod
    def refuse(cls, stage: Stage, reply: str) -> Step:
        """Answer ``reply`` at MAIL, at RCPT or after the data (DATA). 421 also hangs up."""
        return cls("refuse", stage, reply)

    @classmethod
    def drop_after_data(cls) -> Step:
        """Take the whole message, then hang up without a reply (the lost-250 case)."""
        return cls("drop")

    @classmethod
    def stall_after_data(cls, seconds: float) -> Step:
        """Take the whole message, then wait ``seconds`` before replying (a client timeout)."""
        return cls("stall", seconds=seconds)

    @classmethod
    def accept_then_close(cls) -> Step:
        """Reply 250, keep the message, then close the connection."""
        return cls("close")


@dataclass(frozen=True)
class ReceivedMessage:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    mail_options: tuple[str, ...]


class ScriptedSmtpServer:
    """A scripted aiosmtpd server on 127.0.0.1 and a free port; a context manager.

    ``tls``: "none", "starttls" (offered and required before MAIL) or "implicit".
    ``auth``: a (user, password) pair that must log in (over TLS) before MAIL.
    ``close_after``: hang up after that many accepted messages on one connection.
    ``per_session``: after that many accepted messages on one connection, answer every RCPT
    with 452 (too many recipients in this session), as Exchange Online and Gmail do.
    ``xoauth2``: a (user, token) pair that must sign in with AUTH XOAUTH2 (over TLS) before
    MAIL; ``xoauth2_attempts`` records what each sign-in sent, decoded.
    ``pipelining``: advertise PIPELINING (RFC 2920); aiosmtpd answers pipelined commands in
    order. Tests switch the default with ``pipelining_by_default``.
    """

    pipelining_by_default = False

    def __init__(
        self,
        *steps: Step,
        tls: TlsMode = "none",
        auth: tuple[str, str] | None = None,
        close_after: int | None = None,
        pipelining: bool | None = None,
        per_session: int | None = None,
        xoauth2: tuple[str, str] | None = None,
    ) -> None:
        self.pipelining = self.pipelining_by_default if pipelining is None else pipelining
        self.tls = tls
        self.auth = auth
        self.close_after = close_after
        self.per_session = per_session
        self.xoauth2 = xoauth2
        self.xoauth2_attempts: list[bytes] = []
        self.session_full_replies = 0
        self.received: list[ReceivedMessage] = []
        self.possibly_received: list[ReceivedMessage] = []
        self.connections = 0
        self.resets = 0
        self.quits = 0
        self._steps: deque[Step] = deque(steps)
        self._lock = threading.Lock()
        self._tempdir = tempfile.TemporaryDirectory(prefix="smtp-ca-")
        self.ca = trustme.CA()
        self.ca_file = Path(self._tempdir.name) / "ca.pem"
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self._controller: _Controller | None = None

    @property
    def host(self) -> str:
        return HOST

    @property
    def port(self) -> int:
        assert self._controller is not None, "the server is not running"
        return self._controller.port

    def script(self, *steps: Step) -> None:
        """Queue what the next transactions do, in order."""
        with self._lock:
            self._steps.extend(steps)

    def start(self) -> None:
        tls_context = self._server_tls_context() if self.tls != "none" else None
        options: dict[str, Any] = {"server_hostname": "scripted.test"}
        if self.tls == "implicit":
            options["ssl_context"] = tls_context
        elif self.tls == "starttls":
            options.update(tls_context=tls_context, require_starttls=True)
        if self.auth is not None:
            options.update(auth_required=True, authenticator=self._authenticate)
            # aiosmtpd only counts STARTTLS as TLS and would hide AUTH on an implicit-TLS
            # socket (aio-libs/aiosmtpd#281); that socket is encrypted, so allow AUTH on it.
            options["auth_require_tls"] = self.tls != "implicit"
            options["auth_exclude_mechanism"] = ["XOAUTH2"]  # passwords only, as before
        if self.xoauth2 is not None:
            # Only XOAUTH2 is offered, as by Google Workspace once password sign-in is off.
            options.update(
                auth_required=True,
                authenticator=_refuse_passwords,
                auth_exclude_mechanism=["LOGIN", "PLAIN"],
                auth_require_tls=self.tls != "implicit",
            )
        self._controller = _Controller(_Handler(self), hostname=HOST, port=0, **options)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
        self._tempdir.cleanup()

    def __enter__(self) -> ScriptedSmtpServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _server_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(HOST, "localhost").configure_cert(context)
        return context

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        assert self.auth is not None
        user, password = self.auth
        valid = isinstance(auth_data, LoginPassword) and (
            auth_data.login == user.encode() and auth_data.password == password.encode()
        )
        return AuthResult(success=valid, handled=False)

    def _next_step(self) -> Step:
        with self._lock:
            return self._steps.popleft() if self._steps else Step.accept()


class _Handler:
    """aiosmtpd hooks. A hook replaces aiosmtpd's default, so each one records the envelope."""

    def __init__(self, owner: ScriptedSmtpServer) -> None:
        self._owner = owner
        self._sessions: weakref.WeakSet[Any] = weakref.WeakSet()
        self._accepted: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self._count_connection(server)
        session.host_name = hostname  # aiosmtpd leaves this to the hook once there is one
        if self._owner.pipelining:
            responses.insert(len(responses) - 1, "250-PIPELINING")
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        self._count_connection(server)
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        step = envelope.scripted_step = self._owner._next_step()
        if step.action == "refuse" and step.stage == "MAIL":
            return _refuse(server, step.reply)
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        step: Step = envelope.scripted_step
        if step.action == "refuse" and step.stage == "RCPT":
            return _refuse(server, step.reply)
        limit = self._owner.per_session
        if limit is not None and self._accepted.get(server, 0) >= limit:
            self._owner.session_full_replies += 1
            return "452 4.5.3 Too many recipients in this session"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        step: Step = envelope.scripted_step
        message = ReceivedMessage(
            envelope.mail_from,
            tuple(envelope.rcpt_tos),
            envelope.original_content,
            tuple(envelope.mail_options),
        )
        if step.action == "refuse":
            return _refuse(server, step.reply)
        if step.action in ("drop", "stall"):
            return await self._withhold_reply(server, step, message)
        self._owner.received.append(message)
        self._accepted[server] = self._accepted.get(server, 0) + 1
        if step.action == "close" or self._accepted[server] == self._owner.close_after:
            _hang_up_after_reply(server)
        return step.reply

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        """SASL XOAUTH2: "user=U^Aauth=Bearer T^A^A", base64, as Google and Microsoft take it."""
        import base64

        owner = self._owner
        assert owner.xoauth2 is not None
        if len(args) > 1:
            blob = base64.b64decode(args[1])
        else:
            answer = await server.challenge_auth("")
            blob = answer if isinstance(answer, bytes) else b""
        owner.xoauth2_attempts.append(blob)
        user, token = owner.xoauth2
        if blob == f"user={user}\x01auth=Bearer {token}\x01\x01".encode():
            return AuthResult(success=True, auth_data=user)
        await server.challenge_auth(XOAUTH2_ERROR)  # the client answers with an empty line
        return AuthResult(
            success=False, handled=False, message="535 5.7.8 Username and Password not accepted"
        )

    async def handle_RSET(self, server: Any, session: Any, envelope: Any) -> str:
        self._owner.resets += 1
        return "250 2.0.0 OK"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        self._owner.quits += 1
        return "221 2.0.0 Bye"

    async def _withhold_reply(self, server: Any, step: Step, message: ReceivedMessage) -> str:
        self._owner.possibly_received.append(message)
        if step.action == "drop":
            # abort() closes at once and discards later writes: the reply below never leaves.
            server.transport.abort()
        else:
            await asyncio.sleep(step.seconds)
        return "250 2.0.0 OK (too late)"

    def _count_connection(self, server: Any) -> None:
        # One SMTP object per TCP connection; a second EHLO (after STARTTLS) is not counted,
        # nor is the probe connection Controller.start() makes without EHLO.
        if server not in self._sessions:
            self._sessions.add(server)
            self._owner.connections += 1


def _refuse_passwords(*_: Any) -> AuthResult:
    return AuthResult(success=False, handled=False)


def _refuse(server: Any, reply: str) -> str:
    if reply.startswith("421"):
        _hang_up_after_reply(server)
    return reply


def _hang_up_after_reply(server: Any) -> None:
    # Runs once the hook has returned and aiosmtpd has written the reply.
    transport = server.transport
    server.loop.call_soon(transport.close)


class _Controller(Controller):
    """A Controller that can listen on port 0 (it probes self.port during start())."""

    def _trigger_server(self) -> None:
        server = cast(asyncio.Server, self.server)
        self.port = server.sockets[0].getsockname()[1]
        super()._trigger_server()  # type: ignore[no-untyped-call]


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (free a moment ago)."""
    import socket

    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return cast(int, probe.getsockname()[1])
