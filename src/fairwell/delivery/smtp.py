"""SMTP transport: one recipient per message, one reused connection, verified TLS.

When the relay offers PIPELINING (RFC 2920), MAIL, RCPT and DATA go in one write and a
message costs two round trips instead of four; the replies are judged exactly as they are
one at a time. A stream of letters (:meth:`SmtpTransport.submit`) goes further: each letter's
data goes in the same write as the next letter's MAIL, RCPT and DATA, one round trip a letter.

Failure is classified here, at the boundary, so code above only ever sees the two outcomes
of :mod:`fairwell.ports`:

* :class:`TransientDeliveryError` - a 4xx reply, 552 (temporary per RFC 5321 4.5.3.1.10), a
  refused, reset or timed-out connection. ``possible_duplicate`` is set when the connection
  broke after the whole message had been sent but before the relay's final reply arrived;
  ``slow_down`` after 421, 454 or a relay that cannot be reached, so every worker waits.

A ``452`` (too many recipients or messages in this session) closes the session: the letter
that got it goes at once on a fresh session when the old one had taken letters (the relay's
per-session quota), and so do the letters after it. Only a 452 on a fresh session is an
outcome (temporary) for the letter.

Sign-in is AUTH with a password, or XOAUTH2 (Google Workspace, Microsoft 365) with a bearer
token read from a file at every new session, so the operator's token helper keeps it fresh.
* :class:`PermanentDeliveryError` - any other 5xx reply (``recipient_refused`` when refused at
  RCPT), a relay certificate that does not verify, a relay that cannot do what was
  configured (STARTTLS, AUTH), or arguments that cannot make one clean envelope.

Error details carry the SMTP code and the relay's reply text with addresses blanked out: never
the recipient, never the message. Invalid settings raise ConfigurationError at construction.
"""

from __future__ import annotations

import contextlib
import re
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from fairwell.config import SmtpAuth, SmtpSecurity
from fairwell.errors import (
    ConfigurationError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)

if TYPE_CHECKING:
    from fairwell.config import Settings

# One envelope address: printable ASCII with no space, angle bracket, comma or second "@".
# Our addresses are normalised to ASCII (domain/addresses.py), so SMTPUTF8 is never needed.
_ENVELOPE_ADDRESS = re.compile(r"[!-~]+@[!-~]+", re.ASCII)
_NOT_IN_ADDRESS = frozenset("<>,")
# Anything that looks like an address in a relay's reply; blanked out before it is shown.
_ADDRESS_IN_REPLY = re.compile(r"\S*@\S*")
_MAX_REPLY_TEXT = 300
# "Too many recipients / messages in this session": a fresh session, not a later retry.
_SESSION_FULL = 452
_CRLF = b"\r\n"
# Names for the replies smtplib raises as exceptions while a session is set up.
_SETUP_STAGE: dict[type[smtplib.SMTPResponseException], str] = {
    smtplib.SMTPConnectError: "the greeting",
    smtplib.SMTPHeloError: "EHLO",
    smtplib.SMTPAuthenticationError: "AUTH",
}


Sent = tuple[int, DeliveryError | None]
"""A letter's key and the relay's verdict on it: None when the relay took the letter."""


@dataclass(frozen=True, slots=True)
class _Letter:
    key: int
    sender: str
    recipient: str
    message: bytes


@dataclass(frozen=True, slots=True)
class _Unread:
    """Replies of a stream not read yet: a letter's envelope (MAIL, RCPT, DATA) or, once its
    data was sent, its final reply. ``fresh``: the envelope went on a session opened for it."""

    letter: _Letter
    final: bool
    fresh: bool = False


class _ClosedBeforeMail(Exception):
    """The relay had closed the session before this transaction began; nothing was sent."""

    def __init__(self, error: DeliveryError) -> None:
        super().__init__(error.detail)
        self.error = error


class _SessionFull(_ClosedBeforeMail):
    """452 on a session that had taken letters: closed; the relay kept nothing of this one."""


@dataclass(frozen=True, slots=True)
class _XOauth2:
    username: str
    token_file: Path

    def response(self) -> str:
        """The SASL XOAUTH2 initial response, with the token as the file holds it now."""
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as error:
            # The token helper may be writing it this moment: try again later.
            raise TransientDeliveryError(
                f"cannot read smtp_oauth2_token_file {self.token_file}: {error.strerror}"
            ) from None
        if not token:
            raise TransientDeliveryError(f"smtp_oauth2_token_file {self.token_file} is empty")
        return f"user={self.username}\x01auth=Bearer {token}\x01\x01"


class SmtpTransport:
    """Sends each message to exactly one recipient over one SMTP session, reused across sends.

    The session is opened on the first :meth:`send`, kept open between sends and reopened
    after anything broke it. Not thread-safe: give each worker thread its own transport.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: SmtpSecurity | str,
        username: str | None = None,
        password: str | None = None,
        ca_file: Path | str | None = None,
        timeout: float = 30.0,
        local_hostname: str | None = None,
        auth: SmtpAuth | str = SmtpAuth.PASSWORD,
        oauth2_token_file: Path | str | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._security = _parse_security(security)
        self._xoauth2 = _xoauth2(auth, username, oauth2_token_file, self._security)
        self._credentials = (
            None if self._xoauth2 else _credentials(username, password, self._security)
        )
        self._tls = None if self._security is SmtpSecurity.NONE else _tls_context(ca_file)
        self._timeout = timeout
        self._local_hostname = local_hostname
        self._connection: smtplib.SMTP | None = None
        self._unread: list[_Unread] = []
        self._ready: _Letter | None = None  # its DATA got 354; its data is not sent yet
        # Nothing of it reached a session that closed; it goes whole, once the outcomes
        # decided before it have been handed on.
        self._resend: list[_Letter] = []
        self._accepted_here = 0  # letters the current session took (its quota, for 452)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpTransport:
        """Build the transport the operator configured (``FAIRWELL_SMTP_*``)."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=settings.smtp_security,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
            timeout=settings.smtp_timeout,
            auth=settings.smtp_auth,
            oauth2_token_file=settings.smtp_oauth2_token_file,
        )

    @property
    def _relay(self) -> str:
        return f"{self._host}:{self._port}"

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        """Hand ``message`` to the relay for ``recipient`` alone (one MAIL, one RCPT, DATA).

        Returns when the relay accepted the message (250 after the data). Raises
        TransientDeliveryError or PermanentDeliveryError; nothing else.
        """
        self._refuse_if_open()
        _check_envelope(sender, recipient, message)
        try:
            self._send_checked(sender, recipient, message)
        except DeliveryError:
            raise  # the session was already left clean or dropped
        except BaseException:
            # Interrupted mid-transaction (Ctrl-C, a task time limit): a reply may still be in
            # flight and would be read as the answer to the next command. Never reuse this.
            self._drop()
            raise

    def probe(self, sender: str) -> None:
        """Check the relay would take mail from ``sender``, sending nothing.

        Opens a session exactly as :meth:`send` does (TLS verified, AUTH), says MAIL FROM and
        takes it back with RSET: without a RCPT no message can go anywhere. Returns when the
        relay answered 250; raises TransientDeliveryError or PermanentDeliveryError.
        """
        self._refuse_if_open()
        if not _is_envelope_address(sender):
            raise PermanentDeliveryError("the sender is not exactly one address; nothing was sent")
        connection = self._connect()
        try:
            code, reply = connection.docmd("MAIL", f"FROM:<{sender}>")
        except OSError as error:
            self._drop()
            raise TransientDeliveryError(f"connection to {self._relay} broke: {error}") from None
        self._reset(connection)
        if code != 250:
            raise _refusal(code, reply, "MAIL FROM")

    def close(self) -> None:
        """Say QUIT and close the session, ignoring errors: the relay may already be gone.

        Letters submitted and not flushed are abandoned, never half-sent: the session is cut
        without QUIT, and a relay keeps nothing whose data did not end with the final dot.
        """
        if self._unread or self._ready or self._resend:
            self._unread, self._ready, self._resend = [], None, []
            self._drop()
            return
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except OSError:
            pass
        finally:
            connection.close()

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- a stream of letters, one round trip each -----------------------------------------------

    def submit(self, key: int, sender: str, recipient: str, message: bytes) -> list[Sent]:
        """Hand ``message`` over; return every letter whose outcome is now known.

        With PIPELINING nothing waits for the relay here. The replies to what the previous
        call wrote are read first (the relay has had the caller's time between calls to
        answer); then one write carries the previous letter's data, once its DATA got 354,
        and this letter's MAIL, RCPT and DATA (RFC 2920 lets data start a group). So a letter
        costs one write and one read, and its outcome comes with a later call or from
        :meth:`flush`. Every outcome is judged as :meth:`send` judges it; the relay answers in
        order, so replies are never given to the wrong letter. Without PIPELINING each letter
        is sent whole at once.

        A relay that hangs up without a 421 (against RFC 5321) while a letter's data is on
        its way leaves that letter in doubt: it comes back as a possible duplicate, to be
        retried and counted, never lost. A letter of which nothing was sent goes whole on a
        new session.
        """
        try:
            _check_envelope(sender, recipient, message)
        except PermanentDeliveryError as error:
            return [(key, error)]
        letter = _Letter(key, sender, recipient, message)
        try:
            done = self._settle_all()
            ready, self._ready = self._ready, None
            return [*done, *self._write_group(ready, letter)]
        except BaseException:
            self._abandon()
            raise

    def collect(self) -> list[Sent]:
        """Read the replies due so far and return the outcomes they decide, writing nothing.

        A caller that records these before its next :meth:`submit` never has more than one
        letter's data on its way with a known outcome still unrecorded.
        """
        try:
            return self._settle()
        except BaseException:
            self._abandon()
            raise

    def flush(self) -> list[Sent]:
        """Read every reply still due and send the last letter's data; return the outcomes."""
        try:
            done = self._settle_all()
            ready, self._ready = self._ready, None
            if ready is None:
                return done
            assert self._connection is not None  # a letter is ready only on a live session
            try:
                self._send_data(self._connection, ready.message, ready.recipient)
            except _SessionFull:
                return [*done, self._whole(ready, reused=True)]
            except DeliveryError as error:
                return [*done, (ready.key, error)]
            return [*done, (ready.key, None)]
        except BaseException:
            self._abandon()
            raise

    def _abandon(self) -> None:
        """Interrupted mid-group: replies may be in flight, so the session is never reused."""
        self._unread, self._ready, self._resend = [], None, []
        self._drop()

    def _write_group(self, ready: _Letter | None, letter: _Letter) -> list[Sent]:
        """One write: the ready letter's data (if any), then ``letter``'s envelope."""
        fresh = self._connection is None
        try:
            connection = self._connect()
        except DeliveryError as error:
            return [(letter.key, error)]  # nothing is ready without a session
        if not connection.has_extn("pipelining"):
            return [self._whole(letter, reused=not fresh)]
        parameters = _mail_parameters(connection, letter.message)
        envelope = (
            f"MAIL FROM:<{letter.sender}>{parameters}\r\nRCPT TO:<{letter.recipient}>\r\nDATA\r\n"
        ).encode("ascii")
        data = b"" if ready is None else _data_payload(ready.message)
        try:
            connection.send(data + envelope)
        except OSError as error:
            self._drop()
            if ready is None and fresh:
                lost = TransientDeliveryError(f"connection to {self._relay} broke at MAIL: {error}")
                return [(letter.key, lost)]
            if ready is None:
                return [self._whole(letter, reused=True)]
            self._resend = [letter]
            # The final dot is not the last byte of this write: the relay may have taken it.
            return [(ready.key, self._in_doubt(f"while its data was sent: {error}"))]
        if ready is not None:
            self._unread.append(_Unread(ready, final=True))
        self._unread.append(_Unread(letter, final=False, fresh=fresh))
        return []

    def _settle_all(self) -> list[Sent]:
        """:meth:`_settle`, then a letter it left to send again: before anything more goes on
        the new session, so no reply can be taken for another letter's."""
        done = self._settle()
        while self._resend:
            done.append(self._again_now())
        return done

    def _again_now(self) -> Sent:
        letter = self._resend.pop(0)
        return self._whole(letter, reused=True)

    def _settle(self) -> list[Sent]:
        """Read every reply due; return the outcomes. A letter whose DATA got 354 is ready."""
        if self._resend:
            # Set only when a session closed: nothing is unread and nothing is ready.
            return [self._again_now()]
        done: list[Sent] = []
        unread, self._unread = self._unread, []
        for item in unread:
            connection = self._connection
            if connection is None and item.final:  # (a final reply is always read first)
                done.append((item.letter.key, self._in_doubt("before its reply was read")))
            elif connection is None:
                # The session closed under an earlier reply: nothing of this letter's data
                # was sent, so it goes again, whole, on a new session.
                self._again(item.letter, done)
            elif item.final:
                try:
                    done.append(self._data_verdict(connection, item.letter))
                except _SessionFull:
                    self._again(item.letter, done)
            else:
                self._envelope_verdict(connection, item, done)
        return done

    def _envelope_verdict(self, connection: smtplib.SMTP, item: _Unread, done: list[Sent]) -> None:
        """The letter is ready when DATA got 354; else its outcome joins ``done``."""
        try:
            self._envelope_replies(connection, item.letter.recipient)
        except _ClosedBeforeMail as closed:
            if item.fresh:
                done.append((item.letter.key, closed.error))
            else:
                self._again(item.letter, done)
        except DeliveryError as error:
            done.append((item.letter.key, error))
        else:
            self._ready = item.letter

    def _again(self, letter: _Letter, done: list[Sent]) -> None:
        """Send a letter whole on a new session, after the outcomes in ``done`` are handed on:
        one letter at most is then sent with its outcome not yet recorded."""
        if done or self._resend:
            self._resend.append(letter)
        else:
            done.append(self._whole(letter, reused=True))

    def _data_verdict(self, connection: smtplib.SMTP, letter: _Letter) -> Sent:
        try:
            self._data_reply(connection, letter.recipient)
        except DeliveryError as error:
            return (letter.key, error)
        return (letter.key, None)

    def _whole(self, letter: _Letter, *, reused: bool) -> Sent:
        """Send one letter whole, as :meth:`send` does, and return its outcome."""
        try:
            if reused and self._connection is None:
                # Nothing of it reached the session that closed: one try on a new one.
                self._retry_on_fresh_session(letter.sender, letter.recipient, letter.message)
            else:
                self._send_checked(letter.sender, letter.recipient, letter.message, reused)
        except DeliveryError as error:
            return (letter.key, error)
        return (letter.key, None)

    def _in_doubt(self, when: str) -> TransientDeliveryError:
        return TransientDeliveryError(
            f"the connection to {self._relay} broke {when}", possible_duplicate=True
        )

    def _refuse_if_open(self) -> None:
        if self._unread or self._ready or self._resend:
            raise RuntimeError("submitted letters are still in flight: flush() them first")

    # -- the transaction ----------------------------------------------------------------------

    def _send_checked(
        self, sender: str, recipient: str, message: bytes, reused: bool | None = None
    ) -> None:
        """One transaction; ``reused``: whether the session had served a letter before (by
        default, whether one is open). Only a reused session is worth a second try."""
        if reused is None:
            reused = self._connection is not None
        try:
            self._transaction(self._connect(), sender, recipient, message)
        except _ClosedBeforeMail as closed:
            if not reused:
                raise closed.error from None
            # Relays close sessions that sat idle or used up their quota, and a client only
            # notices at its next command. Nothing of this message was sent, so one more try
            # on a fresh session is safe.
            self._retry_on_fresh_session(sender, recipient, message)

    def _retry_on_fresh_session(self, sender: str, recipient: str, message: bytes) -> None:
        try:
            self._transaction(self._connect(), sender, recipient, message)
        except _ClosedBeforeMail as closed:
            raise closed.error from None

    def _transaction(
        self, connection: smtplib.SMTP, sender: str, recipient: str, message: bytes
    ) -> None:
        # Commands are sent by hand rather than with sendmail() so each failure is known to
        # have happened at MAIL, at RCPT, at DATA or after the data, and so there is
        # visibly exactly one RCPT.
        parameters = _mail_parameters(connection, message)
        if connection.has_extn("pipelining"):
            self._pipelined(connection, sender, recipient, parameters)
        else:
            self._command(connection, "MAIL FROM", f"FROM:<{sender}>{parameters}", 250, recipient)
            self._command(connection, "RCPT TO", f"TO:<{recipient}>", 250, recipient)
            self._command(connection, "DATA", "", 354, recipient)
        self._send_data(connection, message, recipient)

    def _pipelined(
        self, connection: smtplib.SMTP, sender: str, recipient: str, parameters: str
    ) -> None:
        """MAIL, RCPT and DATA in one write (RFC 2920): one round trip instead of three.

        All three replies are read, whatever they say, so the session stays in step; then
        they are judged in order, exactly as the one-at-a-time path judges them.
        """
        group = f"MAIL FROM:<{sender}>{parameters}\r\nRCPT TO:<{recipient}>\r\nDATA\r\n"
        try:
            connection.send(group)
        except OSError as error:  # nothing of the message itself has been sent yet
            self._drop()
            lost = TransientDeliveryError(f"connection to {self._relay} broke at MAIL: {error}")
            raise _ClosedBeforeMail(lost) from None
        self._envelope_replies(connection, recipient)

    def _envelope_replies(self, connection: smtplib.SMTP, recipient: str) -> None:
        """Read the replies to a pipelined MAIL, RCPT and DATA; return when DATA got 354."""
        try:
            replies = [connection.getreply() for _ in range(3)]
        except OSError as error:  # nothing of the message itself has been sent yet
            self._drop()
            lost = TransientDeliveryError(f"connection to {self._relay} broke at MAIL: {error}")
            raise _ClosedBeforeMail(lost) from None
        (mail_code, mail_reply), (rcpt_code, rcpt_reply), (data_code, data_reply) = replies
        if mail_code != 250:
            failed = ("MAIL FROM", mail_code, mail_reply)
        elif rcpt_code not in (250, 251):
            failed = ("RCPT TO", rcpt_code, rcpt_reply)
        elif data_code != 354:
            failed = ("DATA", data_code, data_reply)
        else:
            return
        self._abandon_pipelined(connection, data_code, failed, recipient)

    def _abandon_pipelined(
        self,
        connection: smtplib.SMTP,
        data_code: int,
        failed: tuple[str, int, bytes],
        recipient: str,
    ) -> None:
        stage, code, reply = failed
        refusal = _refusal(code, reply, stage, recipient)
        if code == _SESSION_FULL and data_code != 354:
            self._session_full(refusal)
        if 421 in (code, data_code):
            self._drop()
            if stage == "MAIL FROM":
                raise _ClosedBeforeMail(refusal)
            raise refusal
        if data_code == 354:
            # The relay opened DATA although an earlier command failed: close it empty.
            try:
                connection.send(b".\r\n")
                connection.getreply()
            except OSError:
                self._drop()
                raise refusal from None
        if code == _SESSION_FULL:
            self._session_full(refusal)
        self._reset(connection)
        raise refusal

    def _command(
        self, connection: smtplib.SMTP, stage: str, argument: str, expected: int, recipient: str
    ) -> None:
        """Send one command; on anything but ``expected``, leave the session clean and raise."""
        verb = stage.split()[0]
        try:
            code, reply = connection.docmd(verb, argument)
        except OSError as error:  # SMTPServerDisconnected, a reset, a timeout
            self._drop()
            lost = TransientDeliveryError(f"connection to {self._relay} broke at {stage}: {error}")
            if verb == "MAIL":
                raise _ClosedBeforeMail(lost) from None
            raise lost from None
        if code == expected or (verb == "RCPT" and code == 251):
            return
        refusal = _refusal(code, reply, stage, recipient)
        if code == _SESSION_FULL:
            self._session_full(refusal)
        if code == 421:
            # 421: the relay is closing the session; it will not take another command.
            self._drop()
            if verb == "MAIL":
                raise _ClosedBeforeMail(refusal)
        elif verb != "MAIL":
            self._reset(connection)
        raise refusal

    def _send_data(self, connection: smtplib.SMTP, message: bytes, recipient: str) -> None:
        try:
            connection.send(_data_payload(message))
        except OSError as error:
            # The end marker is the last byte sent, so the relay cannot have taken the message.
            self._drop()
            raise TransientDeliveryError(
                f"the connection to {self._relay} broke while sending the message: {error}"
            ) from None
        self._data_reply(connection, recipient)

    def _data_reply(self, connection: smtplib.SMTP, recipient: str) -> None:
        """Read the relay's verdict on a message whose data was sent; raise unless 250."""
        try:
            code, reply = connection.getreply()
        except OSError as error:
            # Everything was sent; the relay may have accepted the message and we will never
            # know. A retry may deliver it twice, so the caller counts this case.
            self._drop()
            raise TransientDeliveryError(
                f"no reply from {self._relay} after the message was sent: {error}",
                possible_duplicate=True,
            ) from None
        if code == 250:
            self._accepted_here += 1
            return
        refusal = _refusal(code, reply, "the end of DATA", recipient)
        if code == _SESSION_FULL:
            self._session_full(refusal)
        if code == 421:
            self._drop()
        # After the final reply the session is ready for the next MAIL; no RSET is needed.
        raise refusal

    def _session_full(self, refusal: DeliveryError) -> None:
        """452: close this session (with QUIT when nothing is in flight on it) and raise.

        When the session had taken letters, the relay's per-session quota is used up: the
        letter goes again at once on a fresh session (_SessionFull). On a fresh session a 452
        is the relay's answer to this letter: a temporary failure, retried later.
        """
        full = self._accepted_here > 0
        if self._unread or self._ready:
            self._drop()  # a pipelined letter is on its way: cut, so the relay keeps nothing
        else:
            connection, self._connection = self._connection, None
            if connection is not None:
                with contextlib.suppress(OSError):
                    connection.quit()
                _close_quietly(connection)
        if full:
            raise _SessionFull(refusal)
        raise refusal

    def _reset(self, connection: smtplib.SMTP) -> None:
        """Abort a half-done transaction with RSET; drop the session if even that fails."""
        try:
            code, _ = connection.rset()
        except OSError:
            code = -1
        if code != 250:
            self._drop()

    # -- the session --------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        if self._connection is None:
            self._connection = self._open()
            self._accepted_here = 0
        return self._connection

    def _open(self) -> smtplib.SMTP:
        """Connect, secure and authenticate a new session, or raise a DeliveryError."""
        connection: smtplib.SMTP | None = None
        try:
            connection = self._dial()
            self._prepare(connection)
        except DeliveryError:
            _close_quietly(connection)
            raise
        except OSError as error:  # smtplib's and ssl's errors are all OSErrors
            _close_quietly(connection)
            raise _setup_failure(error, self._relay) from None
        return connection

    def _dial(self) -> smtplib.SMTP:
        if self._security is SmtpSecurity.TLS:
            return smtplib.SMTP_SSL(
                self._host,
                self._port,
                local_hostname=self._local_hostname,
                timeout=self._timeout,
                context=self._tls,
            )
        return smtplib.SMTP(
            self._host, self._port, local_hostname=self._local_hostname, timeout=self._timeout
        )

    def _prepare(self, connection: smtplib.SMTP) -> None:
        connection.ehlo_or_helo_if_needed()
        if self._security is SmtpSecurity.STARTTLS:
            if not connection.has_extn("starttls"):
                raise PermanentDeliveryError(
                    f"{self._relay} does not offer STARTTLS and smtp_security is starttls; "
                    "nothing is sent in clear"
                )
            connection.starttls(context=self._tls)
            # RFC 3207: forget what the relay said before TLS and ask again.
            connection.ehlo_or_helo_if_needed()
        if self._credentials is not None:
            if not connection.has_extn("auth"):
                raise PermanentDeliveryError(
                    f"{self._relay} does not offer AUTH but smtp_username is set"
                )
            connection.login(*self._credentials)
        if self._xoauth2 is not None:
            self._sign_in_with_token(connection, self._xoauth2)

    def _sign_in_with_token(self, connection: smtplib.SMTP, xoauth2: _XOauth2) -> None:
        mechanisms = (connection.esmtp_features.get("auth") or "").upper().split()
        if "XOAUTH2" not in mechanisms:
            raise PermanentDeliveryError(
                f"{self._relay} does not offer AUTH XOAUTH2 but smtp_auth is xoauth2"
            )
        initial = xoauth2.response()

        def answer(challenge: bytes | None = None) -> str:
            # A failed token gets a 334 with an error document (RFC 7628 3.2.3): the client
            # answers with an empty line and the relay then says 535.
            return initial if challenge is None else ""

        connection.auth("XOAUTH2", answer, initial_response_ok=True)

    def _drop(self) -> None:
        """Forget a broken session without QUIT; the next send opens a new one."""
        connection, self._connection = self._connection, None
        _close_quietly(connection)


# -- configuration ----------------------------------------------------------------------------


def _parse_security(security: SmtpSecurity | str) -> SmtpSecurity:
    try:
        return SmtpSecurity(security)
    except ValueError:
        raise ConfigurationError(
            f"smtp_security must be none, starttls or tls, not {security!r}"
        ) from None


def _xoauth2(
    auth: SmtpAuth | str,
    username: str | None,
    token_file: Path | str | None,
    security: SmtpSecurity,
) -> _XOauth2 | None:
    try:
        method = SmtpAuth(auth)
    except ValueError:
        raise ConfigurationError(f"smtp_auth must be password or xoauth2, not {auth!r}") from None
    if method is SmtpAuth.PASSWORD:
        return None
    if not username or token_file is None:
        raise ConfigurationError("smtp_auth xoauth2 needs smtp_username and smtp_oauth2_token_file")
    if security is SmtpSecurity.NONE:
        raise ConfigurationError(
            "smtp_auth xoauth2 needs smtp_security starttls or tls: "
            "the token would cross the network in clear"
        )
    return _XOauth2(username, Path(token_file))


def _credentials(
    username: str | None, password: str | None, security: SmtpSecurity
) -> tuple[str, str] | None:
    if not username and not password:
        return None
    if not username or password is None:
        raise ConfigurationError("smtp_username and smtp_password must be set together")
    if security is SmtpSecurity.NONE:
        raise ConfigurationError(
            "smtp_username needs smtp_security starttls or tls: "
            "the password would cross the network in clear"
        )
    return username, password


def _tls_context(ca_file: Path | str | None) -> ssl.SSLContext:
    # Certificates and host names are always verified; there is deliberately no switch to
    # turn that off. A ca_file replaces the system's CAs for this relay.
    try:
        return ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    except OSError as error:  # a missing file, or one that holds no certificate
        raise ConfigurationError(f"smtp_ca_file: cannot load {ca_file}: {error}") from None


# -- checks and classification ----------------------------------------------------------------


def _check_envelope(sender: object, recipient: object, message: object) -> None:
    # Refuse, before a byte goes out, what cannot become one clean envelope and message.
    if not _is_envelope_address(recipient):
        raise PermanentDeliveryError("the recipient is not exactly one address; nothing was sent")
    if not _is_envelope_address(sender):
        raise PermanentDeliveryError("the sender is not exactly one address; nothing was sent")
    if not isinstance(message, bytes):
        raise PermanentDeliveryError("the message is not bytes; nothing was sent")
    if _has_bare_line_break(message):
        # Bare CR or LF next to a dot is how SMTP smuggling hides a second message.
        raise PermanentDeliveryError(
            "the message has a CR or LF outside a CRLF pair; nothing was sent"
        )


def _is_envelope_address(value: object) -> bool:
    return (
        isinstance(value, str)
        and _ENVELOPE_ADDRESS.fullmatch(value) is not None
        and value.count("@") == 1
        and _NOT_IN_ADDRESS.isdisjoint(value)
    )


def _has_bare_line_break(message: bytes) -> bool:
    pairs = message.count(_CRLF)
    return message.count(b"\r") != pairs or message.count(b"\n") != pairs


def _mail_parameters(connection: smtplib.SMTP, message: bytes) -> str:
    parameters = ""
    if connection.has_extn("size"):
        # Lets the relay refuse an oversized message before the data is sent.
        parameters += f" SIZE={len(message)}"
    if not message.isascii() and connection.has_extn("8bitmime"):
        parameters += " BODY=8BITMIME"
    return parameters


def _data_payload(message: bytes) -> bytes:
    # Dot-stuffing (RFC 5321 4.5.2): a line that starts with "." gets a second one.
    payload = message.replace(b"\r\n.", b"\r\n..")
    if payload.startswith(b"."):
        payload = b"." + payload
    if not payload.endswith(_CRLF):
        payload += _CRLF
    return payload + b".\r\n"


def _refusal(
    code: int, reply: bytes | str, stage: str, recipient: str | None = None
) -> DeliveryError:
    """Map the relay's reply to ``stage`` to the outcome the caller sees."""
    detail = f"{code} at {stage}: {_reply_text(reply, recipient)}"
    known_code = code if code > 0 else None
    # 552 is temporary (RFC 5321 4.5.3.1.10, as GNU Mailman does); so is a reply that makes no
    # sense at this point, which says more about the relay than about the message.
    if 500 <= code <= 599 and code != 552:
        return PermanentDeliveryError(detail, known_code, recipient_refused=stage == "RCPT TO")
    return TransientDeliveryError(detail, known_code)


def _reply_text(reply: bytes | str, recipient: str | None) -> str:
    """The relay's reply on one line, with every address (and the recipient) blanked out."""
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    text = _ADDRESS_IN_REPLY.sub("[address]", " ".join(text.split()))
    local_part = recipient.partition("@")[0] if recipient else ""
    if len(local_part) >= 3:
        # Some relays echo just the mailbox name ("no such user: anna.schmidt").
        text = re.sub(re.escape(local_part), "[address]", text, flags=re.IGNORECASE)
    return text[:_MAX_REPLY_TEXT]


def _setup_failure(error: OSError, relay: str) -> DeliveryError:
    """Classify what went wrong while connecting, securing or authenticating a session."""
    if isinstance(error, ssl.SSLCertVerificationError):
        # A configuration problem for the operator to fix; retrying would not help.
        return PermanentDeliveryError(
            f"the TLS certificate of {relay} was refused ({error.verify_message}); "
            "check smtp_host and smtp_ca_file"
        )
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TransientDeliveryError(f"{relay} closed the connection during the TLS handshake")
    if isinstance(error, ssl.SSLError):
        return PermanentDeliveryError(
            f"TLS with {relay} failed ({error.reason}); check smtp_security and smtp_port"
        )
    if isinstance(error, smtplib.SMTPResponseException):
        stage = _SETUP_STAGE.get(type(error), "the session setup")
        return _refusal(error.smtp_code, error.smtp_error, stage)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError(f"{relay} closed the connection: {error}")
    if isinstance(error, smtplib.SMTPException):  # e.g. no AUTH mechanism in common
        return PermanentDeliveryError(f"{relay}: {error}")
    # The relay is down or refusing connections: every worker waits before trying again.
    return TransientDeliveryError(
        f"cannot reach {relay}: {error.strerror or error}", slow_down=True
    )


def _close_quietly(connection: smtplib.SMTP | None) -> None:
    if connection is not None:
        with contextlib.suppress(OSError):
            connection.close()
