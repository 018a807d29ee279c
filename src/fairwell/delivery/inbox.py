"""The inbox readers: a Maildir on this machine, or an IMAP folder over verified TLS.

Both give the new messages' exact bytes and leave each one new until it is handled, so a
crash, a lost connection or a bug in handling one message loses nothing:

* **Maildir**: the files in ``new/``; a handled message is renamed into ``cur/`` with the
  Seen flag (``:2,S``), as a mail client does. The standard library's ``mailbox.Maildir``
  can only move a message by writing it again, so the rename is done here: same bytes, one
  atomic step.
* **IMAP** (imaplib): the messages without ``\\Seen`` in the folder, fetched with
  ``BODY.PEEK[]`` so reading marks nothing; a handled one gets ``\\Seen``. Give Fairwell a
  mailbox or folder of its own: a message someone already read there is not fetched.

Deleting is only for messages about an erased person (services/inbox.py). Errors become
:class:`~fairwell.ports.InboxUnavailable` with one line that names the mailbox, never a
password.
"""

from __future__ import annotations

import contextlib
import imaplib
import os
import ssl
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from fairwell.config import ImapSecurity
from fairwell.errors import ConfigurationError, InboxUnavailable
from fairwell.ports import Inbox, ReceivedMail

if TYPE_CHECKING:
    from fairwell.config import Settings

SEEN = ":2,S"


def open_inbox(settings: Settings) -> Inbox:
    """The inbox the operator configured; ConfigurationError when there is none."""
    if settings.inbox_maildir is not None:
        return MaildirInbox(settings.inbox_maildir)
    if settings.imap_host and settings.imap_username and settings.imap_password is not None:
        return ImapInbox(
            host=settings.imap_host,
            port=settings.imap_port,
            security=settings.imap_security,
            username=settings.imap_username,
            password=settings.imap_password,
            folder=settings.imap_folder,
            ca_file=settings.imap_ca_file,
            timeout=settings.imap_timeout,
        )
    raise ConfigurationError(
        "no inbox is configured: set FAIRWELL_INBOX_MAILDIR or FAIRWELL_IMAP_HOST"
    )


def inbox_configured(settings: Settings) -> bool:
    return settings.inbox_maildir is not None or bool(settings.imap_host)


class MaildirInbox:
    """New messages of a Maildir: ``new/`` in name order; handled ones move to ``cur/``."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def _folders(self) -> tuple[Path, Path]:
        new, cur = self.path / "new", self.path / "cur"
        if not (new.is_dir() and cur.is_dir()):
            raise InboxUnavailable(f"no Maildir at {self.path} (it needs new/ and cur/)")
        return new, cur

    def new_messages(self) -> Iterator[ReceivedMail]:
        new, _ = self._folders()
        try:
            names = sorted(name for name in os.listdir(new) if not name.startswith("."))
        except OSError as error:
            raise InboxUnavailable(f"cannot read {new}: {error.strerror}") from None
        for name in names:
            try:
                raw = (new / name).read_bytes()
            except FileNotFoundError:
                continue  # another reader took it meanwhile
            except OSError as error:
                raise InboxUnavailable(f"cannot read {new / name}: {error.strerror}") from None
            yield ReceivedMail(name, raw)

    def handled(self, key: str) -> None:
        new, cur = self._folders()
        os.rename(new / key, cur / (key.partition(":")[0] + SEEN))

    def delete(self, key: str) -> None:
        new, _ = self._folders()
        (new / key).unlink(missing_ok=True)

    def close(self) -> None:
        return None


class ImapInbox:
    """Unread messages of one IMAP folder, over TLS with the certificate verified."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: ImapSecurity | str,
        username: str,
        password: str,
        folder: str = "INBOX",
        ca_file: Path | str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self._host, self._port = host, port
        self._security = ImapSecurity(security)
        self._username, self._password = username, password
        self._folder = folder
        self._timeout = timeout
        try:
            self._tls = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
        except OSError as error:
            raise ConfigurationError(f"imap_ca_file: cannot load {ca_file}: {error}") from None
        self._connection: imaplib.IMAP4 | None = None
        self._deleted: list[str] = []

    @property
    def _where(self) -> str:
        return f"the mailbox {self._host}:{self._port}"

    def new_messages(self) -> Iterator[ReceivedMail]:
        connection = self._open()
        for uid in self._unseen(connection):
            raw = self._fetch(connection, uid)
            if raw is not None:
                yield ReceivedMail(uid, raw)

    def handled(self, key: str) -> None:
        self._store(key, r"(\Seen)")

    def delete(self, key: str) -> None:
        self._store(key, r"(\Seen \Deleted)")
        self._deleted.append(key)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            if self._deleted:
                self._expunge(connection)
            connection.logout()
        self._deleted = []

    # -- the session ------------------------------------------------------------------------

    def _open(self) -> imaplib.IMAP4:
        if self._connection is not None:
            return self._connection
        connection: imaplib.IMAP4 | None = None
        try:
            connection = self._dial()
            connection.login(self._username, self._password)
            status, _ = connection.select(_quoted(self._folder))
            if status != "OK":
                raise InboxUnavailable(f"{self._where} has no folder {self._folder!r}")
        except InboxUnavailable:
            _logout_quietly(connection)
            raise
        except ssl.SSLCertVerificationError as error:
            _logout_quietly(connection)
            raise InboxUnavailable(
                f"the TLS certificate of {self._where} was refused ({error.verify_message}); "
                "check imap_host and imap_ca_file"
            ) from None
        except imaplib.IMAP4.error as error:
            _logout_quietly(connection)
            raise InboxUnavailable(f"{self._where} refused the sign-in: {_said(error)}") from None
        except OSError as error:
            _logout_quietly(connection)
            raise InboxUnavailable(
                f"cannot reach {self._where}: {error.strerror or error}"
            ) from None
        self._connection = connection
        return connection

    def _dial(self) -> imaplib.IMAP4:
        if self._security is ImapSecurity.TLS:
            return imaplib.IMAP4_SSL(
                self._host, self._port, ssl_context=self._tls, timeout=self._timeout
            )
        connection = imaplib.IMAP4(self._host, self._port, timeout=self._timeout)
        # No sign-in ever goes in clear: STARTTLS first, or imaplib raises.
        connection.starttls(ssl_context=self._tls)
        return connection

    def _unseen(self, connection: imaplib.IMAP4) -> list[str]:
        status, data = self._call(lambda: connection.uid("SEARCH", "UNSEEN"))
        if status != "OK":
            raise InboxUnavailable(f"{self._where} refused to list new messages")
        found = data[0] if data and isinstance(data[0], bytes) else b""
        return [uid.decode("ascii") for uid in found.split()]

    def _fetch(self, connection: imaplib.IMAP4, uid: str) -> bytes | None:
        status, data = self._call(lambda: connection.uid("FETCH", uid, "(BODY.PEEK[])"))
        if status != "OK":
            raise InboxUnavailable(f"{self._where} refused to give message {uid}")
        for item in data:
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], bytes):
                return item[1]
        return None  # expunged by someone else meanwhile

    def _store(self, uid: str, flags: str) -> None:
        connection = self._open()
        status, _ = self._call(lambda: connection.uid("STORE", uid, "+FLAGS", flags))
        if status != "OK":
            raise InboxUnavailable(f"{self._where} refused to mark message {uid}")

    def _expunge(self, connection: imaplib.IMAP4) -> None:
        """Remove the messages deleted here, and only them when the server can (UIDPLUS)."""
        if "UIDPLUS" in connection.capabilities:
            connection.uid("EXPUNGE", ",".join(self._deleted))
        else:
            connection.expunge()

    def _call(self, command: Callable[[], tuple[str, list[object]]]) -> tuple[str, list[object]]:
        try:
            return command()
        except (imaplib.IMAP4.error, OSError) as error:
            self._connection = None
            raise InboxUnavailable(f"lost {self._where}: {_said(error)}") from None


def _quoted(folder: str) -> str:
    """An IMAP quoted string (RFC 3501): a folder name may hold spaces."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _said(error: BaseException) -> str:
    text = str(error.args[0] if error.args else error)
    if text.startswith("b'") or text.startswith('b"'):
        text = text[2:-1]
    return " ".join(text.split())[:200] or type(error).__name__


def _logout_quietly(connection: imaplib.IMAP4 | None) -> None:
    if connection is not None:
        with contextlib.suppress(imaplib.IMAP4.error, OSError):
            connection.shutdown()
