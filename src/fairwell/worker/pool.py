"""Use every core for a big send: compose letters and deliver them in worker processes.

One Python process composes or delivers about one letter per core at a time; a large batch
is split across processes that share nothing but the database. The database stays the source
of truth: composing processes store their runs of letters into the plan while it is still
composing (the parent then makes it the job's staged plan in one transaction, or gives it
up), and delivering processes claim with leases exactly as separate workers do.
The processes are forked from the command's process when it holds no database connection
and runs no other thread at that moment (they start with what it imported), and spawned
otherwise; either way none inherits a database connection or a thread.

A worker process never outlives the send that started it, even one ended by ``kill -9``: its
claims' leases run out and any ``fairwell worker`` finishes the batch (docs/operations.md).
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor, wait
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from fairwell.config import Settings
from fairwell.domain.model import Job
from fairwell.errors import FairwellError, WorkerPoolError
from fairwell.ports import PipelineStore
from fairwell.ports.plans import PlanRecord
from fairwell.services.delivery import RunStats
from fairwell.services.planning import compose_pending
from fairwell.worker.collector import collect_less, freeze_long_lived
from fairwell.worker.embedded import run_batch

CHUNK = 250
# Below this many letters the processes' start-up costs more than it saves.
WORTH_IT = 2000
# A plan alone (`fairwell plan`) is composed in them from here: the time saved (a 100k plan in
# 33 s instead of 39 s) and the memory (no roster of everyone on file in the command's own
# process) outweigh two start-ups; at 10k they do not (5.3 s instead of 4.8 s).
PLAN_WORTH_IT = 50_000

_process_state: dict[str, Any] = {}


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)))


# prctl(2): the signal this process gets when the thread that started it ends.
_PR_SET_PDEATHSIG = 1
T = TypeVar("T")


def _start_process(settings_values: dict[str, Any], parent: int, finished: Any, wake: Any) -> None:
    _die_with(parent)
    _process_state["finished"], _process_state["wake"] = finished, wake
    try:
        from fairwell.runtime import open_runtime

        _process_state["runtime"] = open_runtime(Settings(**settings_values))
    except Exception as error:
        # Kept for the first task to report as one line in the parent. Raising here would
        # only print a traceback on the terminal and break the pool without saying why.
        _process_state["failed"] = _described(error)


def _die_with(parent: int) -> None:
    """End this process when the one that started it ends, whatever ended it (kill -9 too).

    Linux sends SIGKILL through PR_SET_PDEATHSIG when the starting *thread* ends: the pool
    starts its processes from the thread that submits work, the command's main thread.
    Elsewhere a thread watches for the parent to change.
    """
    armed = False
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        armed = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    if not armed:
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    # The parent may have died before the signal was armed: we already have another parent.
    if os.getppid() != parent:
        os._exit(1)


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _described(error: Exception) -> str:
    """The error's type and first line; for a setting that does not validate, which setting
    and why (pydantic's first line names neither), never its value: it may be a secret."""
    errors = getattr(error, "errors", None)
    if callable(errors):
        first = errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        return f"{type(error).__name__}: {where}: {first['msg']}"
    return f"{type(error).__name__}: {(str(error).splitlines() or [''])[0]}"


def _runtime() -> Any:
    failed = _process_state.get("failed")
    if failed:
        raise WorkerPoolError(f"a worker process could not start ({failed})")
    return _process_state["runtime"]


def _started() -> None:
    """Nothing: submitted once per process to start them all (a failed start is reported
    by the first real task)."""


def _stage_range(
    job: Job, plan_id: int, after: int, until: int, now: datetime, send_now: bool
) -> int:
    """Compose the applications in (after, until] and store them into the composing plan;
    returns how many letters were stored. Nothing comes back but the count: the parent
    would otherwise unpickle and write every letter itself, one process for all of them."""
    from fairwell.services.sending import staged_letters

    runtime = _runtime()
    # The process's roster of everyone on file: composing and delivering share it.
    roster = runtime.rosters.current()
    _collect_less()
    composed = compose_pending(
        runtime.store, runtime.composer, job, roster, now, after, until, send_now
    )
    # Composed before the write begins: on SQLite the other processes wait for that lock.
    letters = list(staged_letters(composed, runtime.composer, now))
    return int(runtime.store.stage_share(plan_id, letters))


def _start_method(engine: Engine | None) -> str:
    """fork when it is safe: this process holds no database connection a child could
    inherit (SQLite's locks and WAL state, a server session) and has no other thread yet.
    The engine's idle connections are closed for that; it opens new ones when next used."""
    if engine is None or "fork" not in multiprocessing.get_all_start_methods():
        return "spawn"
    pool = engine.pool
    # Counted before dispose(), which starts a new, empty pool.
    in_use = pool.checkedout() if isinstance(pool, QueuePool) else 1
    if in_use or threading.active_count() > 1:
        return "spawn"
    engine.dispose()
    return "fork"


class WorkerPool:
    """Worker processes for one big send (they compose the plan, then deliver it) or one big
    plan (they compose it).

    One pool serves both steps, so the processes' start-up (about half a second each, run in
    parallel) is paid once. Use it as a context manager.
    """

    def __init__(self, settings: Settings, processes: int, engine: Engine | None = None) -> None:
        """``engine``: the command's own database engine. Given, the processes are forked
        from this one (they start with what it imported: about half a second less each)
        when it holds no database connection at that moment; otherwise they are spawned."""
        self.settings, self.processes, self._engine = settings, processes, engine
        self._started: ProcessPoolExecutor | None = None
        self._finished: Any = None
        self._wake: Any = None
        self.start_method = "spawn"

    def __enter__(self) -> WorkerPool:
        return self

    def start(self) -> None:
        """Start the processes now, not when first given work: while this one reads the plan
        and checks the templates, their start-up (imports, a connection) overlaps its own."""
        # A process that cannot start breaks the pool; the first real task says so.
        with contextlib.suppress(BrokenExecutor, OSError):
            for _ in range(self.processes):
                self._executor.submit(_started)

    def __exit__(self, *exc_info: object) -> None:
        if self._started is not None:
            self._started.shutdown(wait=True, cancel_futures=True)

    @property
    def _executor(self) -> ProcessPoolExecutor:
        """The processes, started with the first task (all of them at once when forked)."""
        return self._started or self._made_executor()

    def _made_executor(self) -> ProcessPoolExecutor:
        self.start_method = _start_method(self._engine)
        context = multiprocessing.get_context(self.start_method)
        # Letters the processes have finished with (sent, failed, held), counted as each
        # claim's results are committed: the progress bar reads it, not the database.
        self._finished = context.Value("q", 0)
        # Set by each delivering process as it stops: the others stop waiting for its letters.
        self._wake = context.Event()
        self._started = ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=context,
            initializer=_start_process,
            initargs=(self.settings.model_dump(), os.getpid(), self._finished, self._wake),
        )
        return self._started

    def staging(
        self, now: datetime, send_now: bool = False, store: PipelineStore | None = None
    ) -> Callable[[Job, PlanRecord], int]:
        """A ``staging`` for :func:`make_plan` (``send_now``: skip send windows): the
        processes compose the job's letters in runs and store each run into the plan.
        ``store`` reads how the job's applications are shared out (default: a runtime of
        the pool's settings, opened for that).
        """
        fate = "nothing was queued; send again, or with --processes 1 to use no worker process"

        def stage(job: Job, plan: PlanRecord) -> int:
            runs = self._chunks(job, store)
            futures = [
                self._submitted(fate, _stage_range, job, plan.id, after, until, now, send_now)
                for after, until in runs
            ]
            try:
                return sum(_reported(future.result, fate) for future in futures)
            finally:
                # A failed run ends the plan: the runs not started yet are not wanted.
                for future in futures:
                    future.cancel()

        return stage

    def _chunks(self, job: Job, store: PipelineStore | None) -> list[tuple[int, int]]:
        if store is not None:
            return store.application_chunks(job.id, CHUNK)
        from fairwell.runtime import open_runtime

        runtime = open_runtime(self.settings)
        try:
            return runtime.store.application_chunks(job.id, CHUNK)
        finally:
            runtime.close()

    def deliver(
        self,
        batch_id: int,
        rate: float | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> RunStats:
        """Deliver a batch with every process; returns their stats added up.

        A global ``rate`` is shared out evenly between the processes. ``on_progress`` hears,
        five times a second, how many letters the processes have finished with so far.
        """
        finished = self._counter()
        with finished.get_lock():
            finished.value = 0
        self._wake.clear()
        share = rate / self.processes if rate else None
        fate = f"batch {batch_id} is queued: `fairwell worker` delivers what is left"
        futures = [
            self._submitted(fate, _deliver_batch, batch_id, share) for _ in range(self.processes)
        ]
        # Woken as soon as the last process is done, not at the next fifth of a second.
        while wait(futures, timeout=0.2).not_done:
            if on_progress is not None:
                on_progress(finished.value)
        if on_progress is not None:  # what the last moments finished is heard too
            on_progress(finished.value)
        return _added([_reported(future.result, fate) for future in futures])

    def _counter(self) -> Any:
        """The count of letters the processes finished, shared with them (made with them)."""
        if self._started is None:
            self._made_executor()  # the processes start at the first task
        return self._finished

    def _submitted(self, fate: str, task: Callable[..., T], *args: Any) -> Future[T]:
        """The task, handed to a process. A pool its processes broke fails here too: as
        BrokenExecutor, or as the OSError of starting a new process over the broken pool's
        closed queue, depending on which comes first."""
        try:
            return self._executor.submit(task, *args)
        except (BrokenExecutor, OSError):
            raise WorkerPoolError(
                f"the worker processes stopped before the work was done; {fate}"
            ) from None


def _reported(call: Callable[[], T], fate: str) -> T:
    """``call``'s result; a worker process's failure as one line that says what became of
    the batch (cli/base.py prints it without a traceback)."""
    try:
        return call()
    except WorkerPoolError as error:
        raise WorkerPoolError(f"{error}; {fate}") from None
    except FairwellError:
        raise
    except BrokenExecutor:
        raise WorkerPoolError(
            f"the worker processes stopped before the work was done; {fate}"
        ) from None
    except Exception as error:
        # Only the type: a message from deep inside could quote a letter or an address.
        raise WorkerPoolError(f"a worker process failed ({type(error).__name__}); {fate}") from None


def _deliver_batch(batch_id: int, rate: float | None) -> RunStats:
    from fairwell.runtime import make_deliverer

    counted = 0
    finished = _process_state["finished"]

    def count(stats: RunStats) -> None:
        nonlocal counted
        with finished.get_lock():
            finished.value += stats.finished - counted
        counted = stats.finished

    # The command says in its own line when the relay takes no letters (cli/sending.py).
    logging.getLogger("fairwell.services.delivery.relay").setLevel(logging.ERROR)
    # The deliverer guards with the runtime's roster, the one this process composed with.
    deliverer = make_deliverer(_runtime(), rate)
    _collect_less()
    return run_batch(deliverer, batch_id, on_round=count, wake=_process_state["wake"])


def _collect_less() -> None:
    """What the process holds at its first task's start (libraries, runtime, roster) is left
    out of every later collection, and young objects are collected less often
    (worker/collector.py): with the defaults, collections took 15-25% of a composing
    process's CPU; now under 1%. Frozen once: freezing at every run would also keep whatever
    cyclic garbage was waiting for a collection at that moment, run after run."""
    if _process_state.get("frozen"):
        return
    _process_state["frozen"] = True
    freeze_long_lived()
    collect_less()


def _added(parts: list[RunStats]) -> RunStats:
    total = RunStats()
    for part in parts:
        for name in ("claimed", "sent", "retried", "failed", "held", "quarantined", "released"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.possible_duplicates += part.possible_duplicates
        total.findings.extend(part.findings)
    return total
