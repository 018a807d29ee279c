"""A big send on every core: worker processes compose and deliver, nothing twice, nothing lost."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from fairwell.delivery.sink import MailSink, read_sink
from fairwell.runtime import init_database, open_runtime
from fairwell.services.planning import make_plan, queue_plan
from fairwell.worker.pool import WorkerPool
from tests.conftest import settings_for
from tests.helpers import applicant, import_and_reject_all, people

PEOPLE = 600


def test_two_processes_compose_and_deliver_every_letter_exactly_once(
    tmp_path: Path, database_url: str
) -> None:
    with MailSink(tmp_path / "mail", port=0) as sink:
        settings = settings_for(database_url, sink.port, claim_batch=50)
        init_database(settings)
        runtime = open_runtime(settings)
        rows = [*people(PEOPLE), applicant("hired@example.com", "Hana", "Hired", stage="hired")]
        now = runtime.clock.now()
        import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, now, "role-closed")
        planned = make_plan(runtime.store, runtime.composer, "Data Analyst", now).ready

        with WorkerPool(settings, processes=2) as pool:
            batch = queue_plan(
                runtime.store,
                runtime.composer,
                "Data Analyst",
                actor="t",
                now=now,
                expected=planned,
                composing=pool.composing(now),
            )
            stats = pool.deliver(batch.batch_id)

        assert planned == batch.queued == stats.sent == PEOPLE
        received = Counter(message.rcpt_tos[0] for message in read_sink(sink.directory))
        assert received == Counter({f"p{i}@example.com": 1 for i in range(PEOPLE)})
        assert runtime.store.outbox_status().counts == {"sent": PEOPLE}
        runtime.close()
