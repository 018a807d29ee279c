"""Data requests for admins over HTTP: requests with due dates and what blocks them, legal
holds recorded and released, erasure refused under a hold; recruiters are kept out."""

from __future__ import annotations

from fastapi.testclient import TestClient

from fairwell.domain.users import Role
from fairwell.runtime import Runtime
from fairwell.services import erasure
from fairwell.services.users import add_user
from tests.test_portal import ANN, client, runtime  # noqa: F401
from tests.test_web import PASSWORD, csrf_of, sign_in


def test_an_admin_sees_requests_records_a_hold_and_cannot_erase_under_it(
    client: TestClient,  # noqa: F811
    runtime: Runtime,  # noqa: F811
) -> None:
    users = runtime.users
    now = runtime.clock.now()
    add_user(users, "ada", PASSWORD, Role.ADMIN, actor="t", now=now)
    add_user(users, "rita", PASSWORD, Role.RECRUITER, actor="t", now=now)
    privacy = runtime.privacy
    person_id = erasure.person_by_email(privacy, ANN)
    erasure.record_request(privacy, erasure.ERASURE, person_id, "admin", now)

    sign_in(client, "rita")
    assert client.get("/data-requests").status_code == 403
    sign_in(client, "ada")
    page = client.get("/data-requests").text
    assert ">Data requests</a>" in page and "2026-12-26" in page, "due one month later"
    token = csrf_of(page)
    form = {"csrf": token, "email": ANN, "reason": "pending claim 42"}
    assert client.post("/data-requests/holds", data=form).status_code == 303
    page = client.get("/data-requests").text
    assert "legal hold #1: pending claim 42" in page, "the blocked request says why"
    refused = client.post("/data-requests/erase", data={"csrf": token, "email": ANN})
    assert refused.status_code == 409 and "not erased: legal hold #1" in refused.text
    assert client.post("/data-requests/holds/1/release", data={"csrf": token}).status_code == 303
    erased = client.post("/data-requests/erase", data={"csrf": token, "email": ANN})
    assert erased.status_code == 200 and "Erased." in erased.text
    assert "erased" in client.get("/data-requests").text
