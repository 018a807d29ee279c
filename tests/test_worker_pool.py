"""A big send on every core: worker processes compose and deliver, nothing twice, nothing lost."""

from __future__ import annotations

import itertools
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
                staging=pool.staging(now),
            )
            stats = pool.deliver(batch.batch_id)

        assert planned == batch.queued == stats.sent == PEOPLE
        received = Counter(message.rcpt_tos[0] for message in read_sink(sink.directory))
        assert received == Counter({f"p{i}@example.com": 1 for i in range(PEOPLE)})
        assert runtime.store.outbox_status().counts == {"sent": PEOPLE}
        runtime.close()


def test_the_pool_shares_out_every_application_once_in_runs_of_a_size(
    tmp_path: Path, database_url: str
) -> None:
    settings = settings_for(database_url, 25)
    init_database(settings)
    runtime = open_runtime(settings)
    rows = [*people(23), applicant("other@example.com", "Oda", "Other", job="Designer")]
    import_and_reject_all(runtime.store, tmp_path / "a.csv", rows, runtime.clock.now())
    store = runtime.store
    job_id = store.job_by_title("Data Analyst").id
    chunks = store.application_chunks(job_id, 5)
    runs = [
        [view.application.id for view in store.pending_letters(job_id, after, until)]
        for after, until in chunks
    ]
    assert store.application_count(job_id) == 23
    assert [len(run) for run in runs] == [5, 5, 5, 5, 3], "every decided application, once"
    assert len({i for run in runs for i in run}) == 23
    assert chunks[0][0] == 0 and all(a[1] == b[0] for a, b in itertools.pairwise(chunks))
    assert store.application_chunks(job_id + 1000, 5) == []
    runtime.close()


def test_the_pool_forks_only_when_no_connection_or_thread_could_be_inherited(
    tmp_path: Path, database_url: str
) -> None:
    import threading

    from fairwell.worker.pool import _start_method

    settings = settings_for(database_url, 25)
    init_database(settings)
    runtime = open_runtime(settings)
    engine = runtime.engine
    assert _start_method(None) == "spawn", "no engine: nothing says it is safe"
    runtime.store.application_count(1)  # a connection, back in the engine's pool
    idle = "fork" if threading.active_count() == 1 else "spawn"
    assert _start_method(engine) == idle
    assert engine.pool.checkedout() == 0 and runtime.store.application_count(1) == 0
    with engine.connect():
        assert _start_method(engine) == "spawn", "a connection in use would be inherited"
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert _start_method(engine) == "spawn", "a thread would be copied half-way"
    finally:
        stop.set()
        other.join()
    runtime.close()
