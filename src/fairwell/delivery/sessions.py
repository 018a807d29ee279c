"""One transport session per thread, so a worker can keep several SMTP sessions busy at once.

A relay answers each command after a round trip; a worker with one session spends that time
waiting. With N sessions, each on its own thread, N letters wait for their replies together
(as Postfix's smtp-source does with ``-s N``). Sessions are never shared between threads:
:class:`~fairwell.delivery.smtp.SmtpTransport` keeps protocol state per session and is not
thread-safe, so each thread gets its own, made on its first send and kept for the next.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from fairwell.ports import Transport


class SessionPerThread:
    """A Transport that any number of threads may call at once; each gets its own session."""

    def __init__(self, factory: Callable[[], Transport]) -> None:
        self._factory = factory
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[Transport] = []

    def _session(self) -> Transport:
        session: Transport | None = getattr(self._local, "session", None)
        if session is None:
            session = self._factory()
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def send(self, sender: str, recipient: str, message: bytes) -> None:
        self._session().send(sender, recipient, message)

    def close(self) -> None:
        """Close every session; call it when no send is in flight. A later send reopens."""
        with self._lock:
            sessions = list(self._sessions)
        for session in sessions:
            session.close()

    @property
    def sessions(self) -> int:
        """How many sessions have been made (one per thread that sent)."""
        with self._lock:
            return len(self._sessions)
