"""`fairwell demo`: the whole flow passes its own verification, and that verification can fail."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console

from fairwell.delivery.sink import SinkMessage
from fairwell.demo import Verification, _check_message, run_demo


def test_the_demo_runs_end_to_end_and_verifies(tmp_path: Path) -> None:
    output = io.StringIO()
    assert run_demo(tmp_path / "demo", Console(file=output, width=120)) is True
    text = output.getvalue()
    assert "messages received                      │ 178" in text
    assert "PASS" in text
    assert len(list((tmp_path / "demo" / "mail").glob("*.eml"))) == 178


def message_to(recipient: str, body: str) -> SinkMessage:
    data = (
        f"From: careers@example.com\r\nTo: {recipient}\r\nSubject: hi\r\n\r\n{body}\r\n"
    ).encode()
    return SinkMessage(1, "careers@example.com", [recipient], data, datetime.now(UTC))


PEOPLE = {
    "ann@example.com": ("ann@example.com", "ann lee"),
    "mary@example.com": ("mary@example.com", "mary ann lee"),
}


def test_the_verification_counts_a_letter_that_names_another_candidate() -> None:
    result = Verification()
    _check_message(message_to("ann@example.com", "Dear Ann, Mary Ann Lee got it."), PEOPLE, result)
    assert result.mentions_other == 1 and not result.ok


def test_the_verification_does_not_count_the_addressees_own_longer_name() -> None:
    result = Verification()
    _check_message(message_to("mary@example.com", "Dear Mary Ann Lee,"), PEOPLE, result)
    assert result.mentions_other == 0 and result.ok
