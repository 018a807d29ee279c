"""Webhooks from Greenhouse and Lever: verified as each vendor documents, recorded once,
never sending anything by themselves.

The events are shaped like the vendors' published examples (Greenhouse's ``reject_candidate``,
``candidate_stage_change``, ``hire_candidate``; Lever's ``candidateStageChange``,
``candidateArchiveChange``), and they arrive for applications pulled from fake ATSs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from fairwell.delivery.sink import MailSink
from fairwell.domain.model import Stage
from fairwell.runtime import Runtime, init_database, open_runtime
from fairwell.services.ats_pull import pull_job
from fairwell.services.export_profiles import load_profile
from fairwell.services.planning import make_plan
from fairwell.storage.tables import ats_events, decisions, outbox
from fairwell.web.app import create_app
from tests.conftest import FixedClock, settings_for
from tests.fake_ats import FakeGreenhouse, FakeLever, serving

SECRET = "greenhouse-webhook-secret-0123456789"
LEVER_TOKENS = {
    "candidateStageChange": "lever-stage-token-0123",
    "candidateArchiveChange": "lever-archive-token-0123",
    "candidateHired": "lever-hired-token-0123",
}


@pytest.fixture
def ats() -> Iterator[tuple[FakeGreenhouse, FakeLever]]:
    greenhouse = FakeGreenhouse()
    greenhouse.add_job(4001, "Data Analyst")
    greenhouse.add_application(1001, 4001, "Ada", "Quill")
    greenhouse.add_application(1002, 4001, "Ben", "Rook", stage="Phone Interview")
    lever = FakeLever()
    lever.add_posting("post-1", "Backend Engineer")
    lever.add_opportunity("o1", "post-1", "Gus Wren", stage="stage-screen")
    with serving(greenhouse), serving(lever):
        yield greenhouse, lever


@pytest.fixture
def runtime(
    database_url: str, ats: tuple[FakeGreenhouse, FakeLever], sink: MailSink, clock: FixedClock
) -> Iterator[Runtime]:
    greenhouse, lever = ats
    settings = settings_for(
        database_url,
        sink.port,
        secret_key="k" * 40,
        greenhouse_url=f"{greenhouse.origin}/v3",
        greenhouse_auth_url=f"{greenhouse.origin}/token",
        greenhouse_client_id=greenhouse.client_id,
        greenhouse_client_secret=greenhouse.client_secret,
        greenhouse_user_id=greenhouse.user_id,
        greenhouse_webhook_secret=SECRET,
        lever_url=f"{lever.origin}/v1",
        lever_api_key=lever.api_key,
        lever_webhook_tokens=json.dumps(LEVER_TOKENS),
    )
    init_database(settings)
    runtime = open_runtime(settings)
    runtime.clock = clock
    for vendor, job in (("greenhouse", "4001"), ("lever", "post-1")):
        connector = runtime.ats_connector(vendor)
        pull_job(
            connector,
            runtime.ats_store,
            load_profile(vendor),
            job,
            as_job=None,
            restart=False,
            actor="t",
            clock=clock,
        )
        connector.close()
    yield runtime
    runtime.close()


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime.settings, runtime))


def greenhouse_event(action: str, app_id: int, job_id: int = 4001, **application: Any) -> bytes:
    """A body shaped like Greenhouse's published webhook examples, personal data included."""
    body = {
        "action": action,
        "payload": {
            "application": {
                "id": app_id,
                "status": "active",
                "prospect": False,
                "current_stage": {"id": 71416, "name": "Face to Face", "interviews": []},
                "jobs": [{"id": job_id, "name": "Data Analyst"}],
                "candidate": {
                    "id": app_id + 500_000,
                    "first_name": "Ada",
                    "last_name": "Quill",
                    "email_addresses": [{"value": "ada.quill@example.org", "type": "personal"}],
                },
                **application,
            }
        },
    }
    return json.dumps(body).encode()


def post_greenhouse(
    client: TestClient, body: bytes, event_id: str | None = None, secret: str = SECRET
) -> Any:
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    headers = {
        "Signature": f"sha256 {signature}",
        "Content-Type": "application/json",
        "Greenhouse-Event-ID": event_id or str(uuid.uuid4()),
    }
    return client.post("/hooks/greenhouse", content=body, headers=headers)


REJECTED = {
    "status": "rejected",
    "rejection_reason": {
        "id": 31,
        "name": "Position filled",
        "type": {"id": 1, "name": "We rejected them"},
    },
}


def application_of(runtime: Runtime, email: str, job: str = "Data Analyst") -> Any:
    views = runtime.store.applicants(runtime.store.job_by_title(job).id)
    return next(v for v in views if v.person.email == email)


def count(runtime: Runtime, table: Any) -> int:
    with runtime.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_a_signed_greenhouse_rejection_records_the_decision_and_sends_nothing(
    client: TestClient, runtime: Runtime, sink: MailSink
) -> None:
    response = post_greenhouse(client, greenhouse_event("reject_candidate", 1001, **REJECTED))
    assert response.status_code == 200
    assert response.json()["outcome"] == "decision-recorded"
    ada = application_of(runtime, "ada.quill@example.org")
    assert ada.application.stage is Stage.REJECTED
    assert ada.decision is not None and ada.decision.reason_code == "position-filled"
    assert count(runtime, outbox) == 0 and list(sink.directory.glob("*.eml")) == []
    plan = make_plan(runtime.store, runtime.composer, "Data Analyst", runtime.clock.now())
    assert plan.ready == 1, "the letter waits for the plan and its confirmation"


def test_a_candidate_who_withdrew_is_marked_withdrawn_and_gets_no_decision(
    client: TestClient, runtime: Runtime
) -> None:
    withdrew = {
        "status": "rejected",
        "rejection_reason": {
            "id": 35,
            "name": "Took another job",
            "type": {"id": 2, "name": "They rejected us"},
        },
    }
    post_greenhouse(client, greenhouse_event("reject_candidate", 1001, **withdrew))
    ada = application_of(runtime, "ada.quill@example.org")
    assert ada.application.stage is Stage.WITHDRAWN and ada.decision is None


def test_a_reason_that_maps_to_no_single_code_moves_the_stage_but_decides_nothing(
    client: TestClient, runtime: Runtime
) -> None:
    """Two codes map to "Lacking skill(s)…": which one to tell the candidate is a person's call."""
    vague = {
        "status": "rejected",
        "rejection_reason": {
            "id": 33,
            "name": "Lacking skill(s)/qualification(s)",
            "type": {"id": 1, "name": "We rejected them"},
        },
    }
    answer = post_greenhouse(client, greenhouse_event("reject_candidate", 1001, **vague)).json()
    assert answer["outcome"] == "stage-changed"
    ada = application_of(runtime, "ada.quill@example.org")
    assert ada.application.stage is Stage.REJECTED and ada.decision is None


def test_stage_changes_and_hires_move_the_stage(client: TestClient, runtime: Runtime) -> None:
    post_greenhouse(client, greenhouse_event("candidate_stage_change", 1002))
    assert application_of(runtime, "ben.rook@example.org").application.stage is Stage.ONSITE
    post_greenhouse(client, greenhouse_event("hire_candidate", 1002, status="hired"))
    assert application_of(runtime, "ben.rook@example.org").application.stage is Stage.HIRED


def test_a_stage_the_profile_does_not_know_is_recorded_and_not_applied(
    client: TestClient, runtime: Runtime
) -> None:
    body = greenhouse_event(
        "candidate_stage_change", 1002, current_stage={"id": 1, "name": "Culture Coffee"}
    )
    assert post_greenhouse(client, body).json()["outcome"] == "unknown-stage"
    assert application_of(runtime, "ben.rook@example.org").application.stage is Stage.PHONE


def test_a_replayed_webhook_is_recorded_once_and_changes_nothing_more(
    client: TestClient, runtime: Runtime
) -> None:
    body = greenhouse_event("reject_candidate", 1001, **REJECTED)
    first = post_greenhouse(client, body, event_id="evt-1")
    replay = post_greenhouse(client, body, event_id="evt-1")
    assert first.json()["duplicate"] is False
    assert replay.status_code == 200 and replay.json() == {
        "outcome": "duplicate",
        "detail": "this delivery was recorded before",
        "duplicate": True,
    }
    assert count(runtime, decisions) == 1 and count(runtime, ats_events) == 1


def test_a_webhook_for_a_job_fairwell_does_not_know_is_recorded_not_acted_on(
    client: TestClient, runtime: Runtime
) -> None:
    body = greenhouse_event("reject_candidate", 9999, job_id=7777, **REJECTED)
    answer = post_greenhouse(client, body).json()
    assert answer["outcome"] == "unknown-job"
    assert answer["detail"] == "greenhouse job 7777 was never pulled"
    with runtime.engine.connect() as conn:
        row = conn.execute(select(ats_events)).one()
    assert (row.ats_job_id, row.ats_application_id, row.application_id) == ("7777", "9999", None)
    assert count(runtime, decisions) == 0


def test_an_unknown_application_of_a_known_job_is_recorded_not_acted_on(
    client: TestClient, runtime: Runtime
) -> None:
    body = greenhouse_event("reject_candidate", 1009, **REJECTED)
    assert post_greenhouse(client, body).json()["outcome"] == "unknown-application"
    assert count(runtime, decisions) == 0


def test_fairwells_own_write_back_coming_back_is_not_a_second_decision(
    client: TestClient, runtime: Runtime
) -> None:
    post_greenhouse(client, greenhouse_event("reject_candidate", 1001, **REJECTED))
    echo = post_greenhouse(client, greenhouse_event("reject_candidate", 1001, **REJECTED))
    assert echo.json()["outcome"] == "already-decided"
    assert count(runtime, decisions) == 1


@pytest.mark.parametrize(
    ("headers", "why"),
    [
        ({}, "no Signature header"),
        ({"Signature": "sha256 " + "0" * 64}, "the signature does not match the body"),
        ({"Signature": "md5 abc"}, "the Signature header is not 'sha256 <hex>'"),
    ],
)
def test_a_bad_or_missing_signature_is_refused_and_logged_without_the_body(
    client: TestClient,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
    why: str,
) -> None:
    caplog.set_level(logging.INFO)
    body = greenhouse_event("reject_candidate", 1001, **REJECTED)
    response = client.post("/hooks/greenhouse", content=body, headers=headers)
    assert response.status_code == 401 and response.json() == {"error": why}
    assert f"greenhouse webhook refused: {why}" in caplog.text
    assert "ada" not in caplog.text.lower() and "Quill" not in caplog.text
    assert count(runtime, ats_events) == 0


def test_a_body_signed_with_another_secret_is_refused(client: TestClient, runtime: Runtime) -> None:
    body = greenhouse_event("reject_candidate", 1001, **REJECTED)
    assert post_greenhouse(client, body, secret="someone-elses-secret").status_code == 401
    assert application_of(runtime, "ada.quill@example.org").decision is None


def test_a_greenhouse_ping_is_answered(client: TestClient) -> None:
    body = json.dumps({"action": "ping", "payload": {"web_hook_id": 1}}).encode()
    answer = post_greenhouse(client, body)
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "ignored"


def test_a_vendor_without_webhooks_is_not_found(client: TestClient) -> None:
    assert client.post("/hooks/bamboohr", content=b"{}").status_code == 404


# --- Lever ------------------------------------------------------------------------------------


def lever_body(
    event: str, data: dict[str, Any], token: str | None = None, key: str | None = None
) -> bytes:
    token = token or uuid.uuid4().hex
    triggered = 1_796_300_000_000
    signing = key or LEVER_TOKENS[event]
    signature = hmac.new(signing.encode(), f"{token}{triggered}".encode(), hashlib.sha256)
    return json.dumps(
        {
            "event": event,
            "data": data,
            "token": token,
            "triggeredAt": triggered,
            "signature": signature.hexdigest(),
        }
    ).encode()


def post_lever(client: TestClient, body: bytes) -> Any:
    return client.post("/hooks/lever", content=body, headers={"Content-Type": "application/json"})


def test_a_lever_stage_change_is_named_through_the_api_and_applied(
    client: TestClient, runtime: Runtime
) -> None:
    body = lever_body(
        "candidateStageChange",
        {"opportunityId": "o1", "fromStageId": "stage-screen", "toStageId": "stage-onsite"},
    )
    assert post_lever(client, body).json()["outcome"] == "stage-changed"
    gus = application_of(runtime, "gus.o1@example.org", "Backend Engineer")
    assert gus.application.stage is Stage.ONSITE


def test_a_lever_archive_for_withdrawal_marks_the_application_withdrawn(
    client: TestClient, runtime: Runtime
) -> None:
    body = lever_body(
        "candidateArchiveChange",
        {"opportunityId": "o1", "toArchived": {"reason": "reason-withdrew", "archivedAt": 1}},
    )
    post_lever(client, body)
    gus = application_of(runtime, "gus.o1@example.org", "Backend Engineer")
    assert gus.application.stage is Stage.WITHDRAWN and gus.decision is None


def test_a_lever_event_signed_with_the_wrong_token_is_refused(
    client: TestClient, runtime: Runtime
) -> None:
    body = lever_body(
        "candidateStageChange",
        {"opportunityId": "o1", "toStageId": "offer"},
        key=LEVER_TOKENS["candidateHired"],
    )
    response = post_lever(client, body)
    assert response.status_code == 401
    assert response.json() == {"error": "the signature does not match"}
    assert count(runtime, ats_events) == 0


def test_a_replayed_lever_webhook_is_recorded_once(client: TestClient, runtime: Runtime) -> None:
    body = lever_body(
        "candidateStageChange", {"opportunityId": "o1", "toStageId": "offer"}, token="fixed-token"
    )
    assert post_lever(client, body).json()["duplicate"] is False
    assert post_lever(client, body).json()["duplicate"] is True
    assert count(runtime, ats_events) == 1


def test_a_lever_id_that_cannot_be_named_is_recorded_and_not_applied(
    client: TestClient, runtime: Runtime
) -> None:
    body = lever_body(
        "candidateArchiveChange", {"opportunityId": "o1", "toArchived": {"reason": "reason-gone"}}
    )
    assert post_lever(client, body).json()["outcome"] == "unresolved"
    gus = application_of(runtime, "gus.o1@example.org", "Backend Engineer")
    assert gus.application.stage is Stage.SCREEN
