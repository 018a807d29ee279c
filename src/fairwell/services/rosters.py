"""The organisation's roster, one per process, brought up to date with what changed.

The privacy guard looks for everyone on file in every letter: every person of every job,
past and present, erased people aside. A million people are tens of MiB and seconds to
read, so a process builds the roster once and shares it between planning, queueing, the
web pages and the delivery worker. Before each use it asks the database one row (the
roster's version, kept by triggers: migration 0015); when it moved, only the people changed
since are read and laid over the roster (:meth:`~fairwell.guard.roster.Roster.updated`).
After many changes the roster is built again from everyone on file, so the layer of changes
stays small.
"""

from __future__ import annotations

import threading
from typing import Protocol

from fairwell.guard.roster import Roster
from fairwell.ports import RosterStore

# People changed since the last build that may be laid over it before it is built again
# (an automaton of 10,000 people is about 8.5 MiB and 0.1 s to make again for each change);
# a small roster is built again sooner, after a quarter of its size (at least 1,000).
CHANGED_LIMIT = 10_000
CHANGED_MIN = 1_000


class RosterSource(Protocol):
    def current(self) -> Roster:
        """The roster as it is now."""
        ...


class RosterCache:
    """The process's roster: built once, then brought up to date change by change.

    Safe to share between threads: one of them reads what changed while the others wait,
    and a roster handed out is never changed (an update makes a new one over the same
    base). ``builds`` and ``updates`` count what it did.
    """

    def __init__(self, store: RosterStore, changed_limit: int = CHANGED_LIMIT) -> None:
        self._store, self._changed_limit = store, changed_limit
        self._roster: Roster | None = None
        self._version = 0
        self._lock = threading.Lock()
        self.builds = 0
        self.updates = 0

    def current(self) -> Roster:
        with self._lock:
            version = self._store.roster_version()
            roster = self._roster
            if roster is not None and version == self._version:
                return roster
            if roster is not None:
                updated = self._updated(roster)
                if updated is not None:
                    return updated
            # The old roster goes before the new one is built: never two of a million people.
            self._roster = None
            built = Roster(self._store.roster())
            # Read before the roster: a later change is read again, and the roster holds at
            # least everyone on file at this version (what a guard seal names).
            built.version = version
            self._roster, self._version = built, version
            self.builds += 1
            return built

    def _updated(self, roster: Roster) -> Roster | None:
        """The roster with the changes since its version, or None when too many changed."""
        limit = min(self._changed_limit, max(CHANGED_MIN, roster.size // 4))
        room = limit - roster.changed
        changes = self._store.roster_changes(self._version, room) if room > 0 else None
        if changes is None:
            return None
        if changes.people:
            roster = roster.updated(changes.people)
            roster.version = changes.version
            self.updates += 1
        # With no one changed the roster handed out before is everyone on file at the new
        # version too; its own version stays (a seal made with it stays valid at either).
        self._roster, self._version = roster, changes.version
        return roster


def roster_for(store: RosterStore, *sources: RosterSource | None) -> Roster:
    """The roster from the first source given (the process's cache), or, without one, read
    for this call alone: fine for a test or a small organisation, slow for a million people."""
    for source in sources:
        if source is not None:
            return source.current()
    return Roster(store.roster())
