"""bench/run.py without servers: one failing part does not lose the figures of the others."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench" / "run.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_run", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", module)
    spec.loader.exec_module(module)
    return module


def test_a_failing_part_is_recorded_and_the_others_still_run() -> None:
    def broken() -> dict:
        raise SystemExit("apply failed:\nsome output")

    results, failed = _bench().run_parts([("a", lambda: {"s": 1.0}), ("b", broken), ("c", lambda: {"s": 2.0})])
    assert failed == ["b"]
    assert results == {"a": {"s": 1.0}, "b": {"failed": "SystemExit: apply failed: some output"}, "c": {"s": 2.0}}
