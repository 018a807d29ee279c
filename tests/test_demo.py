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
from typing import Any

import httpx
from rich.console import Console

from fairwell.delivery.sink import SinkMessage
from fairwell.demo.flow import Verification, _check_message, run_demo
from tests.browser import page, serious_violations
from tests.smtp_server import unused_port

__all__ = ["page"]  # the Chromium fixture


def test_the_demo_runs_end_to_end_and_verifies(tmp_path: Path) -> None:
    output = io.StringIO()
    assert run_demo(tmp_path / "demo", Console(file=output, width=120)) is True
    raw = output.getvalue()
    text = " ".join(raw.split())  # Rich pads table cells
    # 178 decision letters, and 7 status letters to Ontario's interviewed candidates first.
    assert "messages received │ 185" in text
    assert "PASS: every letter went to one person" in text
    assert "PASS: every application has an end date" in text
    assert "applications without an end date │ 0 " in text
    assert "referral letters whose date is the day the retention run deletes on │ 20 of 20" in text
    assert "status promises ('a decision by'): kept │ 7 " in text
    for region in ("CA-ON", "CA-BC", "US-CA", "DE-BY"):
        assert f"candidates in {region}" in text
    mail = list((tmp_path / "demo" / "mail").glob("*.eml"))
    assert len(mail) == 185
    one = mail[0].read_bytes()
    assert b"\r\nReply-To: Northwind hiring team <talent@northwind.example.com>\r\n" in one
    assert b"Hana Berg, Head of Product" in one.replace(b"=\r\n", b"")
    # A reply, an out-of-office and a bounce were written into the demo Maildir and fetched.
    assert "inbox: reply -> feedback request (their own words) │ 1 " in text
    assert "inbox: auto-replies ignored │ 1 " in text
    assert "inbox: bounces recorded (letter bounced, address suppressed) │ 1 " in text
    assert "inbox: letters written back automatically │ 0 " in text
    assert len(list((tmp_path / "demo" / "Maildir" / "cur").iterdir())) == 3
    # The four duplicate rows disagree with the rows they repeat, and each merge says how.
    assert "4 duplicate rows merged by rule" in text
    assert text.count("merged ") >= 4
    assert "a referral beside an own application means applied" in text
    assert "a rejected row beside a live one is a closed duplicate profile" in text
    assert "stage phone from row 184 (the furthest stage; row 46: screen)" in text
    assert "duplicate rows merged (applications) │ 4 (4)" in text
    # Every referred or sourced person has an applied_at, and still gets the referral letter.
    assert "referred or sourced people (applied_at filled) │ 20 (20)" in text
    assert "letters: referral_closed │ 20" in text
    assert "letters thanking someone who never applied │ 0" in text
    assert "people written to more than once │ 0" in text
    # Feedback from the job's own wording, for every interviewed candidate.
    every = re.search(r"letter carries feedback \(goal: all\) │ (\d+) of (\d+)", text)
    assert every and every.group(1) == every.group(2) and int(every.group(1)) > 60
    assert "letters held for missing wording │ 0 " in text
    assert re.search(r"notes dropped as duplicates │ [1-9]", text), "the demo has some"
    assert re.search(
        r"notes held for language \(then dropped by the hiring manager\) │ [1-9]", text
    )


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


def test_the_verification_counts_a_referred_person_thanked_for_applying() -> None:
    result = Verification()
    referred = frozenset({"ann@example.com"})
    _check_message(
        message_to("ann@example.com", "Dear Ann, thank you for applying."), PEOPLE, result, referred
    )
    _check_message(
        message_to("mary@example.com", "Dear Mary, thank you for applying."),
        PEOPLE,
        result,
        referred,
    )
    assert result.thanked_not_applied == 1 and not result.ok


def test_the_verification_does_not_count_the_addressees_own_longer_name() -> None:
    result = Verification()
    _check_message(message_to("mary@example.com", "Dear Mary Ann Lee,"), PEOPLE, result)
    assert result.mentions_other == 0 and result.ok


def _pythonpath() -> dict[str, str]:
    return {"PYTHONPATH": os.environ["PYTHONPATH"]} if "PYTHONPATH" in os.environ else {}


def test_the_demo_can_end_by_serving_the_web_app_with_printed_sign_ins(
    tmp_path: Path, page: Any
) -> None:

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
            shown = client.get(link.group(1).removeprefix(base))
            assert shown.status_code == 200 and "Hello" in shown.text, "and the link works"
        # As the candidate opens it: the link from the letter, in Chromium, on a phone.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(link.group(1))
        assert page.locator("h1").first.is_visible() and "Hello" in page.content()
        assert serious_violations(page) == []
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(timeout=30)


def test_the_verification_counts_an_interviewed_candidate_whose_letter_has_no_feedback() -> None:
    result = Verification()
    interviewed = frozenset({"ann@example.com", "mary@example.com"})
    plain = message_to("ann@example.com", "Dear Ann, we decided not to move forward.")
    carries = message_to("mary@example.com", "Dear Mary Ann Lee,\nWhat we saw in your interviews:")
    _check_message(plain, PEOPLE, result, interviewed=interviewed)
    _check_message(carries, PEOPLE, result, interviewed=interviewed)
    assert (result.interviewed_with_feedback, result.interviewed) == (1, 2)
