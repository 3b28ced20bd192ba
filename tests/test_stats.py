"""Request counting."""

import logging
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from lsts_sync.core.stats import RequestStats


def test_reads_and_writes_are_counted_by_method() -> None:
    stats = RequestStats()
    for method in ("GET", "get", "HEAD", "POST", "PATCH", "DELETE", "PUT"):
        stats.record(method)
    assert (stats.reads, stats.writes) == (3, 4)
    assert stats.line() == "HTTP requests: 7 (3 reads, 4 writes)"


def test_no_request_is_lost_when_threads_count_at_once() -> None:
    stats = RequestStats()
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible, to expose a lost update
    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: [stats.record("GET") for _ in range(20_000)], range(8)))
    finally:
        sys.setswitchinterval(switch)
    assert stats.by_method == {"GET": 160_000}


def test_the_first_request_is_logged_with_its_monotonic_time(caplog) -> None:
    stats = RequestStats()
    caplog.set_level(logging.DEBUG, logger="lsts_sync.core.stats")
    before = time.monotonic()
    stats.record("HEAD")
    stats.record("GET")
    (record,) = caplog.records
    assert record.getMessage().startswith("first request (HEAD) at monotonic ")
    at = float(record.getMessage().split(" at monotonic ")[1].split()[0])
    assert before <= at <= time.monotonic()
    assert record.getMessage().endswith(" s of CPU")
