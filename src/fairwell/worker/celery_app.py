"""The Celery app: delivery and periodic work on Redis or RabbitMQ, for many machines.

The broker only says "there may be work": every task is argument-free and idempotent, and the
database lease stays the source of truth. So:

- ``acks_late``: a message is acknowledged when its task has finished, not when a worker
  took it. A worker killed mid-task (``kill -9``, a lost machine) leaves the message unacked
  and the broker hands it to another worker: the kick is not lost with the worker.
- ``task_reject_on_worker_lost``: when a prefork child dies, the message goes back to the
  queue rather than being acknowledged as failed. Redelivery is safe because the task claims
  by lease: letters the dead worker held come back only when their lease ends, and a task
  that runs twice claims nothing twice. The usual danger of this option, a message that kills
  every worker forever, cannot arise from our messages: they carry no data to choke on.
- No result backend: results would be counts only, but nobody reads them.
- ``worker_prefetch_multiplier = 1``: a busy worker does not hoard kicks another could run.
- The broker keeps nothing that matters: if it loses its queue (a restart without
  persistence), beat's next kick, ``beat_delivery_seconds`` later, starts delivery again.

Celery ships no type information; this module is the one place that touches its API
(``[[tool.mypy.overrides]]`` in pyproject.toml lets ``celery`` be untyped), and everything it
exposes is typed.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Sequence
from typing import Any

from celery import Celery

from fairwell.config import Settings
from fairwell.runtime import inbox_configured
from fairwell.worker import tasks
from fairwell.worker.tasks import WorkerContext

# Task names are part of the wire format between beat, senders and workers of mixed versions.
DELIVER = "fairwell.deliver"
DEADLINES = "fairwell.deadlines"
RETENTION = "fairwell.retention"
CONSENT_RENEWALS = "fairwell.consent_renewals"
INBOX = "fairwell.inbox"
ATS_SYNC = "fairwell.ats_sync"
WEBHOOKS = "fairwell.webhooks"
AUTO_SEND = "fairwell.auto_send"
TASK_NAMES = (
    DELIVER,
    DEADLINES,
    RETENTION,
    CONSENT_RENEWALS,
    INBOX,
    ATS_SYNC,
    WEBHOOKS,
    AUTO_SEND,
)

# Redis only: an unacknowledged message returns to the queue after this many seconds (its
# worker died). Longer than a deliver task's budget plus one claim's letters; a task that does
# run longer and is redelivered meanwhile is harmless, because the claim decides.
REDIS_VISIBILITY_TIMEOUT = 300


def make_celery(settings: Settings, context: WorkerContext | None = None) -> Any:
    """Build the Celery app for these settings, with its tasks and beat's schedule.

    Returns a ``celery.Celery`` (typed ``Any``: Celery has no types).
    """
    app = Celery("fairwell", set_as_current=False)
    app.conf.update(_configuration(settings))
    _register(app, context or WorkerContext(settings))
    return app


def _configuration(settings: Settings) -> dict[str, object]:
    return {
        "broker_url": settings.broker_url,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {"visibility_timeout": REDIS_VISIBILITY_TIMEOUT},
        "task_default_queue": settings.celery_queue,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_ignore_result": True,
        "result_backend": None,
        "task_serializer": "json",
        "accept_content": ["json"],
        "worker_prefetch_multiplier": 1,
        "enable_utc": True,
        "timezone": "UTC",
        "beat_schedule": beat_schedule(settings),
    }


def beat_schedule(settings: Settings) -> dict[str, dict[str, object]]:
    """What beat sends, and how often. Each kick expires when the next one is due, so kicks
    pile up nowhere while every worker is down."""
    every = settings.beat_housekeeping_minutes * 60
    schedule = {
        "deliver": _entry(DELIVER, settings.beat_delivery_seconds),
        "deadlines": _entry(DEADLINES, every),
        "retention": _entry(RETENTION, every),
        "consent-renewals": _entry(CONSENT_RENEWALS, every),
        "ats-sync": _entry(ATS_SYNC, settings.beat_integrations_minutes * 60),
        "webhooks": _entry(WEBHOOKS, settings.beat_integrations_minutes * 60),
        # Jobs whose auto-send rule is on: their new decisions go as a confirmed plan would.
        "auto-send": _entry(AUTO_SEND, settings.beat_integrations_minutes * 60),
    }
    if inbox_configured(settings):
        schedule["inbox"] = _entry(INBOX, settings.beat_inbox_minutes * 60)
    return schedule


def _entry(task: str, seconds: float) -> dict[str, object]:
    return {"task": task, "schedule": seconds, "options": {"expires": seconds}}


def _register(app: Any, context: WorkerContext) -> None:
    """Register the tasks as module-level functions that find their context on the app.

    Celery keeps one callable per task name for the whole process: a closure per app would
    make a second app in the same process (the tests build several) run the first app's.
    """
    app.fairwell_context = context
    options: dict[str, object] = {"acks_late": True, "reject_on_worker_lost": True, "bind": True}
    for name, body in _BODIES.items():
        app.task(name=name, **options)(body)


def _context(task: Any) -> WorkerContext:
    context: WorkerContext = task.app.fairwell_context
    return context


def _deliver(task: Any) -> dict[str, int]:
    return tasks.deliver(_context(task), more=lambda: task.app.send_task(DELIVER))


def _deadlines(task: Any) -> dict[str, int]:
    return tasks.deadlines(_context(task))


def _retention(task: Any) -> dict[str, object]:
    return tasks.retention(_context(task))


def _consent_renewals(task: Any) -> dict[str, int]:
    return tasks.consent_renewals(_context(task))


def _inbox(task: Any) -> dict[str, int]:
    return tasks.inbox(_context(task))


def _ats_sync(task: Any) -> dict[str, int]:
    return tasks.ats_sync(_context(task))


def _webhooks(task: Any) -> dict[str, int]:
    return tasks.deliver_webhooks(_context(task))


def _auto_send(task: Any) -> dict[str, object]:
    return tasks.auto_send(_context(task))


_BODIES: dict[str, Callable[[Any], object]] = {
    DELIVER: _deliver,
    DEADLINES: _deadlines,
    RETENTION: _retention,
    CONSENT_RENEWALS: _consent_renewals,
    INBOX: _inbox,
    ATS_SYNC: _ats_sync,
    WEBHOOKS: _webhooks,
    AUTO_SEND: _auto_send,
}


def kick_delivery(app: Any) -> None:
    """Ask any worker to deliver now (beat does this every ``beat_delivery_seconds``)."""
    app.send_task(DELIVER)


def push_delivery(settings: Settings) -> str | None:
    """Ask a Celery worker to deliver now; None when the broker took the kick, else why not.

    Not retried and not an error: the letters are committed already, and beat's next kick
    (``beat_delivery_seconds``) finds them anyway. The reason is the exception's class name
    only, because a broker error message may quote the URL with its password.
    """
    app = make_celery(settings)
    try:
        app.send_task(DELIVER, retry=False)
    except Exception as error:  # kombu and redis-py raise many kinds; any means "not now"
        return type(error).__name__
    return None


def worker_argv(settings: Settings, concurrency: int, loglevel: str) -> list[str]:
    """Arguments for ``celery worker``: our queue, N processes, a node name unique per process.

    Gossip and mingle are off: they exchange worker state we never use, and mingle makes every
    start wait for replies.
    """
    return [
        "worker",
        f"--queues={settings.celery_queue}",
        f"--concurrency={concurrency}",
        f"--loglevel={loglevel}",
        f"--hostname=fairwell-{os.getpid()}@{socket.gethostname()}",
        "--without-gossip",
        "--without-mingle",
    ]


def run_worker(settings: Settings, concurrency: int, loglevel: str = "INFO") -> None:
    """Run a Celery worker in this process (prefork: ``concurrency`` child processes)."""
    make_celery(settings).worker_main(argv=worker_argv(settings, concurrency, loglevel))


def run_beat(settings: Settings, schedule_file: str, loglevel: str = "INFO") -> None:
    """Run Celery beat in this process. Run exactly one beat per installation."""
    make_celery(settings).Beat(schedule=schedule_file, loglevel=loglevel).run()


def registered_tasks(app: Any) -> Sequence[str]:
    return sorted(name for name in app.tasks if name.startswith("fairwell."))
