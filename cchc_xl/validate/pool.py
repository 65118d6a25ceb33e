"""Files read in worker processes, each file's fate its own.

Readers are native code (calamine, zlib, expat): a hostile file can abort its process, loop, or
ask for all the memory there is. So every file is read in a worker process that is bounded — a
file gets :data:`FILE_SECONDS` of reading (``SIGALRM`` with its default action ends the worker
even inside native code that never returns to Python) and :data:`FILE_MEMORY` bytes of address
space beyond what the worker started with (``RLIMIT_AS``: Python raises ``MemoryError``, native
code aborts). When a worker dies, the files it held are read again one per process; the one that
kills its process again is that file's failure, reported through ``on_failure``, and every other
file goes on. Both ``validate`` and ``merge`` read through :func:`map_files`.
"""

from __future__ import annotations

import contextlib
import ctypes
import faulthandler
import itertools
import multiprocessing
import os
import resource
import signal
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from ..problems import ValidationReport, make_problem

# Workers are forked, whatever the process's default start method (a process that was itself spawned,
# as the bench's merges are, defaults to spawn: measured 0.36 s to start one worker and pickle the
# context, against a few ms to fork): they inherit the context built before the fork.
MP_CONTEXT = multiprocessing.get_context("fork") if "fork" in multiprocessing.get_all_start_methods() else None
FILE_SECONDS = int(os.environ.get("CCHC_XL_FILE_SECONDS", "120"))
FILE_MEMORY = 3 << 30          # address space a worker may add while reading one file
FAULT_ENV = "CCHC_XL_TEST_FAULT"   # tests only: "abort:NAME", "hang:NAME" or "memory:NAME"


@dataclass(frozen=True)
class FileFailure:
    """Why a file's reader process did not come back: ``crash``, ``timeout`` or ``memory``."""

    kind: str

    @property
    def code(self) -> str:
        return "file.corrupt" if self.kind == "crash" else "file.too_large"

    @property
    def detail(self) -> str:
        if self.kind == "timeout":
            return f"đọc tệp quá {FILE_SECONDS} giây"
        if self.kind == "memory":
            return f"đọc tệp cần quá {FILE_MEMORY >> 30} GB bộ nhớ"
        return "chương trình đọc tệp bị dừng đột ngột khi mở tệp này"


    def report(self, path: str) -> ValidationReport:
        """The rejected report of the file whose reader process did not come back."""
        report = ValidationReport(path=path, rejected=True)
        report.add(make_problem(self.code, file=path, detail=self.detail))
        return report.finish()


def die_with_parent() -> None:
    """A worker whose parent is killed (SIGKILL) ends too, instead of lingering (Linux prctl)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)     # PR_SET_PDEATHSIG


def bound_worker() -> None:
    """Bounds for this worker process: memory now, time per file in :func:`_guarded`."""
    die_with_parent()
    with contextlib.suppress(OSError, ValueError):
        soft, hard = resource.getrlimit(resource.RLIMIT_AS)
        want = _address_space() + FILE_MEMORY
        if hard == resource.RLIM_INFINITY or want < hard:
            resource.setrlimit(resource.RLIMIT_AS, (want, hard))
    signal.signal(signal.SIGALRM, signal.SIG_DFL)       # the alarm ends the process, wherever it is


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


class _Failed:
    """A job whose reading ran out of memory inside Python (the worker itself survives)."""

    def __init__(self, kind: str):
        self.kind = kind


def _guarded(work: Callable, job):
    path = str(job[0] if isinstance(job, tuple) else job)
    fault = os.environ.get(FAULT_ENV, "")
    kind, _, name = fault.partition(":")
    signal.alarm(FILE_SECONDS)
    try:
        if name and name in path:
            _inject(kind)
        return work(job)
    except MemoryError:
        return _Failed("memory")
    finally:
        signal.alarm(0)


def _inject(kind: str) -> None:
    if kind == "abort":
        faulthandler.disable()          # an injected abort needs no crash dump (a real one keeps it)
        os.abort()
    elif kind == "hang":
        while True:
            time.sleep(1)
    elif kind == "memory":
        bytearray(FILE_MEMORY + (1 << 30))


def _run_batch(work: Callable, batch: list) -> list:
    return [_guarded(work, job) for job in batch]


def map_files(jobs: Iterable, work: Callable, *, initializer: Callable, initargs: tuple = (),
              workers: int | None = None, on_result: Callable, on_failure: Callable,
              batch_size: int | None = None) -> None:
    """``work(job)`` for every job in bounded worker processes; ``on_result(job, result)`` in this
    process as results come (a few batches in flight, so results never pile up in memory), and
    ``on_failure(job, FileFailure)`` for a job that ends its reader process even when read alone.

    ``job`` is a path or a tuple whose first item is the path; ``initializer`` runs in each worker
    after the bounds are set."""
    jobs = list(jobs)
    if not jobs:
        return
    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    size = batch_size or max(1, min(16, len(jobs) // (workers * 6)))
    batches = iter([jobs[i:i + size] for i in range(0, len(jobs), size)])
    orphans: list = []

    def deliver(job, result) -> None:
        if isinstance(result, _Failed):
            on_failure(job, FileFailure(result.kind))
        else:
            on_result(job, result)

    with ProcessPoolExecutor(workers, mp_context=MP_CONTEXT, initializer=_init,
                             initargs=(initializer, initargs)) as ex:
        running: dict = {}

        def submit(count: int) -> None:
            for b in itertools.islice(batches, count):
                try:
                    running[ex.submit(_run_batch, work, b)] = b
                except BrokenProcessPool:
                    orphans.extend(b)

        submit(workers * 3)
        while running:
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                batch = running.pop(fut)
                try:
                    results = fut.result()
                except BrokenProcessPool:
                    orphans.extend(batch)        # a reader ended its process: each file read alone
                    continue
                for job, result in zip(batch, results):
                    deliver(job, result)
                submit(1)
        orphans.extend(j for b in batches for j in b)
    for job in orphans:
        result = _alone(work, job, initializer, initargs)
        if isinstance(result, FileFailure):
            on_failure(job, result)
        else:
            deliver(job, result)


def _init(initializer: Callable, initargs: tuple) -> None:
    bound_worker()
    initializer(*initargs)


def _alone(work: Callable, job, initializer: Callable, initargs: tuple):
    ex = ProcessPoolExecutor(1, mp_context=MP_CONTEXT, initializer=_init, initargs=(initializer, initargs))
    start = time.monotonic()
    try:
        return ex.submit(_guarded, work, job).result(timeout=FILE_SECONDS + 5)
    except (BrokenProcessPool, FuturesTimeout):
        for proc in list(getattr(ex, "_processes", {}).values()):
            proc.kill()
        return FileFailure("timeout" if time.monotonic() - start >= FILE_SECONDS else "crash")
    finally:
        ex.shutdown(wait=False, cancel_futures=True)
