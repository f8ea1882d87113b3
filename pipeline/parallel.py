"""Independent work on many items, shared among worker processes, one per core.

Used where each item costs milliseconds and needs nothing from the others: judging new
inbox files, writing templates. Few items, or one core, and the work is done here, in
order, without the cost of starting a pool (~0.1 s).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any, TypeVar

J = TypeVar("J")
R = TypeVar("R")
MAX_WORKERS = 8


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
    chunk = max(1, min(32, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(workers, context, start, start_args) as pool:
        yield from pool.map(func, jobs, chunksize=chunk)
