"""The settings pages over HTTP: admins only, CSRF, live checks, saves, the SMTP test.

The connection test talks to real SMTP servers on 127.0.0.1: the embedded sink, a scripted
aiosmtpd server that refuses our sender, one that wants STARTTLS and a password, and a port
nobody listens on.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterator
from importlib.resources import files
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from fairwell.config import Settings, load_settings
from fairwell.delivery.sink import MailSink, read_sink
from fairwell.domain.reasons import reason_for
from fairwell.domain.users import Role
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.users import add_user
from fairwell.storage.tables import audit_log
from fairwell.web.app import create_app
from tests.conftest import FixedClock
from tests.smtp_server import ScriptedSmtpServer, Step, unused_port
from tests.test_web import KEY, PASSWORD, csrf_of, sign_in

NEW_REASON = "the opening now needs on-call experience with our payment systems"
ClientFor = Callable[[Settings], TestClient]


@pytest.fixture
def client_for(tmp_path: Path, clock: FixedClock) -> Iterator[ClientFor]:
    """Serve the app for some settings, with an admin (ada) and a recruiter (rita)."""
    runtimes: list[Runtime] = []

    def make(settings: Settings) -> TestClient:
        init_database(settings)
        runtime = open_runtime(settings)
        runtimes.append(runtime)
        users = runtime.users
        add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=clock.now())
        add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=clock.now())
        return TestClient(create_app(runtime.settings, runtime), follow_redirects=False)

    yield make
    for runtime in runtimes:
        runtime.close()


def settings_on(tmp_path: Path, port: int, **extra: object) -> Settings:
    tmp_path.mkdir(exist_ok=True)
    return load_settings(
        database_url=f"sqlite:///{tmp_path / 'web.db'}",
        smtp_host="127.0.0.1",
        smtp_port=port,
        from_address="careers@acme.example.com",
        org_name="Acme",
        secret_key=KEY,
        **extra,
    )


@pytest.fixture
def client(client_for: ClientFor, tmp_path: Path, sink: MailSink) -> TestClient:
    return client_for(settings_on(tmp_path, sink.port))


@pytest.fixture
def admin(client: TestClient) -> str:
    """Sign the admin in; return the session's CSRF token."""
    assert sign_in(client, "ada") == 303
    return csrf_of(client.get("/settings").text)


TEMPLATE = "/settings/templates/en-rejection"
PAGES = [
    "/settings",
    "/settings/reasons",
    "/settings/reasons/role-closed",
    "/settings/templates",
    TEMPLATE,
    "/settings/templates/layout",
]


def rejection_source(client: TestClient) -> str:
    found = re.search(
        r'<textarea id="source"[^>]*>(.*?)</textarea>', client.get(TEMPLATE).text, re.S
    )
    assert found, "the template page shows the source"
    return html.unescape(found.group(1))


# -- who may -----------------------------------------------------------------------------------


def test_signed_out_people_are_sent_to_sign_in(client: TestClient) -> None:
    for path in PAGES:
        assert client.get(path).headers["location"].startswith("/signin")


def test_a_recruiter_may_not_open_or_change_the_settings(client: TestClient) -> None:
    sign_in(client, "rita")
    token = csrf_of(client.get("/jobs").text)
    for path in PAGES:
        assert client.get(path).status_code == 403, path
    posts = [
        ("/settings/smtp/test", {}),
        ("/settings/reasons/role-closed", {"action": "save", "wording_en": NEW_REASON}),
        ("/settings/reasons/role-closed/check", {"wording_en": NEW_REASON}),
        ("/settings/reasons/role-closed/reset", {"locale": "en"}),
        (f"{TEMPLATE}/check", {"source": "x"}),
        (f"{TEMPLATE}/reset", {}),
    ]
    for path, form in posts:
        assert client.post(path, data={**form, "csrf": token}).status_code == 403, path


def test_an_admin_opens_every_settings_page(client: TestClient, admin: str) -> None:
    for path in PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        assert page.headers["referrer-policy"] == "no-referrer"
    assert client.get("/settings/templates/xx-nothing").status_code == 404
    assert client.get("/settings/reasons/no-such-code").status_code == 404


def test_every_settings_post_needs_the_csrf_token(client: TestClient, admin: str) -> None:
    posts = [
        "/settings/smtp/test",
        "/settings/reasons/role-closed",
        "/settings/reasons/role-closed/check",
        "/settings/reasons/role-closed/reset",
        TEMPLATE,
        f"{TEMPLATE}/check",
        f"{TEMPLATE}/reset",
    ]
    for path in posts:
        assert client.post(path, data={"action": "save", "source": "x"}).status_code == 403
        assert client.post(path, data={"csrf": "forged", "source": "x"}).status_code == 403


# -- the live check ----------------------------------------------------------------------------


def test_the_check_flags_wording_that_touches_a_protected_characteristic(
    client: TestClient, admin: str
) -> None:
    flagged = "we were looking for someone younger and more energetic"
    result = client.post(
        "/settings/reasons/role-closed/check", data={"csrf": admin, "wording_en": flagged}
    ).json()
    assert result["ok"] is False
    assert {p["check"] for p in result["problems"]} == {"wording"}
    assert "energetic" in json.dumps(result)
    fine = client.post(
        "/settings/reasons/role-closed/check", data={"csrf": admin, "wording_en": NEW_REASON}
    ).json()
    assert fine == {"ok": True, "problems": []}


def test_the_check_names_an_unknown_placeholder_and_the_known_ones(
    client: TestClient, admin: str
) -> None:
    source = rejection_source(client).replace("{{ job_title }}", "{{ job_titel }}")
    result = client.post(f"{TEMPLATE}/check", data={"csrf": admin, "source": source}).json()
    assert result["ok"] is False
    assert result["unknown"] == ["job_titel"]
    assert "job_title" in result["available"]
    assert result["problems"][0]["suggestion"] == "did you mean {{ job_title }}?"


def test_the_check_reports_a_template_that_does_not_compile(client: TestClient, admin: str) -> None:
    source = "{% block subject %}Hello{% endblock %}{% block body %}{% if %}{% endblock %}"
    result = client.post(f"{TEMPLATE}/check", data={"csrf": admin, "source": source}).json()
    assert [p["check"] for p in result["problems"]] == ["syntax"]
    assert result["problems"][0]["where"] == "line 1"


def test_a_valid_template_checks_clean_with_a_preview(client: TestClient, admin: str) -> None:
    source = rejection_source(client)
    result = client.post(f"{TEMPLATE}/check", data={"csrf": admin, "source": source}).json()
    assert result["ok"] is True
    assert result["preview"]["subject"] == "Your application for Sample Role at Example Corp"
    assert result["preview"]["text"].startswith("Dear Alex,")


def test_the_check_button_works_without_javascript(client: TestClient, admin: str) -> None:
    source = rejection_source(client).replace("{{ first_name }}", "{{ frist_name }}")
    page = client.post(TEMPLATE, data={"csrf": admin, "action": "check", "source": source})
    assert page.status_code == 200
    assert "{{ frist_name }} is not a placeholder letters have" in page.text
    assert "frist_name" in page.text.split('id="source"')[1], "the typed text stays in the box"


# -- saving ------------------------------------------------------------------------------------


def test_a_wording_is_saved_shown_as_edited_audited_and_reset(
    client: TestClient, admin: str
) -> None:
    form = {"csrf": admin, "action": "save", "wording_en": NEW_REASON}
    form["wording_de"] = reason_for("role-closed").for_locale("de")
    saved = client.post("/settings/reasons/role-closed", data=form)
    assert saved.headers["location"] == "/settings/reasons/role-closed?saved=1"
    assert (
        "Letters composed from now on use this wording"
        in client.get(saved.headers["location"]).text
    )
    listing = client.get("/settings/reasons").text
    assert NEW_REASON in listing and listing.count('class="badge">edited') == 1

    reset = client.post("/settings/reasons/role-closed/reset", data={"csrf": admin, "locale": "en"})
    assert reset.status_code == 303
    assert NEW_REASON not in client.get("/settings/reasons").text


def test_a_save_with_findings_is_refused_whatever_the_browser_did(
    client: TestClient, admin: str
) -> None:
    flagged = {"csrf": admin, "action": "save", "wording_en": "we wanted a younger person"}
    refused = client.post("/settings/reasons/role-closed", data=flagged)
    assert refused.status_code == 400 and "younger" in refused.text
    broken = rejection_source(client).replace("{% endblock %}", "{% endblok %}", 1)
    refused = client.post(TEMPLATE, data={"csrf": admin, "action": "save", "source": broken})
    assert refused.status_code == 400
    assert "built-in, not edited" in client.get(TEMPLATE).text


def test_a_template_is_saved_audited_without_its_text_and_reset(
    client: TestClient, admin: str, tmp_path: Path
) -> None:
    edited = rejection_source(client).replace("Kind regards,", "With our thanks,\n\nKind regards,")
    saved = client.post(TEMPLATE, data={"csrf": admin, "action": "save", "source": edited})
    assert saved.headers["location"] == f"{TEMPLATE}?saved=1"
    page = client.get(saved.headers["location"]).text
    assert "edited by web:ada" in page and "With our thanks" in page
    assert client.post(f"{TEMPLATE}/reset", data={"csrf": admin}).status_code == 303
    assert "With our thanks" not in client.get(TEMPLATE).text

    runtime: Runtime = client.app.state.runtime  # type: ignore[attr-defined]
    with runtime.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.actor, audit_log.c.action, audit_log.c.detail)).all()
    template_rows = [(r.actor, r.action) for r in rows if r.action.startswith("template.")]
    assert template_rows == [("web:ada", "template.saved"), ("web:ada", "template.reset")]
    assert not any("thanks" in r.detail for r in rows)


def test_a_template_from_the_installations_folder_is_labelled_so_and_reset_goes_back_to_it(
    client_for: ClientFor, tmp_path: Path, sink: MailSink
) -> None:
    folder = tmp_path / "templates"
    shipped = files("fairwell").joinpath("templates/letters/en/rejection.txt.j2").read_text()
    ours = shipped.replace("Kind regards,", "Warm regards from our folder,")
    (folder / "letters" / "en").mkdir(parents=True)
    (folder / "letters" / "en" / "rejection.txt.j2").write_text(ours, encoding="utf-8")
    client = client_for(settings_on(tmp_path / "site", sink.port, template_dir=folder))
    sign_in(client, "ada")
    token = csrf_of(client.get("/settings").text)
    listing = client.get("/settings/templates").text
    assert listing.count("template folder") == 1, "only the one file the folder has"
    page = client.get(TEMPLATE).text
    assert "template folder, not edited" in page and "built-in" not in page
    edited = rejection_source(client).replace("Warm regards", "Edited regards")
    saved = client.post(TEMPLATE, data={"csrf": token, "action": "save", "source": edited})
    assert (
        "Reset to the template in FAIRWELL_TEMPLATE_DIR"
        in client.get(saved.headers["location"]).text
    )
    reset = client.post(f"{TEMPLATE}/reset", data={"csrf": token})
    back = client.get(reset.headers["location"]).text
    assert "Back to the template in FAIRWELL_TEMPLATE_DIR." in back
    assert "Warm regards from our folder," in rejection_source(client)


# -- SMTP and sender ---------------------------------------------------------------------------


def outcome_of(client: TestClient, token: str) -> str:
    page = client.post("/settings/smtp/test", data={"csrf": token})
    assert page.status_code == 200
    found = re.search(r'<div role="status" id="outcome">(.*?)</div>', page.text, re.S)
    assert found, "the page shows the outcome"
    return " ".join(found.group(1).split())


def test_the_smtp_page_shows_the_settings_and_where_they_come_from(
    client_for: ClientFor, tmp_path: Path, sink: MailSink
) -> None:
    client = client_for(settings_on(tmp_path, sink.port, smtp_password="hunter2-never-shown"))
    sign_in(client, "ada")
    page = client.get("/settings").text
    assert "hunter2-never-shown" not in page
    assert "set (not shown)" in page
    assert f"<td>SMTP port</td><td>{sink.port}</td>" in page
    assert "built-in default" in page and "cannot be changed on this page" in page


def test_the_connection_test_against_an_accepting_server_sends_nothing(
    client: TestClient, admin: str, sink: MailSink
) -> None:
    outcome = outcome_of(client, admin)
    assert outcome.startswith("<p><strong>It works.</strong>")
    assert "Nothing was sent" in outcome
    assert read_sink(sink.directory) == []


def test_the_connection_test_shows_a_refusal_with_the_servers_code(
    client_for: ClientFor, tmp_path: Path
) -> None:
    with ScriptedSmtpServer(Step.refuse("MAIL", "550 5.7.1 sender not allowed here")) as server:
        client = client_for(settings_on(tmp_path, server.port))
        sign_in(client, "ada")
        outcome = outcome_of(client, csrf_of(client.get("/settings").text))
        assert server.received == []
    assert "Refused." in outcome and "with code 550" in outcome
    assert "sender not allowed here" in outcome


def test_the_connection_test_signs_in_over_verified_tls_as_the_worker_does(
    client_for: ClientFor, tmp_path: Path
) -> None:
    with ScriptedSmtpServer(tls="starttls", auth=("relay-user", "relay-pass")) as server:
        tls = {"smtp_security": "starttls", "smtp_ca_file": server.ca_file}
        good = client_for(
            settings_on(
                tmp_path, server.port, smtp_username="relay-user", smtp_password="relay-pass", **tls
            )
        )
        sign_in(good, "ada")
        assert "It works." in outcome_of(good, csrf_of(good.get("/settings").text))

        wrong = client_for(
            settings_on(
                tmp_path / "w", server.port, smtp_username="relay-user", smtp_password="nope", **tls
            )
        )
        sign_in(wrong, "ada")
        outcome = outcome_of(wrong, csrf_of(wrong.get("/settings").text))
        assert server.received == []
    assert "Refused." in outcome and "with code 535" in outcome


def test_the_connection_test_says_when_it_cannot_connect(
    client_for: ClientFor, tmp_path: Path
) -> None:
    port = unused_port()
    client = client_for(settings_on(tmp_path, port))
    sign_in(client, "ada")
    outcome = outcome_of(client, csrf_of(client.get("/settings").text))
    assert f"Can't connect.</strong> Cannot connect to 127.0.0.1:{port}." in outcome
