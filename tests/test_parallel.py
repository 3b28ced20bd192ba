"""bounded_map: results in input order, the concurrency bound, deterministic failures."""

from __future__ import annotations

import threading
import time

import pytest

from lsts_sync.core.parallel import bounded_map


class Meter:
    """Counts how many calls run at once; a Barrier of ``meet`` makes that many meet each round."""

    def __init__(self, meet: int) -> None:
        self.lock = threading.Lock()
        self.active = self.peak = 0
        self.barrier = threading.Barrier(meet, timeout=5)

    def __call__(self, item: int) -> int:
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.barrier.wait()  # raises BrokenBarrierError unless ``meet`` calls run at the same time
        time.sleep(0.02)  # stay active, so that a call past the bound would be seen
        with self.lock:
            self.active -= 1
        return item * item


def test_results_keep_the_order_of_the_items_whatever_finishes_first() -> None:
    def slow_first(item: int) -> int:
        time.sleep(0.05 if item == 0 else 0.0)
        return item * 10

    assert bounded_map(slow_first, range(6), 4) == [0, 10, 20, 30, 40, 50]


def test_exactly_limit_calls_run_at_once() -> None:
    meter = Meter(meet=4)
    assert bounded_map(meter, range(12), 4) == [i * i for i in range(12)]
    assert meter.peak == 4


def test_limit_one_runs_in_the_callers_thread_in_order() -> None:
    seen: list[tuple[int, str]] = []
    bounded_map(lambda i: seen.append((i, threading.current_thread().name)), range(3), 1)
    assert seen == [(i, threading.current_thread().name) for i in range(3)]


def test_the_first_failure_in_input_order_is_raised_and_later_calls_are_cancelled() -> None:
    started: list[int] = []

    def read(item: int) -> int:
        started.append(item)
        if item == 1:
            time.sleep(0.05)
            raise ValueError("one")
        if item == 2:
            raise KeyError("two")  # fails first in time, but comes after item 1
        time.sleep(0.2)
        return item

    with pytest.raises(ValueError, match="one"):
        bounded_map(read, range(40), 3)
    assert len(started) < 40


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        bounded_map(str, [1, 2], 0)
