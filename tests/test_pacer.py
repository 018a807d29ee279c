"""--rate: the pacer keeps letters at or below the configured rate, measured on a fake clock."""

from __future__ import annotations

from fairwell.services.delivery import Pacer


class FakeTime:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self.now += seconds


def test_it_spaces_letters_at_the_configured_rate() -> None:
    clock = FakeTime()
    pacer = Pacer(20, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(101):
        pacer.wait()
        clock.now += 0.001  # sending itself takes a millisecond
    elapsed = clock.now - 100.0
    assert 100 / elapsed <= 20.0
    assert 100 / elapsed > 19.0


def test_without_a_rate_it_never_sleeps() -> None:
    clock = FakeTime()
    pacer = Pacer(None, monotonic=clock.monotonic, sleep=clock.sleep)
    for _ in range(1000):
        pacer.wait()
    assert clock.slept == 0.0


def test_a_slow_sender_is_not_made_to_catch_up_with_a_burst() -> None:
    clock = FakeTime()
    pacer = Pacer(10, monotonic=clock.monotonic, sleep=clock.sleep)
    pacer.wait()
    clock.now += 5.0  # a long stall
    started = clock.now
    for _ in range(10):
        pacer.wait()
    assert clock.now - started >= 0.899, "after a stall the rate still holds"
