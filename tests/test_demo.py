"""`fairwell demo`: the whole flow passes its own verification, and that verification can fail."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from fairwell.delivery.sink import SinkMessage
from fairwell.demo import Verification, _check_message, run_demo
from tests.smtp_server import unused_port


def test_the_demo_runs_end_to_end_and_verifies(tmp_path: Path) -> None:
    output = io.StringIO()
    assert run_demo(tmp_path / "demo", Console(file=output, width=120)) is True
    text = output.getvalue()
    # 178 decision letters, and 7 status letters to Ontario's interviewed candidates first.
    assert "messages received                      │ 185" in text
    assert "PASS: every letter went to one person" in text
    assert "PASS: every application has an end date" in text
    assert re.search(r"applications without an end date\s+│ 0 ", text)
    assert re.search(
        r"referral letters whose date is the day the retention run deletes on\s+│ 20 of 20", text
    )
    assert re.search(r"status promises \('a decision by'\): kept\s+│ 7 ", text)
    for region in ("CA-ON", "CA-BC", "US-CA", "DE-BY"):
        assert f"candidates in {region}" in text
    mail = list((tmp_path / "demo" / "mail").glob("*.eml"))
    assert len(mail) == 185
    one = mail[0].read_bytes()
    assert b"\r\nReply-To: Northwind hiring team <talent@northwind.example.com>\r\n" in one
    assert b"Hana Berg, Head of Product" in one.replace(b"=\r\n", b"")


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


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def test_the_demo_can_end_by_serving_the_web_app_with_printed_sign_ins(tmp_path: Path) -> None:

    port = unused_port()
    fairwell = Path(sys.executable).with_name("fairwell")
    server = subprocess.Popen(
        [str(fairwell), "demo", "--dir", str(tmp_path / "demo"), "--serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # The code under test: a worktree's PYTHONPATH, when one is set, else the install.
        env={"PATH": "/usr/bin:/bin", "COLUMNS": "200", **_pythonpath()},
    )
    try:
        assert server.stdout is not None
        output = ""
        deadline = time.monotonic() + 60
        while "serving the demo" not in output and time.monotonic() < deadline:
            output += server.stdout.readline()
        password = re.search(r"rita\s+│\s+recruiter\s+│\s+(\S+)", output).group(1)  # type: ignore[union-attr]
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, follow_redirects=False) as client:
            for _ in range(100):
                try:
                    form = client.get("/signin")
                    break
                except httpx.ConnectError:
                    time.sleep(0.1)
            token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
            signed = client.post(
                "/signin", data={"username": "rita", "password": password, "csrf": token}
            )
            assert signed.status_code == 303
            jobs = client.get("/jobs").text
            assert "Business Product Manager" in jobs and "Data Analyst" in jobs
            assert "Data Analyst" in client.get("/feedback").text, "drafts wait for approval"
            assert "Overdue" not in client.get("/requests").text
            assert client.get("/requests/1").status_code == 200, "one request to answer"
            assert "messages" in client.get("/mail").text, "the mail viewer is on"
            link = re.search(r"a candidate's page, as their letter links it: (\S+)", output)
            assert link, "the demo prints a portal link"
            page = client.get(link.group(1).removeprefix(base))
            assert page.status_code == 200 and "Hello" in page.text, "and the link works"
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)
