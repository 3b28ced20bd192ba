"""Labels of window tasks on the original objects: keys mapped back, the window kept in its own
column, and same-label regions of neighbouring windows that overlap or touch joined into one."""

from __future__ import annotations

import pandas as pd

from lsts_sync.labels.annotations import COLUMNS, Annotations
from lsts_sync.labels.dense import Times
from lsts_sync.labels.windowed import merge_overlaps, unwindow
from lsts_sync.spec.models import ProjectSpec

FOLDER = ".lsts-sync/windows/team/w/"
PROJECT = ProjectSpec(kind="Project", name="w", instance="local",
                      source={"bucket": "data", "prefix": "raw/", "window": {"duration": "6h", "overlap": "10m"}},
                      timeseries={"time_column": "t", "time_format": "%Y-%m-%d %H:%M:%S", "channels": [{"column": "v"}]},
                      labels=[{"value": "A"}, {"value": "B"}])


def row(window: str, label: str, start: str, end: str, task: int, who: str = "ann@x") -> tuple:
    return ("w", task, f"{FOLDER}raw/a.csv/{window}.csv", label, f"2026-01-01 {start}", f"2026-01-01 {end}", False,
            task * 10, who, f"2026-01-02T00:00:0{task}Z")


def annotations(*rows: tuple) -> Annotations:
    frame = pd.DataFrame(list(rows), columns=COLUMNS)
    return Annotations(frame, {k: "data" for k in frame["file"]})


def test_regions_map_to_the_original_key_with_the_window_in_a_column() -> None:
    out = unwindow(annotations(row("20260101T000000Z", "A", "01:00:00", "02:00:00", 1)), PROJECT, "team", Times(PROJECT))
    assert out.regions[["file", "window", "start", "end"]].values.tolist() == [
        ["raw/a.csv", f"{FOLDER}raw/a.csv/20260101T000000Z.csv", "2026-01-01 01:00:00", "2026-01-01 02:00:00"]]
    assert list(out.regions.columns) == ["project", "task_id", "file", "window", *COLUMNS[3:]]
    assert dict(out.files) == {"raw/a.csv": "data"}


def test_an_event_drawn_in_both_windows_of_an_overlap_becomes_one_interval() -> None:
    out = unwindow(annotations(row("20260101T000000Z", "A", "05:55:00", "06:10:00", 1, "a@x"),
                               row("20260101T060000Z", "A", "06:00:00", "06:20:00", 2, "b@x")),
                   PROJECT, "team", Times(PROJECT)).regions
    assert out[["start", "end", "task_id", "annotator"]].values.tolist() == [
        ["2026-01-01 05:55:00", "2026-01-01 06:20:00", 1, "a@x|b@x"]]
    assert out["window"][0] == f"{FOLDER}raw/a.csv/20260101T000000Z.csv|{FOLDER}raw/a.csv/20260101T060000Z.csv"


def test_touching_regions_join_but_gaps_other_labels_and_one_windows_regions_do_not() -> None:
    found = unwindow(annotations(row("20260101T000000Z", "A", "04:00:00", "04:10:00", 1),  # a gap to the next
                                 row("20260101T000000Z", "A", "05:50:00", "06:00:00", 1),
                                 row("20260101T060000Z", "A", "06:00:00", "06:05:00", 2),  # touches: joined
                                 row("20260101T060000Z", "B", "06:01:00", "06:02:00", 2),  # another label
                                 row("20260101T000000Z", "A", "07:00:00", "07:10:00", 1),  # a gap
                                 row("20260101T000000Z", "A", "07:05:00", "07:20:00", 3)),  # same window: apart
                     PROJECT, "team", Times(PROJECT)).regions
    assert found[["label", "start", "end"]].values.tolist() == [
        ["A", "2026-01-01 04:00:00", "2026-01-01 04:10:00"],
        ["A", "2026-01-01 05:50:00", "2026-01-01 06:05:00"],
        ["B", "2026-01-01 06:01:00", "2026-01-01 06:02:00"],
        ["A", "2026-01-01 07:00:00", "2026-01-01 07:10:00"],
        ["A", "2026-01-01 07:05:00", "2026-01-01 07:20:00"]]


def test_no_regions_stay_no_regions() -> None:
    empty = pd.DataFrame(columns=[*COLUMNS[:3], "window", *COLUMNS[3:]])
    assert merge_overlaps(empty, Times(PROJECT)).empty
