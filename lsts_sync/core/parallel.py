"""Bounded concurrency for independent reads (``--parallelism N``).

``bounded_map(fn, items, limit)`` calls ``fn`` on every item with at most ``limit`` calls running at
once and returns the results in the order of ``items``, so whatever consumes them decides exactly
as a sequential run would: the same facts, hence the same plan, for any ``limit``. Only reads go
through it; apply's writes stay sequential in the plan's order.

Why threads: each call waits on a server (Label Studio or S3), not on the CPU, and the clients are
thread-safe (httpx's connection pool, boto3 clients; ``LabelStudioHttp`` guards its token refresh
and ``RequestStats`` its counters). ``limit`` 1 runs every call in the caller's thread, in order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def bounded_map(fn: Callable[[T], R], items: Iterable[T], limit: int) -> list[R]:
    """``[fn(item) for item in items]`` with at most ``limit`` calls at once, results in input order.

    A failure raises the exception of the first failing item in input order (deterministic, like
    the sequential loop), after the calls already running have ended; calls not yet started are
    cancelled, so nothing keeps reading once the outcome is decided.
    """
    todo = list(items)
    if limit < 1:
        raise ValueError(f"parallelism must be at least 1, not {limit}")
    if limit == 1 or len(todo) <= 1:
        return [fn(item) for item in todo]
    with ThreadPoolExecutor(max_workers=min(limit, len(todo)), thread_name_prefix="lsts-read") as pool:
        futures = [pool.submit(fn, item) for item in todo]
        return _results(futures)


def _results(futures: list[Future[R]]) -> list[R]:
    for index, future in enumerate(futures):
        if future.exception() is not None:
            for later in futures[index + 1:]:
                later.cancel()
            raise future.exception()  # type: ignore[misc]
    return [future.result() for future in futures]
