"""bench/run.py without servers: one failing part does not lose the figures of the others; the pure
helpers of bench/page.py (the labeling-page timing)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _load(name: str, file: str):
    spec = importlib.util.spec_from_file_location(name, BENCH / file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(name, module)
    spec.loader.exec_module(module)
    return module


def _bench():
    return _load("bench_run", "run.py")


def _page():
    return _load("bench_page", "page.py")


def test_a_failing_part_is_recorded_and_the_others_still_run() -> None:
    def broken() -> dict:
        raise SystemExit("apply failed:\nsome output")

    results, failed = _bench().run_parts([("a", lambda: {"s": 1.0}), ("b", broken), ("c", lambda: {"s": 2.0})])
    assert failed == ["b"]
    assert results == {"a": {"s": 1.0}, "b": {"failed": "SystemExit: apply failed: some output"}, "c": {"s": 2.0}}


def test_descendants_are_every_process_below_the_root_and_nothing_else() -> None:
    # 1 -> python 10 -> node 11 -> chromium 12 -> zygote 13 -> renderers 14, 15; 20 is someone else's
    parents = {10: 1, 11: 10, 12: 11, 13: 12, 14: 13, 15: 13, 20: 1, 21: 20}
    assert _page().descendants(parents, 10) == {11, 12, 13, 14, 15}
    assert _page().descendants(parents, 13) == {14, 15}
    assert _page().descendants(parents, 15) == set()


def test_the_summary_gives_the_ratio_when_both_drew_and_says_so_when_the_whole_object_never_did() -> None:
    page = _page()
    window = {"outcome": "drawn", "drawn_s": 7.5}
    both = page.summary(window, {"outcome": "drawn", "drawn_s": 60.0})
    assert both == {"whole_vs_window": 8.0, "line": "whole object: 60.0 s; one window: 7.5 s (8.0x)"}
    capped = page.summary(window, {"outcome": "timeout", "drawn_s": None}, cap_s=120)
    assert capped == {"whole_vs_window": None, "line": "whole object: did not draw within 120 s; one window: 7.5 s"}
    broken = page.summary(window, {"outcome": "error: timeColumn (timestamp) cannot be parsed", "drawn_s": None})
    assert broken["whole_vs_window"] is None
    assert broken["line"].startswith("whole object: error: timeColumn (timestamp) cannot be parsed;")


def test_the_page_specs_are_one_project_without_a_window_and_one_with_6h_windows(tmp_path) -> None:
    from lsts_sync.spec.loader import load_specs

    (tmp_path / "specs.yaml").write_text(_page().spec_text("lsts-bench-page-1", "page-whole-1", "page-window-1"))
    env = {"LABEL_STUDIO_URL": "http://127.0.0.1:8080", "LABEL_STUDIO_API_KEY": "x", "S3_ENDPOINT_URL": ""}
    specs, problems = load_specs([str(tmp_path)], env=env)
    assert [p for p in problems if p.severity == "error"] == []
    whole, windowed = specs.projects["page-whole-1"], specs.projects["page-window-1"]
    assert whole.source.window is None
    assert (windowed.source.window.duration, windowed.source.window.overlap) == ("6h", "10m")
    assert [c.column for c in whole.timeseries.channels] == ["vibration", "temperature", "pressure", "flow"]
    assert whole.timeseries.channels == windowed.timeseries.channels


def test_a_chart_first_seen_after_the_cap_counts_as_not_drawn_and_a_crash_wins() -> None:
    page = _page()
    assert page.verdict("drawn", 119.9, 120, crashed=False) == "drawn"
    assert page.verdict("drawn", 121.0, 120, crashed=False) == "timeout"  # the wait returned late: too late
    assert page.verdict("error: cannot be parsed", 130.0, 120, crashed=False) == "error: cannot be parsed"
    assert page.verdict("timeout", 120.5, 120, crashed=True) == "crashed"
