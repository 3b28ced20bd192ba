"""Flattening of recorded annotation JSON, including odd shapes (no servers)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from lsts_sync.export import flatten, outputs_for, regions_frame, source_file, write_local
from lsts_sync.models import ExportSpec, ProjectSpec
from lsts_sync.errors import LstsError
from lsts_sync.schema import spec_schema


def region(start, end, *labels, instant=None, kind="timeserieslabels"):
    value = {"start": start, "end": end, "timeserieslabels": list(labels)}
    if instant is not None:
        value["instant"] = instant
    return {"from_name": "label", "to_name": "ts", "type": kind, "value": value}


def task(tid, key, *annotations):
    return {"id": tid, "data": {"csv": f"s3://b/{key}"}, "annotations": list(annotations), "drafts": [{"result": [region("x", "y", "Draft")]}]}


def ann(aid, updated, *result, cancelled=False, who=1):
    return {"id": aid, "updated_at": updated, "completed_by": who, "was_cancelled": cancelled, "result": list(result)}


TASKS = [
    task(1, "d/a.csv",
         ann(10, "2024-01-01T00:00:00Z", region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")),
         ann(11, "2024-01-02T00:00:00Z", region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly", "Valve"),
             region("2021-01-01 00:05:00", "2021-01-01 00:05:00", "Spike", instant=True))),
    task(2, "d/b.csv", ann(12, "2024-01-03T00:00:00Z", region("2021-01-02 00:00:00", "2021-01-02 01:00:00", "Anomaly"),
                           cancelled=True)),
    task(3, "d/c.csv"),
    task(4, "d/e.csv", ann(13, "2024-01-01T00:00:00Z",
                           {"type": "timeserieslabels"}, {"type": "choices", "value": {"choices": ["x"]}},
                           region("2021-01-03 00:00:00", "2021-01-03 00:01:00"), "not-a-dict",
                           {"type": "timeserieslabels", "value": None},
                           region(None, None, "NoTimes"))),
]


def test_latest_non_cancelled_annotation_one_row_per_label() -> None:
    rows = flatten(TASKS, "p", "latest", {1: "ann@example.com"})
    assert [(r[1], r[3], r[4], r[6], r[7]) for r in rows] == [
        (1, "Anomaly", "2021-01-01 00:30:00", False, 11),
        (1, "Valve", "2021-01-01 00:30:00", False, 11),
        (1, "Spike", "2021-01-01 00:05:00", True, 11),
        (4, "NoTimes", None, False, 13),
    ]
    assert {r[8] for r in rows} == {"ann@example.com"}


def test_all_annotations_and_never_cancelled_or_drafts() -> None:
    rows = flatten(TASKS, "p", "all")
    assert sorted({r[7] for r in rows}) == [10, 11, 13]
    assert "Draft" not in {r[3] for r in rows}


def test_regions_sorted_by_file_start_label() -> None:
    frame = regions_frame(flatten(TASKS[:1], "p"))
    assert list(frame["label"]) == ["Spike", "Anomaly", "Valve"]


def test_empty_export_is_valid_empty_file() -> None:
    frame = regions_frame(flatten([task(1, "a.csv")], "p"))
    assert frame.empty and list(frame.columns)[:3] == ["project", "task_id", "file"]


def test_source_file_from_s3_url_and_fallbacks() -> None:
    assert source_file({"data": {"csv": "s3://bucket/x/y.csv"}}) == "x/y.csv"
    assert source_file({"data": {"csv": "https://h/y.csv"}}) == "https://h/y.csv"
    assert source_file({"data": {}, "storage_filename": "k.csv"}) == "k.csv"


def _specs(**export):
    project = ProjectSpec.model_validate({"kind": "Project", "name": "p", "instance": "i",
                                          "timeseries": {"time_column": "t", "time_format": "%Y-%m-%d %H:%M:%S",
                                                         "channels": [{"column": "v"}]},
                                          "labels": [{"value": "Anomaly"}]})
    return ExportSpec.model_validate({"kind": "Export", "name": "e", "project": "p", "output": "out/l.csv",
                                      **export}), project


def test_lookout_filters_labels_and_reformats_time() -> None:
    export, project = _specs(format="lookout", labels=["Anomaly"], time_format="%Y-%m-%dT%H:%M:%S.%f",
                             split="{stem}-labels.csv")
    outputs = outputs_for(export, project, regions_frame(flatten(TASKS[:1], "p")))
    assert outputs[0].data == b"2021-01-01T00:30:00.000000,2021-01-01T00:40:00.000000\n"
    assert [(o.location, o.rows) for o in outputs] == [("out/l.csv", 1), ("out/a-labels.csv", 1)]


def test_lookout_time_that_does_not_parse_is_an_error() -> None:
    export, project = _specs(format="lookout", time_format="%Y")
    frame = regions_frame(flatten([task(1, "a.csv", ann(1, "u", region("1609459200000", "1609459260000", "A")))], "p"))
    with pytest.raises(LstsError, match="does not match the project's time_format"):
        outputs_for(export, project, frame)


def test_numbers_stay_numbers_without_project_time_format() -> None:
    export, project = _specs(format="lookout", time_format="%Y")
    project = project.model_copy(update={"timeseries": project.timeseries.model_copy(update={"time_format": None})})
    frame = regions_frame(flatten([task(1, "a.csv", ann(1, "u", region(5, 7, "A"), region(1.5, 2, "A")))], "p"))
    assert outputs_for(export, project, frame)[0].data == b"1.5,2\n5,7\n"
    assert isinstance(frame, pd.DataFrame)


@pytest.mark.parametrize("older, newer", [
    ("2024-01-01T10:00:00Z", "2024-01-01T10:00:00.5Z"),  # as text, 'Z' sorts after '.'
    ("2024-01-01T11:00:00+02:00", "2024-01-01T10:00:00Z"),  # 09:00 UTC is earlier though '11' > '10'
    ("2024-01-01T10:00:00", "2024-01-01T10:00:00.001+00:00"),  # no offset: UTC
])
def test_latest_compares_updated_at_as_times(older: str, newer: str) -> None:
    # the older annotation has the higher id, so the id tie-break cannot hide a wrong comparison
    latest = task(1, "a.csv", ann(2, older, region("1", "2", "Old")), ann(1, newer, region("3", "4", "New")))
    assert [r[3] for r in flatten([latest], "p")] == ["New"]


def test_unreadable_updated_at_loses_to_a_readable_one_and_equal_times_go_by_id() -> None:
    odd = task(1, "a.csv", ann(3, "yesterday", region("1", "2", "Odd")), ann(2, None, region("1", "2", "None")),
               ann(1, "2024-01-01T00:00:00Z", region("1", "2", "Dated")))
    assert [r[3] for r in flatten([odd], "p")] == ["Dated"]
    same = task(1, "a.csv", ann(1, "2024-01-01T02:00:00+02:00", region("1", "2", "One")),
                ann(2, "2024-01-01T00:00:00Z", region("1", "2", "Two")))
    assert [r[3] for r in flatten([same], "p")] == ["Two"]


@pytest.fixture
def not_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is 5 hours behind UTC (exports must not depend on it)."""
    monkeypatch.setenv("TZ", "EST5")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _lookout(target: str, source: str, *regions: dict) -> bytes:
    export, project = _specs(format="lookout", time_format=target)
    ts = project.timeseries.model_copy(update={"time_format": source})
    frame = regions_frame(flatten([task(1, "a.csv", ann(1, "u", *regions))], "p"))
    return outputs_for(export, project.model_copy(update={"timeseries": ts}), frame)[0].data


@pytest.mark.parametrize("target, expected", [
    ("%s", b"1609461000,1609461600\n"),  # d3: whole seconds since the epoch, rounded down
    ("%Q", b"1609461000750,1609461600000\n"),
    ("%L", b"750,000\n"),
    ("%Y-%m-%dT%H:%M:%S.%L", b"2021-01-01T00:30:00.750,2021-01-01T00:40:00.000\n"),
])
def test_lookout_writes_epoch_and_millisecond_formats(target: str, expected: bytes, not_utc: None) -> None:
    regions = region("2021-01-01 00:30:00.750", "2021-01-01 00:40:00.000", "A")
    assert _lookout(target, "%Y-%m-%d %H:%M:%S.%L", regions) == expected


@pytest.mark.parametrize("source, start, end, written", [
    # as the labeling UI writes them (text), or as numbers sent through the API
    ("%s", "1609461000", 1609461600, b"2021-01-01T00:30:00.000,2021-01-01T00:40:00.000\n"),
    ("%Q", 1609461000250, "1609461600000", b"2021-01-01T00:30:00.250,2021-01-01T00:40:00.000\n"),
    ("%s.%L", "1609461000.250", "1609461600.000", b"2021-01-01T00:30:00.250,2021-01-01T00:40:00.000\n"),
])
def test_lookout_reads_epoch_and_millisecond_project_formats(source: str, start: object, end: object,
                                                             written: bytes) -> None:
    assert _lookout("%Y-%m-%dT%H:%M:%S.%L", source, region(start, end, "A")) == written


def test_split_refuses_two_source_files_with_one_output_name() -> None:
    export, project = _specs(split="{stem}-labels.csv")
    tasks = [task(1, "site-a/pump.csv", ann(1, "u", region("1", "2", "A"))),
             task(2, "site-b/pump.csv", ann(2, "u", region("3", "4", "A")))]
    with pytest.raises(LstsError) as caught:
        outputs_for(export, project, regions_frame(flatten(tasks, "p")))
    assert str(caught.value) == ("export e: split '{stem}-labels.csv' would write both site-a/pump.csv and "
                                 "site-b/pump.csv to out/pump-labels.csv, one over the other")


def test_split_refuses_a_file_named_like_the_main_output() -> None:
    export, project = _specs(split="{file}")
    frame = regions_frame(flatten([task(1, "d/l.csv", ann(1, "u", region("1", "2", "A")))], "p"))
    with pytest.raises(LstsError, match="would write d/l.csv to the export's own output out/l.csv"):
        outputs_for(export, project, frame)


def test_local_outputs_are_readable_by_all_and_replace_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "new" / "labels.csv"
    write_local(str(target), b"old\n")
    os.chmod(target, 0o600)
    write_local(str(target), b"new\n")
    assert target.read_bytes() == b"new\n"
    assert target.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in target.parent.iterdir()] == ["labels.csv"]  # no temporary file left


def test_schema_says_lookout_is_legacy_and_table_is_the_interval_list() -> None:
    described = spec_schema()["$defs"]["ExportSpec"]["properties"]["format"]["description"]
    assert "table: the interval list" in described
    assert "lookout (legacy)" in described and "ended on 7 October 2026" in described


def test_schema_describes_dense_its_label_column_and_parquet() -> None:
    properties = spec_schema()["$defs"]["ExportSpec"]["properties"]
    assert properties["format"]["enum"] == ["table", "dense", "lookout"]
    described = properties["format"]["description"]
    assert "dense: the rows of every source file with a counted annotation" in described
    assert "joined with '|'" in described and "the union of every annotator's labels" in described
    assert "ending in .parquet is written as Parquet" in described


def test_table_parquet_writes_a_column_of_mixed_types_as_text() -> None:
    pytest.importorskip("pyarrow")
    rows = flatten([task(1, "d/a.csv", ann(10, "2024-01-01T00:00:00Z", region(5, 6, "A"))),
                    task(2, "d/b.csv", ann(11, "2024-01-01T00:00:00Z", region("7", "8", "A")))], "p")
    export, project = _specs(output="out/regions.parquet")
    (output,) = outputs_for(export, project, regions_frame(rows))
    frame = pd.read_parquet(io.BytesIO(output.data))
    assert list(frame["start"]) == ["5", "7"] and list(frame["task_id"]) == [1, 2]
    assert list(frame.columns) == ["project", "task_id", "file", "label", "start", "end", "instant", "annotation_id",
                                   "annotator", "updated_at"]


def test_read_annotations_pauses_the_collector_and_restores_it_even_on_a_fault() -> None:
    import gc

    from lsts_sync.export import read_annotations

    seen = []

    def tasks():
        seen.append(gc.isenabled())
        yield TASKS[0]
        raise LstsError("the stream broke")

    assert gc.isenabled()
    with pytest.raises(LstsError):
        read_annotations(tasks(), "p", "latest", {})
    assert seen == [False] and gc.isenabled()
    gc.disable()
    try:
        found = read_annotations(iter(TASKS), "p", "latest", {})
        assert not gc.isenabled()
    finally:
        gc.enable()
    assert dict(found.files) == {"d/a.csv": "b", "d/e.csv": "b"}  # d/b.csv has only a cancelled annotation
