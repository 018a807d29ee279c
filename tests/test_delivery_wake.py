"""A worker pool's delivering processes wake each other as they stop (worker/embedded.py)."""

from __future__ import annotations

import multiprocessing
import threading

from fairwell.worker.embedded import _pause


class Recorded:
    """An event that says what was waited on, and never sleeps."""

    def __init__(self, name: str, waits: list[str], is_set: bool = False) -> None:
        self.name, self.waits, self._set = name, waits, is_set

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(self.name)
        return self._set


def test_a_process_waits_on_the_wake_until_another_process_stops() -> None:
    waits: list[str] = []
    stop, wake = Recorded("stop", waits), Recorded("wake", waits)
    _pause(stop, wake, 0.2)  # type: ignore[arg-type]
    wake.set()  # another process stopped delivering the batch
    _pause(stop, wake, 0.2)  # type: ignore[arg-type]
    # Once set, the wake is not waited on again: that would return at once, again and again.
    assert waits == ["wake", "stop"]


def test_without_a_pool_the_wait_is_the_stop_event() -> None:
    waits: list[str] = []
    _pause(Recorded("stop", waits), None, 0.2)  # type: ignore[arg-type]
    assert waits == ["stop"]


def test_a_set_wake_ends_a_wait_in_another_process_at_once() -> None:
    wake = multiprocessing.get_context("spawn").Event()
    stop = threading.Event()
    setter = threading.Timer(0.05, wake.set)
    setter.start()
    _pause(stop, wake, 3600.0)  # returns when set, not in an hour
    setter.join()
    assert wake.is_set() and not stop.is_set()
