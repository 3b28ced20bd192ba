"""Counting HTTP requests made to Label Studio and S3 (for ``--stats``, tests and benchmarks).

Reads may run in several threads (``--parallelism``): counting takes a lock, so no request is lost.
The moment of the first request is logged (DEBUG: the system-wide monotonic clock, and the CPU time
the process had used) so that the benchmark can measure the time from process start to the first
request, also as CPU time, which other work on a busy machine inflates far less.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass
class RequestStats:
    """Requests by method; a write is anything that is not GET/HEAD/OPTIONS."""

    by_method: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def record(self, method: str) -> None:
        method = method.upper()
        with self._lock:
            first = not self.by_method
            self.by_method[method] = self.by_method.get(method, 0) + 1
        if first:
            log.debug("first request (%s) at monotonic %.6f after %.3f s of CPU", method, time.monotonic(),
                      time.process_time())

    @property
    def reads(self) -> int:
        return sum(n for m, n in self.by_method.items() if m in READ_METHODS)

    @property
    def writes(self) -> int:
        return sum(n for m, n in self.by_method.items() if m not in READ_METHODS)

    def line(self) -> str:
        return f"HTTP requests: {self.reads + self.writes} ({self.reads} reads, {self.writes} writes)"
