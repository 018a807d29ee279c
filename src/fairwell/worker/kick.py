"""Start delivery of letters just queued, whichever engine delivers them.

The embedded worker polls the database, so it needs no word. A Celery installation would wait
for beat's next kick; pushing one at once makes `fairwell send --no-wait` and the web app's
sends start as soon as the letters are committed.
"""

from __future__ import annotations

from fairwell.config import Settings


def start_delivery(settings: Settings) -> str:
    """Kick delivery where that helps; return one line for the person who queued the letters."""
    if settings.delivery_engine != "celery":
        return "`fairwell worker` delivers them"
    from fairwell.worker.celery_app import push_delivery

    problem = push_delivery(settings)
    if problem is None:
        return "a Celery worker was asked to deliver them now"
    return (
        f"the broker did not take the kick ({problem}); "
        f"Celery beat's next kick delivers them within {settings.beat_delivery_seconds:g} s"
    )
