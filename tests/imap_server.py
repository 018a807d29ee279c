"""A real IMAP server for tests: Debian's Dovecot on 127.0.0.1, with a private configuration.

Not a mock: Fairwell's IMAP inbox talks to it over a socket, with TLS (implicit on one port,
STARTTLS on another) from a ``trustme`` CA. Everything it needs lives in a temporary folder:
its configuration, certificate, password file, run and state directories, log and the one
user's Maildir. As root the mailbox belongs to Dovecot's own ``dovecot`` user (Dovecot never
gives mail to root); as anyone else Dovecot runs wholly as that user.

    with DovecotServer() as imap:
        imap.append(raw_message)
        ... ImapInbox(host=imap.host, port=imap.port, ca_file=imap.ca_file, ...) ...
        assert imap.flags() == {"1": {"\\\\Seen"}}
"""

from __future__ import annotations

import contextlib
import getpass
import imaplib
import os
import pwd
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import trustme

from tests.smtp_server import unused_port

HOST = "127.0.0.1"
USER = "careers@acme.example.com"
PASSWORD = "correct horse battery staple"
CANDIDATES = ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot")


def dovecot_binary() -> str | None:
    found = shutil.which("dovecot")
    return found or next((path for path in CANDIDATES if os.access(path, os.X_OK)), None)


class DovecotServer:
    """A private Dovecot on free ports of 127.0.0.1; a context manager."""

    def __init__(self) -> None:
        binary = dovecot_binary()
        if binary is None:
            raise FileNotFoundError("dovecot is not installed (apt-get install dovecot-imapd)")
        self.binary = binary
        self.host = HOST
        self.user, self.password = USER, PASSWORD
        self.port = unused_port()  # implicit TLS
        self.starttls_port = unused_port()
        self._dir = Path(tempfile.mkdtemp(prefix="fairwell-dovecot-"))
        self.ca = trustme.CA()
        self.ca_file = self._dir / "ca.pem"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._write_configuration()
        self._process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self._dir / "dovecot.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            with contextlib.suppress(OSError), socket.create_connection((HOST, self.port), 1):
                return
            time.sleep(0.1)
        log = (self._dir / "dovecot.log").read_text(errors="replace")[-2000:]
        self.stop()
        raise RuntimeError(f"dovecot did not start:\n{log}")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> DovecotServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # -- what a test does with the mailbox ---------------------------------------------------

    def _session(self) -> imaplib.IMAP4_SSL:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        session = imaplib.IMAP4_SSL(HOST, self.port, ssl_context=context, timeout=10)
        session.login(self.user, self.password)
        session.select("INBOX")
        return session

    def append(self, *messages: bytes) -> None:
        """Deliver messages to the INBOX, unread, as a mail server would."""
        session = self._session()
        try:
            for message in messages:
                status, _ = session.append("INBOX", None, None, message)
                assert status == "OK"
        finally:
            session.logout()

    def flags(self) -> dict[str, set[str]]:
        """Every message still in the INBOX, by UID, with its flags."""
        session = self._session()
        try:
            _, data = session.uid("FETCH", "1:*", "(FLAGS)")
        finally:
            session.logout()
        found: dict[str, set[str]] = {}
        for item in data:
            if not isinstance(item, bytes):
                continue
            text = item.decode()
            uid = text.split("UID ")[1].split()[0].rstrip(")")
            flags = text.split("FLAGS (")[1].split(")")[0]
            found[uid] = set(flags.split())
        return found

    # -- the private configuration ---------------------------------------------------------------

    def _write_configuration(self) -> None:
        root = self._dir
        cert = self.ca.issue_cert(HOST, "localhost")
        cert.private_key_pem.write_to_path(str(root / "key.pem"))
        cert.cert_chain_pems[0].write_to_path(str(root / "cert.pem"))
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        (root / "passwd").write_text(f"{self.user}:{{PLAIN}}{self.password}\n")
        home = root / "home"
        home.mkdir()
        mail_user = "dovecot" if os.geteuid() == 0 else getpass.getuser()
        account = pwd.getpwnam(mail_user)
        os.chown(home, account.pw_uid, account.pw_gid)
        root.chmod(0o755)  # the mail user reaches its home through here
        runs_as = (
            ""
            if os.geteuid() == 0
            else f"default_login_user = {mail_user}\ndefault_internal_user = {mail_user}\n"
        )
        (root / "dovecot.conf").write_text(
            f"""protocols = imap
listen = {HOST}
base_dir = {root}/run
state_dir = {root}/state
instance_name = fairwell-test-{os.getpid()}-{self.port}
log_path = {root}/dovecot.log
{runs_as}first_valid_uid = {account.pw_uid}
ssl = required
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
auth_mechanisms = plain
disable_plaintext_auth = yes
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid={account.pw_uid} gid={account.pw_gid} home={home}/%n
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    port = {self.starttls_port}
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
"""
        )
