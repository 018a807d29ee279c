"""Use every core for a big send: compose letters and deliver them in worker processes.

One Python process composes or delivers about one letter per core at a time; a large batch
is split across processes that share nothing but the database. The database stays the source
of truth: composing processes only return letters (the parent writes the whole batch in one
transaction), and delivering processes claim with leases exactly as separate workers do.
Processes are started with ``spawn``, so none inherits a database connection or a thread.

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
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

from fairwell.config import Settings
from fairwell.domain.model import Job
from fairwell.errors import FairwellError, WorkerPoolError
from fairwell.ports import PipelineStore
from fairwell.services.compose import ComposedLetter
from fairwell.services.delivery import RunStats
from fairwell.services.planning import Skipped, compose_pending
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


def _start_process(settings_values: dict[str, Any], parent: int, finished: Any) -> None:
    _die_with(parent)
    _process_state["finished"] = finished
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


def _compose_range(
    job: Job, after: int, until: int, now: datetime, send_now: bool
) -> list[ComposedLetter | Skipped]:
    runtime = _runtime()
    # The process's roster of everyone on file: composing and delivering share it.
    roster = runtime.rosters.current()
    composed = compose_pending(
        runtime.store, runtime.composer, job, roster, now, after, until, send_now
    )
    return list(composed)


class WorkerPool:
    """Worker processes for one big send (they compose the plan, then deliver it) or one big
    plan (they compose it).

    One pool serves both steps, so the processes' start-up (about half a second each, run in
    parallel) is paid once. Use it as a context manager.
    """

    def __init__(self, settings: Settings, processes: int) -> None:
        self.settings, self.processes = settings, processes
        context = multiprocessing.get_context("spawn")
        # Letters the processes have finished with (sent, failed, held), counted as each
        # claim's results are committed: the progress bar reads it, not the database.
        self._finished = context.Value("q", 0)
        self._executor = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=context,
            initializer=_start_process,
            initargs=(settings.model_dump(), os.getpid(), self._finished),
        )

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
        self._executor.shutdown(wait=True, cancel_futures=True)

    def composing(
        self, now: datetime, send_now: bool = False, store: PipelineStore | None = None
    ) -> Callable[[Job], Iterator[ComposedLetter | Skipped]]:
        """A ``composing`` source for :func:`queue_plan` (``send_now``: skip send windows).
        ``store`` reads how the job's applications are shared out (default: a runtime of
        the pool's settings, opened for that).

        Results come back in id order with at most two chunks per process in flight, so the
        parent's memory stays flat however large the job.
        """

        fate = "nothing was queued; send again, or with --processes 1 to use no worker process"

        def compose(job: Job) -> Iterator[ComposedLetter | Skipped]:
            ranges = self._chunks(job, store)
            window = 2 * self.processes
            waiting: deque[Future[list[ComposedLetter | Skipped]]] = deque()
            for after, until in ranges:
                waiting.append(
                    self._submitted(fate, _compose_range, job, after, until, now, send_now)
                )
                if len(waiting) >= window:
                    yield from _reported(waiting.popleft().result, fate)
            while waiting:
                yield from _reported(waiting.popleft().result, fate)

        return compose

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
        with self._finished.get_lock():
            self._finished.value = 0
        share = rate / self.processes if rate else None
        fate = f"batch {batch_id} is queued: `fairwell worker` delivers what is left"
        futures = [
            self._submitted(fate, _deliver_batch, batch_id, share) for _ in range(self.processes)
        ]
        while not all(future.done() for future in futures):
            if on_progress is not None:
                on_progress(self._finished.value)
            time.sleep(0.2)
        if on_progress is not None:  # what the last 0.2 s finished is heard too
            on_progress(self._finished.value)
        return _added([_reported(future.result, fate) for future in futures])

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
    return run_batch(make_deliverer(_runtime(), rate), batch_id, on_round=count)


def _added(parts: list[RunStats]) -> RunStats:
    total = RunStats()
    for part in parts:
        for name in ("claimed", "sent", "retried", "failed", "held", "quarantined", "released"):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.possible_duplicates += part.possible_duplicates
        total.findings.extend(part.findings)
    return total
