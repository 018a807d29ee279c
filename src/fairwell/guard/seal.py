"""The guard's seal: proof that a letter's bytes are the ones the guard passed, unchanged.

Every rule of the guard but one reads only a letter's bytes, who it goes to, in which
language, and the roster of everyone on file; the one that does not (``still-eligible``)
reads the database's facts at send time. So when the full guard passed a letter's final
bytes, a digest of all that it read (the bytes, the envelope recipient, the addressee, the
locale, the roster's version and the guard's own code) is a seal: at send time, a letter
whose seal still matches would get the very same verdict from those rules, and only the
send-time facts are checked again. A letter whose bytes, roster or guard changed in any way
(anyone on file added, changed or erased; a new release of the guard) no longer matches,
and the whole guard runs over its bytes again, as it does over any letter without a seal.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

# The guard's own code: the rules, the roster search and the MIME reading they share.
_GUARD_SOURCES = ("privacy.py", "roster.py", "compact_roster.py", "seal.py")
_READER_SOURCES = ("mimeread.py",)


@functools.cache
def guard_revision() -> bytes:
    """A digest of the guard's source files: a seal made by other code never matches."""
    here = Path(__file__).parent
    domain = here.parent / "domain"
    files = [here / name for name in _GUARD_SOURCES] + [domain / name for name in _READER_SOURCES]
    digest = hashlib.sha256()
    for file in files:
        digest.update(file.read_bytes())
    return digest.digest()


def seal(body: bytes, recipient: str, addressee_id: int, locale: str, roster_version: int) -> str:
    """The seal of a letter the full guard passed with the roster at ``roster_version``."""
    digest = hashlib.sha256(guard_revision())
    head = f"{roster_version}\0{addressee_id}\0{recipient}\0{locale}\0".encode()
    digest.update(head)
    digest.update(body)
    return digest.hexdigest()[:32]
