"""Message-IDs come from a pool of randomness read 256 ids at a time (services/compose.py):
every id is fresh, in threads and across a fork."""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

from fairwell.services import compose

HEX_128 = re.compile(r"[0-9a-f]{32}")


def test_ids_are_128_random_bits_in_hex_and_never_repeat() -> None:
    ids = [compose._message_ids.next() for _ in range(3 * compose._RandomIds.PER_READ + 5)]
    assert all(HEX_128.fullmatch(found) for found in ids)
    assert len(set(ids)) == len(ids)


def test_threads_drawing_together_never_get_the_same_id() -> None:
    source = compose._RandomIds()
    with ThreadPoolExecutor(8) as threads:
        batches = list(threads.map(lambda _: [source.next() for _ in range(500)], range(8)))
    ids = [found for batch in batches for found in batch]
    assert len(set(ids)) == len(ids) == 4000


def test_a_forked_process_never_gives_its_parents_next_id() -> None:
    """Without the fork hook the child would hold the parent's unread bytes: both would give
    the same next id (two letters with one Message-ID, refused by the outbox's unique key)."""
    compose._message_ids.next()  # the pool holds unread ids now
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover (the child process)
        try:
            os.write(writer, compose._message_ids.next().encode())
        finally:
            os._exit(0)
    os.close(writer)
    try:
        childs = os.read(reader, 64).decode()
    finally:
        os.close(reader)
        os.waitpid(child, 0)
    assert HEX_128.fullmatch(childs)
    assert childs != compose._message_ids.next()
