"""Fake Greenhouse and Lever APIs on 127.0.0.1, for the connector tests.

Real HTTP servers on real sockets (the stdlib's threading server), built from the vendors'
public references as docs/integrations/greenhouse.md and lever.md cite them:

- Greenhouse Harvest v3: an OAuth client-credentials token endpoint (HTTP Basic client id and
  secret, form ``grant_type``/``sub``, JSON ``access_token``/``expires_in``), bearer tokens that
  can be expired, cursor paging through the ``Link`` header (a cursor must come alone), list
  endpoints that take at most 50 ``ids``, and ``POST /applications/{id}/reject`` that accepts
  only active applications and emails the candidate only if asked (``rejection_email``).
- Lever: HTTP Basic with the API key, ``{"data", "hasNext", "next"}`` pages with ``offset``,
  ``/stages`` and ``/archive_reasons``, ``PUT /opportunities/{id}/archived``.

Both can be told to fail: a fault answers the next N matching requests with a status, headers
and a body (a 429 with ``Retry-After``, a 500 mid-pull, a 401). Every request is logged
(without its Authorization header) so tests can see what was asked and what was not.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

Answer = tuple[int, dict[str, str], Any]


@dataclass
class Fault:
    method: str
    path_prefix: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1
    # Only requests whose query has this text (e.g. "cursor=") count.
    query_has: str = ""


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorized: bool


class FakeApi:
    """The shared machinery: faults, the request log, JSON answers."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.port = 0
        # Headers added once to the next answer under a path: (path prefix, headers).
        self.extra_headers: list[tuple[str, dict[str, str]]] = []

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def fail(self, *faults: Fault) -> None:
        with self.lock:
            self.faults.extend(faults)

    def requests(self, method: str, path_prefix: str = "") -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path.startswith(path_prefix)]

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> Answer:
        raise NotImplementedError

    def answer(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> Answer:
        parts = urlsplit(raw_path)
        query = parse_qs(parts.query, keep_blank_values=True)
        body = _decoded(raw_body, headers.get("Content-Type", ""))
        with self.lock:
            self.seen.append(Seen(method, parts.path, query, body, "Authorization" in headers))
            for fault in self.faults:
                if (
                    fault.times > 0
                    and fault.method == method
                    and parts.path.startswith(fault.path_prefix)
                    and fault.query_has in parts.query
                ):
                    fault.times -= 1
                    return fault.status, fault.headers, fault.body
        status, answer_headers, answer = self.handle(method, parts.path, query, headers, body)
        with self.lock:
            for index, (prefix, extra) in enumerate(self.extra_headers):
                if parts.path.startswith(prefix):
                    del self.extra_headers[index]
                    answer_headers = {**answer_headers, **extra}
                    break
        return status, answer_headers, answer


def _decoded(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    if "json" in content_type:
        return json.loads(raw)
    if "x-www-form-urlencoded" in content_type:
        return {key: values[0] for key, values in parse_qs(raw.decode()).items()}
    return raw.decode()


def _basic(headers: Any) -> tuple[str, str] | None:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return None
    user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    return user, password


@contextmanager
def serving(api: FakeApi) -> Iterator[FakeApi]:
    """Run ``api`` on 127.0.0.1 and a free port until the block ends."""

    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            status, headers, body = api.answer(
                self.command, self.path, self.headers, self.rfile.read(length)
            )
            payload = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _serve  # noqa: N815

        def log_message(self, *args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()


# --- Greenhouse Harvest v3 --------------------------------------------------------------------

GREENHOUSE_REASONS = [
    {"id": 31, "name": "Position filled", "type": {"id": 1, "name": "We rejected them"}},
    {"id": 32, "name": "Position closed", "type": {"id": 1, "name": "We rejected them"}},
    {
        "id": 33,
        "name": "Lacking skill(s)/qualification(s)",
        "type": {"id": 1, "name": "We rejected them"},
    },
    {"id": 34, "name": "Other (add notes below)", "type": {"id": 3, "name": "None specified"}},
    {"id": 35, "name": "Took another job", "type": {"id": 2, "name": "They rejected us"}},
]


class FakeGreenhouse(FakeApi):
    """Harvest v3 at ``/v3``, its token endpoint at ``/token``."""

    client_id = "fw-client"
    client_secret = "fw-client-secret-0123456789"
    user_id = "4080"

    def __init__(self) -> None:
        super().__init__()
        self.jobs: dict[int, str] = {}
        self.applications: dict[int, dict[str, Any]] = {}
        self.candidates: dict[int, dict[str, Any]] = {}
        self.tokens: set[str] = set()
        self.issued = 0
        self.rejections: list[tuple[int, dict[str, Any]]] = []

    def add_job(self, job_id: int, name: str) -> None:
        self.jobs[job_id] = name

    def add_application(
        self,
        app_id: int,
        job_id: int,
        first: str,
        last: str,
        *,
        stage: str = "Application Review",
        status: str = "active",
        source: str = "Jobs page",
        prospect: bool = False,
        email: str | None = None,
    ) -> None:
        candidate_id = app_id + 500_000
        self.candidates[candidate_id] = {
            "id": candidate_id,
            "first_name": first,
            "last_name": last,
            "email_addresses": [
                {"value": f"{first}.{last}@work.example.org".lower(), "type": "work"},
                {"value": email or f"{first}.{last}@example.org".lower(), "type": "personal"},
            ],
            "created_at": "2026-11-01T09:00:00.000Z",
            "updated_at": "2026-11-01T09:00:00.000Z",
        }
        self.applications[app_id] = {
            "id": app_id,
            "candidate_id": candidate_id,
            "prospect": prospect,
            "applied_at": "2026-11-02T10:00:00.000Z",
            "last_activity_at": "2026-11-03T10:00:00.000Z",
            "rejected_at": None,
            "status": status,
            "current_stage": {"id": 7000 + len(stage), "name": stage},
            "jobs": [{"id": job_id, "name": self.jobs.get(job_id, "?")}],
            "source": {"id": 12, "public_name": source},
            "credited_to": {"id": 9, "name": "Cara Vale"},
            "rejection_reason": None,
        }

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> Answer:
        if path == "/token":
            return self._token(method, headers, body)
        bearer = headers.get("Authorization", "").removeprefix("Bearer ")
        if bearer not in self.tokens:
            return 401, {}, {"message": "Unauthorized"}
        route = (method, path.removeprefix("/v3/"))
        if route == ("GET", "jobs"):
            ids = _ints(query, "ids")
            return 200, {}, [{"id": i, "name": self.jobs[i]} for i in ids if i in self.jobs]
        if route == ("GET", "applications"):
            return self._applications(query)
        if route == ("GET", "candidates"):
            ids = _ints(query, "ids")
            if len(ids) > 50:
                return 422, {}, {"errors": [{"message": "ids: at most 50"}]}
            return 200, {}, [self.candidates[i] for i in ids if i in self.candidates]
        if route == ("GET", "rejection_reasons"):
            return 200, {}, GREENHOUSE_REASONS
        if method == "POST" and path.endswith("/reject"):
            return self._reject(int(path.split("/")[-2]), body)
        return 404, {}, {"errors": [{"message": f"no route {method} {path}"}]}

    def _token(self, method: str, headers: Any, body: Any) -> Answer:
        if method != "POST" or _basic(headers) != (self.client_id, self.client_secret):
            return 401, {}, {"error": "invalid_client"}
        if not isinstance(body, dict) or body.get("grant_type") != "client_credentials":
            return 400, {}, {"error": "unsupported_grant_type"}
        if body.get("sub") != self.user_id:
            return 400, {}, {"error": "invalid_request", "error_description": "unknown sub"}
        with self.lock:
            self.issued += 1
            token = f"gh-token-{self.issued}"
            self.tokens.add(token)
        return 200, {}, {"access_token": token, "token_type": "Bearer", "expires_in": 3600}

    def _applications(self, query: dict[str, list[str]]) -> Answer:
        if "cursor" in query:
            if len(query) > 1:
                return 422, {}, {"errors": [{"message": "cursor must be the only parameter"}]}
            state = json.loads(base64.urlsafe_b64decode(query["cursor"][0]))
            job_id, per_page, offset = state["job"], state["per_page"], state["offset"]
        elif "ids" in query:
            ids = _ints(query, "ids")
            return 200, {}, [self.applications[i] for i in ids if i in self.applications]
        else:
            job_id = _ints(query, "job_ids")[0]
            per_page, offset = int(query.get("per_page", ["100"])[0]), 0
        matching = [
            app
            for app_id, app in sorted(self.applications.items())
            if app["jobs"] and app["jobs"][0]["id"] == job_id
        ]
        page = matching[offset : offset + per_page]
        headers = {}
        if offset + per_page < len(matching):
            cursor = base64.urlsafe_b64encode(
                json.dumps(
                    {"job": job_id, "per_page": per_page, "offset": offset + per_page}
                ).encode()
            ).decode()
            headers["Link"] = f'<{self.origin}/v3/applications?cursor={cursor}>; rel="next"'
        return 200, headers, page

    def _reject(self, app_id: int, body: Any) -> Answer:
        app = self.applications.get(app_id)
        if app is None:
            return 404, {}, {"errors": [{"message": "Resource not found"}]}
        if app["status"] != "active":
            return 422, {}, {"errors": [{"message": "Only active applications can be rejected"}]}
        reason = next(
            (r for r in GREENHOUSE_REASONS if r["id"] == body.get("rejection_reason_id")), None
        )
        if reason is None:
            return 422, {}, {"errors": [{"message": "rejection_reason_id is invalid"}]}
        with self.lock:
            app.update(
                status="rejected", rejection_reason=reason, rejected_at="2026-12-08T10:00:00Z"
            )
            self.rejections.append((app_id, body))
        return 204, {}, None


def _ints(query: dict[str, list[str]], key: str) -> list[int]:
    return [int(part) for value in query.get(key, []) for part in value.split(",") if part]


# --- Lever ------------------------------------------------------------------------------------

LEVER_STAGES = [
    {"id": "lead-new", "text": "New lead"},
    {"id": "applicant-new", "text": "New applicant"},
    {"id": "stage-screen", "text": "Recruiter screen"},
    {"id": "stage-onsite", "text": "On-site interview"},
    {"id": "offer", "text": "Offer"},
]
LEVER_REASONS = [
    {"id": "reason-underqualified", "text": "Underqualified", "type": "non-hired"},
    {"id": "reason-position-filled", "text": "Position filled", "type": "non-hired"},
    {"id": "reason-position-closed", "text": "Position closed", "type": "non-hired"},
    {"id": "reason-withdrew", "text": "Withdrew", "type": "non-hired"},
    {"id": "reason-hired", "text": "Hired", "type": "hired"},
]


class FakeLever(FakeApi):
    """Lever's API at ``/v1``."""

    api_key = "lever-key-0123456789"
    perform_as = "user-77"

    def __init__(self) -> None:
        super().__init__()
        self.postings: dict[str, str] = {}
        self.opportunities: dict[str, dict[str, Any]] = {}
        self.archives: list[tuple[str, dict[str, Any], dict[str, list[str]]]] = []

    def add_posting(self, posting_id: str, text: str) -> None:
        self.postings[posting_id] = text

    def add_opportunity(
        self,
        opp_id: str,
        posting_id: str,
        name: str,
        *,
        stage: str = "applicant-new",
        origin: str = "applied",
        archived_reason: str | None = None,
    ) -> None:
        self.opportunities[opp_id] = {
            "id": opp_id,
            "name": name,
            "contact": f"contact-{opp_id}",
            "emails": [f"{name.split()[0].lower()}.{opp_id}@example.org"],
            "stage": stage,
            "origin": origin,
            "sources": ["LinkedIn"],
            "createdAt": 1_796_000_000_000,
            "archived": (
                {"archivedAt": 1_796_100_000_000, "reason": archived_reason}
                if archived_reason
                else None
            ),
            "applications": [f"app-{opp_id}"],
            "posting": posting_id,
        }

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: Any, body: Any
    ) -> Answer:
        if _basic(headers) != (self.api_key, ""):
            return 401, {}, {"code": "Unauthorized", "message": "Invalid API key"}
        route = path.removeprefix("/v1/").split("/")
        if method == "GET" and route[0] == "postings" and len(route) == 2:
            if route[1] not in self.postings:
                return 404, {}, {"code": "ResourceNotFound", "message": "posting not found"}
            return 200, {}, {"data": {"id": route[1], "text": self.postings[route[1]]}}
        if method == "GET" and route == ["stages"]:
            return 200, {}, {"data": LEVER_STAGES}
        if method == "GET" and route == ["archive_reasons"]:
            return 200, {}, {"data": LEVER_REASONS}
        if method == "GET" and route == ["opportunities"]:
            return self._page(query)
        if route[0] == "opportunities" and len(route) >= 2:
            opportunity = self.opportunities.get(route[1])
            if opportunity is None:
                return 404, {}, {"code": "ResourceNotFound", "message": "opportunity not found"}
            if method == "GET" and len(route) == 2:
                return 200, {}, {"data": opportunity}
            if method == "PUT" and route[2:] == ["archived"]:
                return self._archive(opportunity, body, query)
        return 404, {}, {"code": "ResourceNotFound", "message": f"no route {method} {path}"}

    def _page(self, query: dict[str, list[str]]) -> Answer:
        posting = query["posting_id"][0]
        limit = int(query.get("limit", ["100"])[0])
        offset = int(query.get("offset", ["0"])[0] or 0)
        matching = [o for _, o in sorted(self.opportunities.items()) if o["posting"] == posting]
        page = matching[offset : offset + limit]
        stages = {stage["id"]: stage for stage in LEVER_STAGES}
        if "stage" in query.get("expand", []):
            page = [{**o, "stage": stages.get(o["stage"], o["stage"])} for o in page]
        more = offset + limit < len(matching)
        body: dict[str, Any] = {"data": page, "hasNext": more}
        if more:
            body["next"] = str(offset + limit)
        return 200, {}, body

    def _archive(
        self, opportunity: dict[str, Any], body: Any, query: dict[str, list[str]]
    ) -> Answer:
        reason = body.get("reason") if isinstance(body, dict) else None
        if reason not in {r["id"] for r in LEVER_REASONS}:
            return 400, {}, {"code": "BadRequestError", "message": "Invalid archive reason"}
        with self.lock:
            opportunity["archived"] = {"archivedAt": 1_796_200_000_000, "reason": reason}
            self.archives.append((opportunity["id"], body, query))
        return 200, {}, {"data": opportunity}


# --- a receiver for outgoing webhooks ---------------------------------------------------------


class Receiver(FakeApi):
    """Records every POST; answers the scripted statuses in turn, then 200."""

    def __init__(self, answers: Callable[[int], int] | None = None) -> None:
        super().__init__()
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self._answers = answers or (lambda _: 200)

    def answer(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> Answer:
        with self.lock:
            self.posts.append(({k: v for k, v in headers.items()}, raw_body))
            number = len(self.posts)
        return self._answers(number), {}, {"ok": True}
