"""Flattening of recorded annotation JSON, including odd shapes (no servers)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.annotations import outputs_for, read_annotations, source_file, task_rows, write_local
from lsts_sync.spec.models import ExportSpec, ProjectSpec
from lsts_sync.spec.schema import spec_schema


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


def rows_of(tasks: list[dict], project: str, which: str = "latest", users: dict[int, str] | None = None) -> list[tuple]:
    """One row per label of every region of ``tasks``, in ``COLUMNS`` order (as the export reads them)."""
    return [row for t in tasks for row in task_rows(t, project, which, users or {})]


def frame_of(tasks: list[dict], project: str, which: str = "latest", users: dict[int, str] | None = None):
    """The regions frame the export builds from ``tasks`` (sorted by file, start and label)."""
    return read_annotations(tasks, project, which, users or {}).regions


def test_latest_non_cancelled_annotation_one_row_per_label() -> None:
    rows = rows_of(TASKS, "p", "latest", {1: "ann@example.com"})
    assert [(r[1], r[3], r[4], r[6], r[7]) for r in rows] == [
        (1, "Anomaly", "2021-01-01 00:30:00", False, 11),
        (1, "Valve", "2021-01-01 00:30:00", False, 11),
        (1, "Spike", "2021-01-01 00:05:00", True, 11),
        (4, "NoTimes", None, False, 13),
    ]
    assert {r[8] for r in rows} == {"ann@example.com"}


def test_all_annotations_and_never_cancelled_or_drafts() -> None:
    rows = rows_of(TASKS, "p", "all")
    assert sorted({r[7] for r in rows}) == [10, 11, 13]
    assert "Draft" not in {r[3] for r in rows}


def test_regions_sorted_by_file_start_label() -> None:
    frame = frame_of(TASKS[:1], "p")
    assert list(frame["label"]) == ["Spike", "Anomaly", "Valve"]


def test_empty_export_is_valid_empty_file() -> None:
    frame = frame_of([task(1, "a.csv")], "p")
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
    outputs = outputs_for(export, project, frame_of(TASKS[:1], "p"))
    assert outputs[0].data == b"2021-01-01T00:30:00.000000,2021-01-01T00:40:00.000000\n"
    assert [(o.location, o.rows) for o in outputs] == [("out/l.csv", 1), ("out/a-labels.csv", 1)]


def test_lookout_time_that_does_not_parse_is_an_error() -> None:
    export, project = _specs(format="lookout", time_format="%Y")
    frame = frame_of([task(1, "a.csv", ann(1, "u", region("1609459200000", "1609459260000", "A")))], "p")
    with pytest.raises(LstsError, match="does not match the project's time_format"):
        outputs_for(export, project, frame)


def test_numbers_stay_numbers_without_project_time_format() -> None:
    export, project = _specs(format="lookout", time_format="%Y")
    project = project.model_copy(update={"timeseries": project.timeseries.model_copy(update={"time_format": None})})
    frame = frame_of([task(1, "a.csv", ann(1, "u", region(5, 7, "A"), region(1.5, 2, "A")))], "p")
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
    assert [r[3] for r in rows_of([latest], "p")] == ["New"]


def test_unreadable_updated_at_loses_to_a_readable_one_and_equal_times_go_by_id() -> None:
    odd = task(1, "a.csv", ann(3, "yesterday", region("1", "2", "Odd")), ann(2, None, region("1", "2", "None")),
               ann(1, "2024-01-01T00:00:00Z", region("1", "2", "Dated")))
    assert [r[3] for r in rows_of([odd], "p")] == ["Dated"]
    same = task(1, "a.csv", ann(1, "2024-01-01T02:00:00+02:00", region("1", "2", "One")),
                ann(2, "2024-01-01T00:00:00Z", region("1", "2", "Two")))
    assert [r[3] for r in rows_of([same], "p")] == ["Two"]


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
    frame = frame_of([task(1, "a.csv", ann(1, "u", *regions))], "p")
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
        outputs_for(export, project, frame_of(tasks, "p"))
    assert str(caught.value) == ("export e: split '{stem}-labels.csv' would write both site-a/pump.csv and "
                                 "site-b/pump.csv to out/pump-labels.csv, one over the other")


def test_split_refuses_a_file_named_like_the_main_output() -> None:
    export, project = _specs(split="{file}")
    frame = frame_of([task(1, "d/l.csv", ann(1, "u", region("1", "2", "A")))], "p")
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
    regions = frame_of([task(1, "d/a.csv", ann(10, "2024-01-01T00:00:00Z", region(5, 6, "A"))),
                        task(2, "d/b.csv", ann(11, "2024-01-01T00:00:00Z", region("7", "8", "A")))], "p")
    export, project = _specs(output="out/regions.parquet")
    (output,) = outputs_for(export, project, regions)
    frame = pd.read_parquet(io.BytesIO(output.data))
    assert list(frame["start"]) == ["5", "7"] and list(frame["task_id"]) == [1, 2]
    assert list(frame.columns) == ["project", "task_id", "file", "label", "start", "end", "instant", "annotation_id",
                                   "annotator", "updated_at"]


def test_read_annotations_pauses_the_collector_and_restores_it_even_on_a_fault() -> None:
    import gc

    from lsts_sync.labels.annotations import read_annotations

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


# -- pinned: source files and buckets, annotators, exact table CSV, split outputs, atomic writes -------

def test_source_file_and_bucket_of_odd_urls() -> None:
    from lsts_sync.labels.annotations import source_bucket

    assert source_file({"data": {"csv": "s3://bucket"}}) == ""  # a bucket without key names no file
    assert source_file({"data": None, "storage_filename": None}) == ""
    assert source_file({"data": {"csv": ""}, "storage_filename": "k.csv"}) == "k.csv"
    assert source_bucket({"data": {"csv": "s3://bucket/x/y.csv"}}) == "bucket"
    assert source_bucket({"data": {"csv": "s3:///y.csv"}}) is None
    assert source_bucket({"data": {"csv": "s3://bucket"}}) is None
    assert source_bucket({"data": {"csv": "https://h/y.csv"}, "storage_filename": "s3://b/k"}) is None
    assert source_bucket({"data": None}) is None


@pytest.mark.parametrize("who, expected", [
    ({"id": 3, "email": "a@example.com"}, "a@example.com"),
    ({"id": 3, "email": ""}, "3"),
    ({}, ""),
    (1, "ann@example.com"),
    (2, "2"),
    (None, ""),
])
def test_the_annotator_is_the_email_else_the_user_id(who: object, expected: str) -> None:
    rows = rows_of([task(1, "a.csv", ann(7, "u", region("1", "2", "A"), who=who))], "p", users={1: "ann@example.com"})
    assert [r[8] for r in rows] == [expected]


def test_a_table_export_writes_every_column_in_order_with_a_header() -> None:
    export, project = _specs()
    tasks = [task(1, "d/a.csv", ann(10, "2024-01-02T00:00:00Z", region("2", "3", "Anomaly"),
                                    region("1", "1", "Spike"))),
             task(2, "d/b.csv", ann(11, "2024-01-03T00:00:00Z", region("0", "5", "Anomaly")))]
    (output,) = outputs_for(export, project, frame_of(tasks, "p", users={1: "ann@example.com"}))
    assert output.location == "out/l.csv" and output.rows == 3
    assert output.data.decode() == (
        "project,task_id,file,label,start,end,instant,annotation_id,annotator,updated_at\n"
        "p,1,d/a.csv,Spike,1,1,True,10,ann@example.com,2024-01-02T00:00:00Z\n"
        "p,1,d/a.csv,Anomaly,2,3,False,10,ann@example.com,2024-01-02T00:00:00Z\n"
        "p,2,d/b.csv,Anomaly,0,5,False,11,ann@example.com,2024-01-03T00:00:00Z\n")


def test_a_table_export_keeps_only_its_labels_and_splits_per_source_file() -> None:
    export, project = _specs(labels=["Anomaly"], split="{stem}.labels.csv", output="labels.csv")
    tasks = [task(1, "d/b.csv", ann(10, "u", region("2", "3", "Anomaly"), region("1", "1", "Spike"))),
             task(2, "d/a.csv", ann(11, "u", region("0", "5", "Anomaly"), region("6", "7", "Anomaly")))]
    outputs = outputs_for(export, project, frame_of(tasks, "p"))
    assert [(o.location, o.rows) for o in outputs] == [("labels.csv", 3), ("a.labels.csv", 2), ("b.labels.csv", 1)]
    body = pd.read_csv(io.BytesIO(outputs[1].data))
    assert list(body["start"]) == [0, 6] and set(body["file"]) == {"d/a.csv"}
    assert pd.read_csv(io.BytesIO(outputs[2].data))["task_id"].tolist() == [1]


def test_without_split_there_is_only_the_main_output() -> None:
    export, project = _specs()
    frame = frame_of([task(1, "d/a.csv", ann(1, "u", region("1", "2", "A"))),
                                   task(2, "d/b.csv", ann(2, "u", region("1", "2", "A")))], "p")
    assert [o.location for o in outputs_for(export, project, frame)] == ["out/l.csv"]


def test_a_local_write_that_fails_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "a" / "b" / "labels.csv"

    def refuse(src: str, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OSError, match="disk full"):
        write_local(str(target), b"new\n")
    assert list(target.parent.iterdir()) == []


def test_split_outputs_go_in_the_folder_of_a_nested_main_output_with_exactly_its_columns() -> None:
    from lsts_sync.labels.annotations import COLUMNS

    export, project = _specs(split="{stem}.csv", output="out/sub/labels.csv")
    frame = frame_of([task(1, "d/a.csv", ann(1, "u", region("1", "2", "A"))),
                                   task(2, "d/b.csv", ann(2, "u", region("1", "2", "A")))], "p")
    outputs = outputs_for(export, project, frame)
    assert [o.location for o in outputs] == ["out/sub/labels.csv", "out/sub/a.csv", "out/sub/b.csv"]
    assert [list(pd.read_csv(io.BytesIO(o.data)).columns) for o in outputs] == [COLUMNS] * 3


def test_a_lookout_parquet_names_its_reformatted_columns_start_and_end() -> None:
    pytest.importorskip("pyarrow")
    export, project = _specs(format="lookout", time_format="%Y-%m-%dT%H:%M:%S", output="out/l.parquet")
    frame = frame_of([task(1, "a.csv", ann(1, "u", region("2021-01-01 00:10:00", "2021-01-01 00:20:00",
                                                                       "A")))], "p")
    (output,) = outputs_for(export, project, frame)
    assert pd.read_parquet(io.BytesIO(output.data)).to_dict("list") == {
        "start": ["2021-01-01T00:10:00"], "end": ["2021-01-01T00:20:00"]}


@pytest.mark.parametrize("bad", ["start", "end"])
def test_a_lookout_time_that_does_not_parse_names_the_export_and_the_value(bad: str) -> None:
    export, project = _specs(format="lookout", time_format="%Y")
    bounds = {"start": "2021-01-01 00:10:00", "end": "2021-01-01 00:20:00", bad: "soon"}
    frame = frame_of([task(1, "a.csv", ann(1, "u", region(bounds["start"], bounds["end"], "A")))], "p")
    with pytest.raises(LstsError) as raised:
        outputs_for(export, project, frame)
    assert str(raised.value) == "export e: time 'soon' does not match the project's time_format '%Y-%m-%d %H:%M:%S'"


def test_a_parquet_keeps_missing_values_missing_and_writes_no_index_column() -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    from lsts_sync.labels.annotations import to_parquet

    frame = pd.DataFrame({"start": pd.Series([5, "x", None], dtype=object)})
    data = to_parquet(frame)
    assert pq.read_schema(io.BytesIO(data)).names == ["start"]
    assert pq.read_table(io.BytesIO(data)).column("start").to_pylist() == ["5", "x", None]


def test_a_local_write_goes_through_a_hidden_temporary_file_beside_the_target(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "labels.csv"
    moves: list[tuple[str, object]] = []
    real_replace = os.replace

    def recording(src: str, dst: object) -> None:
        moves.append((src, dst))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", recording)
    write_local(str(target), b"new\n")
    ((src, dst),) = moves
    assert Path(src).parent == tmp_path and Path(src).name.startswith(".labels.csv.") and dst == target


def test_an_s3_url_with_an_empty_bucket_still_names_its_file() -> None:
    assert source_file({"data": {"csv": "s3:///k.csv"}}) == "k.csv"


def test_equal_update_times_prefer_an_annotation_with_an_id_over_one_without() -> None:
    no_id = {**ann(None, "2024-01-01T00:00:00Z", region("1", "2", "NoId")), "id": None}
    with_id = ann(1, "2024-01-01T00:00:00Z", region("1", "2", "WithId"))
    assert [r[3] for r in rows_of([task(1, "a.csv", no_id, with_id)], "p")] == ["WithId"]


def test_an_explicit_instant_flag_wins_over_equal_or_different_bounds() -> None:
    rows = rows_of([task(1, "a.csv", ann(1, "u", region("1", "1", "Same", instant=False),
                                         region("1", "2", "Apart", instant=True)))], "p")
    assert [(r[3], r[6]) for r in rows] == [("Same", False), ("Apart", True)]


def test_numeric_starts_sort_as_numbers_and_keep_their_type() -> None:
    from lsts_sync.labels.annotations import read_annotations

    tasks = [task(1, "a.csv", ann(1, "u", region(10, 11, "A"), region(9, 12, "A")))]
    frame = read_annotations(tasks, "p", "latest", {}).regions
    assert frame["start"].tolist() == [9, 10] and frame["end"].tolist() == [12, 11]
    with_missing = read_annotations([task(1, "a.csv", ann(1, "u", region(5, 6, "A"), region(None, None, "B")))],
                                    "p", "latest", {}).regions
    assert [type(v) for v in with_missing["start"]] == [int, type(None)]  # 5 stays 5, not 5.0
    export, project = _specs(labels=["A"])
    (output,) = outputs_for(export, project, frame)
    assert list(pd.read_csv(io.BytesIO(output.data)).columns) == [
        "project", "task_id", "file", "label", "start", "end", "instant", "annotation_id", "annotator", "updated_at"]


@pytest.mark.parametrize("folder", ["s3://lsts-demo/labels/split/", "out/split/"])
def test_an_output_folder_takes_the_split_files_and_no_file_of_its_own(folder: str) -> None:
    export, project = _specs(split="{stem}-labels.csv", output=folder)
    outputs = outputs_for(export, project, frame_of([task(1, "d/a.csv", ann(1, "u", region("1", "2", "A")))], "p"))
    assert [(o.location, o.rows) for o in outputs] == [(folder + "a-labels.csv", 1)]
    assert export.output_bucket == ("lsts-demo" if folder.startswith("s3://") else None)


def test_a_time_past_year_9999_is_one_line_naming_the_export() -> None:
    with pytest.raises(LstsError) as raised:
        _lookout("%Y-%m-%dT%H:%M:%S", "%s", region("1600000000000", "1600000000001", "A"))
    assert str(raised.value) == ("export e: time 1600000000000000 ms since 1970 is outside years 1 to 9999, which "
                                 "lsts-sync cannot write with '%Y-%m-%dT%H:%M:%S' (milliseconds in a %s column? use %Q)")


# -- region and task fields ------------------------------------------------------------------------

def field(ident, name, kind, value, start="2021-01-01 00:10:00", end="2021-01-01 00:20:00"):
    """A field's result: per region (``start``/``end`` and the region's ``id``) or for the task."""
    body = {kind: value} if start is None else {"start": start, "end": end, kind: value}
    return {"id": ident, "from_name": name, "to_name": "ts", "type": kind if kind != "text" else "textarea",
            "value": body}


def with_id(ident, result):
    return {**result, "id": ident}


FIELDS_PROJECT = ProjectSpec.model_validate({
    "kind": "Project", "name": "p", "instance": "local", "labels": [{"value": "Anomaly"}],
    "timeseries": {"time_column": "t", "channels": [{"column": "v"}]},
    "region_fields": [{"name": "severity", "type": "choices", "values": ["low", "high"]},
                      {"name": "fault_code", "type": "text"}, {"name": "confidence", "type": "number"}],
    "task_fields": [{"name": "quality", "type": "choices", "values": ["good", "noisy"]}]})
FIELD_TASKS = [task(1, "d/a.csv", ann(
    10, "2024-01-01T00:00:00Z",
    with_id("r1", region("2021-01-01 00:10:00", "2021-01-01 00:20:00", "Anomaly")),
    field("r1", "severity", "choices", ["high"]), field("r1", "fault_code", "text", ["F-12"]),
    field("r1", "confidence", "number", 0.75),
    with_id("r2", region("2021-01-01 00:30:00", "2021-01-01 00:40:00", "Anomaly")),
    field("r2", "severity", "choices", ["low"], "2021-01-01 00:30:00", "2021-01-01 00:40:00"),
    field("q", "quality", "choices", ["good"], None),
    field("r1", "undeclared", "choices", ["x"])))]


def test_table_has_a_column_per_field_with_each_regions_own_values_and_the_tasks_on_every_row() -> None:
    from lsts_sync.labels.annotations import COLUMNS, Fields

    frame = read_annotations(FIELD_TASKS, "p", "latest", {}, Fields.of(FIELDS_PROJECT)).regions
    assert list(frame.columns) == [*COLUMNS, "severity", "fault_code", "confidence", "quality"]
    assert frame[["start", "severity", "fault_code", "confidence", "quality"]].values.tolist() == [
        ["2021-01-01 00:10:00", "high", "F-12", 0.75, "good"],
        ["2021-01-01 00:30:00", "low", None, None, "good"]]
    header = outputs_for(ExportSpec(kind="Export", name="e", project="p", output="o.csv"), FIELDS_PROJECT,
                         frame)[0].data.decode().splitlines()
    assert header[0].endswith(",updated_at,severity,fault_code,confidence,quality")
    assert header[1].endswith(",high,F-12,0.75,good") and header[2].endswith(",low,,,good")


def test_without_fields_the_table_keeps_its_columns_and_ignores_field_results() -> None:
    from lsts_sync.labels.annotations import COLUMNS

    frame = read_annotations(FIELD_TASKS, "p", "latest", {}).regions
    assert list(frame.columns) == COLUMNS and len(frame) == 2


def test_field_values_of_odd_shapes() -> None:
    from lsts_sync.labels.annotations import field_value

    assert field_value({"choices": ["a", "b"]}) == "a|b" and field_value({"text": ["x", "y"]}) == "x\ny"
    assert field_value({"number": 3}) == 3 and field_value({"choices": []}) is None and field_value({}) is None
