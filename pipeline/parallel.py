"""Independent work on many items, shared among worker processes, one per core.

Used where each item costs milliseconds and needs nothing from the others: judging new
inbox files, writing templates. Few items, or one core, and the work is done here, in
order, without the cost of starting a pool (~0.1 s).

Workers end with the process that started them. A run killed by SIGKILL (the kernel's
out-of-memory killer, ``kill -9``) runs no cleanup, and a forked worker waiting for its
next job would otherwise live on, orphaned: on Linux each worker asks the kernel to kill
it when its parent dies (``PR_SET_PDEATHSIG``), and elsewhere it leaves as soon as it
finds its parent gone. Workers never hold the ledger's lock either
(:mod:`pipeline.ledger.lock` closes it in every forked child).
"""

from __future__ import annotations

import ctypes
import itertools
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any, TypeVar

from pipeline.errors import PipelineError

J = TypeVar("J")
R = TypeVar("R")
MAX_WORKERS = 8
AHEAD = 4  # chunks in flight per worker: enough that no worker waits for the next


def each(
    func: Callable[[J], R],
    jobs: Sequence[J],
    start: Callable[..., None],
    start_args: tuple[Any, ...],
    *,
    parallel_from: int,
) -> Iterator[R]:
    """``func(job)`` for every job, in ``jobs`` order. ``start(*start_args)`` first sets
    up each worker process (or this one). A worker that dies raises
    :class:`concurrent.futures.process.BrokenProcessPool` from the iteration."""
    cores = os.cpu_count() or 1
    if len(jobs) < parallel_from or cores < 2:
        start(*start_args)
        for job in jobs:
            yield func(job)
        return
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    workers = min(cores, MAX_WORKERS)
    size = max(1, min(32, len(jobs) // (workers * 8)))
    chunks = (jobs[i : i + size] for i in range(0, len(jobs), size))
    init_args = (os.getpid(), start, start_args)
    with ProcessPoolExecutor(workers, context, _start_worker, init_args) as pool:
        # A window of chunks in flight, not every job submitted at once (as pool.map
        # does): results done ahead of the caller wait in memory, so a caller that
        # stores them in slices keeps its memory bounded whatever the number of jobs.
        window: deque[Future[list[R]]] = deque()
        for part in itertools.islice(chunks, workers * AHEAD):
            window.append(pool.submit(_each_of, func, part))
        while window:
            done = window.popleft().result()
            part = next(chunks, ())
            if part:
                window.append(pool.submit(_each_of, func, part))
            yield from done


def _each_of(func: Callable[[J], R], jobs: Sequence[J]) -> list[R]:
    return [func(job) for job in jobs]


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _die_with(parent: int) -> None:
    """Have the kernel kill this process when ``parent`` ends (Linux), and leave now if
    it already has (the parent may die before the request is made)."""
    asked = False
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            asked = libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:
        os._exit(1)
    if not asked:  # no kernel to ask: look for the parent every second
        threading.Thread(target=_watch, args=(parent,), daemon=True).start()


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(1)


def _start_worker(parent: int, start: Callable[..., None], args: tuple[Any, ...]) -> None:
    _die_with(parent)
    start(*args)


class AsideFailed(PipelineError):
    """Work done aside, in a forked process, failed or was killed: said to the clerk as
    any failure of the tool (one line, exit 1), since the output it wrote is missing."""


def aside(func: Callable[[], object], what: str) -> Callable[[], None]:
    """Start ``func()`` in a forked process, alongside what this one does next; returns
    the function that waits for it and raises :class:`AsideFailed` if it failed.

    For independent work whose result is a file (an output written atomically): its
    return value is dropped. On one core, or where processes cannot be forked, ``func``
    runs here, now. A child ends with its parent (see :func:`_die_with`).
    """
    if (os.cpu_count() or 1) < 2 or not hasattr(os, "fork"):
        func()
        return lambda: None
    parent = os.getpid()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the child: do the work and leave without running the parent's cleanup
        status = 1
        try:
            _die_with(parent)
            func()
            status = 0
        except BaseException:
            import traceback

            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)

    def join() -> None:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            how = f"被信号 {-code} 终止" if code < 0 else f"退出码 {code}"
            raise AsideFailed(
                f"写出{what}的进程异常结束（{how}），{what}未写出；请检查磁盘空间后重新运行"
            )

    return join
