"""The dense export: hand-computed rows (overlaps, instants, closed ends, empty rows), the CSV read as
the labeling UI reads it, split and the file column, the labels filter, annotations: all, Parquet."""

from __future__ import annotations

import io
import threading

import numpy as np
import pandas as pd
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.labels.annotations import read_annotations
from lsts_sync.labels.dense import dense_frame, dense_outputs, row_labels
from lsts_sync.spec.models import ExportSpec, ProjectSpec

CSV = """timestamp,Vibration,temperature
2021-01-01 00:00:00,1.0,40
2021-01-01 00:01:00,1.50,41
2021-01-01 00:02:00,2.0,42
2021-01-01 00:03:00,2.5,43
2021-01-01 00:04:00,3.0,44
2021-01-01 00:05:00,3.5,45
"""


def project(time_format: str | None = "%Y-%m-%d %H:%M:%S", sep: str = ",") -> ProjectSpec:
    return ProjectSpec(kind="Project", name="pump", instance="local", labels=[{"value": "Anomaly"}],
                       timeseries={"time_column": "Timestamp", "time_format": time_format, "sep": sep,
                                   "channels": [{"column": "vibration"}]})


def regions(*items: tuple) -> pd.DataFrame:
    return pd.DataFrame(list(items), columns=["label", "start", "end"], dtype=object)


def t(minute: int, second: int = 0) -> str:
    return f"2021-01-01 00:{minute:02d}:{second:02d}"


def labels_of(text: str, found: pd.DataFrame, spec: ProjectSpec | None = None) -> list[str]:
    return list(dense_frame(text, found, spec or project(), "f.csv").frame["label"])


def test_hand_computed_rows_overlap_instant_closed_ends_and_empty_rows() -> None:
    dense = dense_frame(CSV, regions(("Anomaly", t(1), t(3)), ("Maintenance", t(3), t(4)), ("Spike", t(5), t(5)),
                                     ("Spike", t(5, 30), t(5, 30))), project(), "f.csv")
    assert dense.frame.to_csv(index=False, lineterminator="\n") == """timestamp,Vibration,temperature,label
2021-01-01 00:00:00,1.0,40,
2021-01-01 00:01:00,1.50,41,Anomaly
2021-01-01 00:02:00,2.0,42,Anomaly
2021-01-01 00:03:00,2.5,43,Anomaly|Maintenance
2021-01-01 00:04:00,3.0,44,Maintenance
2021-01-01 00:05:00,3.5,45,Spike
"""
    assert dense.uncovered == ("Spike 2021-01-01 00:05:30..2021-01-01 00:05:30",)  # between rows: it labels none


def test_a_label_is_written_once_and_labels_are_joined_in_sorted_order() -> None:
    found = regions(("Valve", t(0), t(2)), ("Anomaly", t(1), t(1)), ("Valve", t(1), t(5)), ("Anomaly", t(2), t(2)))
    assert labels_of(CSV, found) == ["Valve", "Anomaly|Valve", "Anomaly|Valve", "Valve", "Valve", "Valve"]


def test_regions_are_compared_as_times_not_text() -> None:
    # the same moments written without zero padding (d3 reads them) and a region given end first
    found = regions(("A", "2021-1-1 0:1:0", "2021-1-1 0:2:0"), ("B", t(5), t(4)))
    assert labels_of(CSV, found) == ["", "A", "A", "", "B", "B"]


def test_rows_in_any_order_and_rows_whose_time_does_not_parse() -> None:
    text = "timestamp,v\n2021-01-01 00:03:00,1\n2021-01-01 00:01:00,2\nnot a time,3\n2021-01-01 00:02:00,4\n"
    assert labels_of(text, regions(("A", t(2), t(3)))) == ["A", "", "", "A"]


def test_without_a_time_format_times_and_bounds_are_numbers() -> None:
    text = "timestamp,v\n0,1\n5,2\n10,3\n15,4\n"
    assert labels_of(text, regions(("A", 5, 10), ("B", 15, 15)), project(None)) == ["", "A", "A", "B"]


@pytest.mark.parametrize("time_format, cells, bound", [
    ("%s", ["1609459200", "1609459260", "1609459320"], ("1609459260", "1609459320")),
    ("%Y-%m-%dT%H:%M:%S.%L+00:00", ["2021-01-01T00:00:00.000+00:00", "2021-01-01T00:00:00.500+00:00",
                                    "2021-01-01T00:00:01.000+00:00"], ("2021-01-01T00:00:00.5+00:00",
                                                                         "2021-01-01T00:00:01.000+00:00")),
    ("%d/%m/%Y %H:%M", ["1/1/2021 0:00", "1/1/2021 0:01", "1/1/2021 0:02"], ("1/1/2021 0:01", "01/01/2021 00:02")),
])
def test_other_formats_are_read_with_d3_semantics(time_format: str, cells: list[str], bound: tuple) -> None:
    text = "timestamp,v\n" + "".join(f"{c},1\n" for c in cells)
    assert labels_of(text, regions(("A", *bound)), project(time_format)) == ["", "A", "A"]


def test_the_csv_is_read_as_the_labeling_ui_reads_it() -> None:
    """Separator as given, lines trimmed, blank lines skipped, quotes kept in the values, text kept."""
    text = '\ufefftimestamp;v;note\n\n  2021-01-01 00:00:00;"1,5";"a"  \r\n2021-01-01 00:01:00;007;\n\n'
    frame = dense_frame(text, regions(("A", t(1), t(1))), project(sep=";"), "f.csv").frame
    assert frame.to_dict("list") == {"timestamp": ["2021-01-01 00:00:00", "2021-01-01 00:01:00"],
                                     "v": ['"1,5"', "007"], "note": ['"a"', ""], "label": ["", "A"]}


@pytest.mark.parametrize("text, found, message", [
    ("time,v\n1,2\n", regions(), "f.csv: the time column 'Timestamp' is not in the header \\['time', 'v'\\]"),
    ("timestamp,Label\n2021-01-01 00:00:00,x\n", regions(), "f.csv: already has a column 'Label'"),
    (CSV, regions(("A", "yesterday", t(1))), "f.csv: a region's time 'yesterday' does not match the project's "
                                              "time_format '%Y-%m-%d %H:%M:%S'"),
    ("timestamp,v\n2021-01-01 00:00:00,1,2\n", regions(), "f.csv: cannot be read as the labeling UI reads it"),
    ("", regions(), "f.csv: is empty"),
])
def test_what_cannot_be_labeled_is_one_line_naming_the_file(text: str, found: pd.DataFrame, message: str) -> None:
    with pytest.raises(LstsError, match=message):
        dense_frame(text, found, project(), "f.csv")


def test_more_labels_than_fit_in_a_bit_mask() -> None:
    names = [f"L{i:02d}" for i in range(70)]
    times = np.array([0.0, 1.0, 2.0])
    labels, uncovered = row_labels(times, [(n, 1.0, 2.0) for n in names] + [("Z", 2.0, 2.0)])
    assert list(labels) == ["", "|".join(names), "|".join(names + ["Z"])] and uncovered == []


def test_no_rows() -> None:
    labels, uncovered = row_labels(np.array([], dtype="float64"), [("A", 1.0, 2.0)])
    assert list(labels) == [] and uncovered == [0]


# -- outputs: files, split, labels filter, annotations: all, Parquet ---------------------------------

def region(start: str, end: str, *labels: str) -> dict:
    return {"type": "timeserieslabels", "value": {"start": start, "end": end, "timeserieslabels": list(labels)}}


def task(tid: int, url: str, *annotations: dict) -> dict:
    return {"id": tid, "data": {"csv": url}, "annotations": list(annotations)}


def ann(aid: int, updated: str, *result: dict, who: int = 1) -> dict:
    return {"id": aid, "updated_at": updated, "completed_by": who, "result": list(result)}


SMALL = "timestamp,v\n2021-01-01 00:00:00,1\n2021-01-01 00:01:00,2\n2021-01-01 00:02:00,3\n"
TASKS = [
    task(1, "s3://raw/d/a.csv", ann(10, "2024-01-01T00:00:00Z", region(t(0), t(0), "Anomaly")),
         ann(11, "2024-01-02T00:00:00Z", region(t(1), t(2), "Valve"), region(t(2), t(2), "Anomaly"), who=2)),
    task(2, "s3://raw/d/b.csv", ann(12, "2024-01-01T00:00:00Z")),  # an empty annotation: nothing here
    task(3, "s3://raw/d/c.csv"),  # not annotated: not exported
]
FILES = {("raw", "d/a.csv"): SMALL, ("raw", "d/b.csv"): SMALL}


class Reads:
    """A source store: records what was read, from which threads."""

    def __init__(self, files: dict[tuple[str, str], str] = FILES):
        self.files, self.read, self.threads = files, [], set()

    def __call__(self, bucket: str, key: str) -> bytes:
        self.read.append((bucket, key))
        self.threads.add(threading.get_ident())
        return self.files[(bucket, key)].encode()


def export(**fields) -> ExportSpec:
    return ExportSpec(kind="Export", name="e", project="pump", format="dense", **{"output": "out/dense.csv", **fields})


def outputs(spec: ExportSpec, tasks: list[dict] = TASKS, which: str = "latest", reads: Reads | None = None,
            buckets: tuple[str, ...] = ("raw",)) -> dict[str, str | bytes]:
    found = read_annotations(tasks, "pump", which, {})
    lines: list[str] = []
    done = dense_outputs(spec, project(), found, reads or Reads(), buckets, lines.append)
    return {o.location: (o.data if o.location.endswith(".parquet") else o.data.decode()) for o in done}


def test_without_split_one_file_with_a_leading_file_column_for_every_annotated_file() -> None:
    assert outputs(export()) == {"out/dense.csv": """file,timestamp,v,label
d/a.csv,2021-01-01 00:00:00,1,
d/a.csv,2021-01-01 00:01:00,2,Valve
d/a.csv,2021-01-01 00:02:00,3,Anomaly|Valve
d/b.csv,2021-01-01 00:00:00,1,
d/b.csv,2021-01-01 00:01:00,2,
d/b.csv,2021-01-01 00:02:00,3,
"""}


def test_with_split_one_file_per_source_file_without_the_file_column() -> None:
    found = outputs(export(split="{stem}-dense.csv"))
    assert found == {
        "out/a-dense.csv": "timestamp,v,label\n2021-01-01 00:00:00,1,\n2021-01-01 00:01:00,2,Valve\n"
                           "2021-01-01 00:02:00,3,Anomaly|Valve\n",
        "out/b-dense.csv": "timestamp,v,label\n2021-01-01 00:00:00,1,\n2021-01-01 00:01:00,2,\n2021-01-01 00:02:00,3,\n"}


def test_the_labels_filter_applies_and_files_without_those_labels_stay() -> None:
    found = outputs(export(labels=["Anomaly"], split="{stem}.csv"))
    assert found["out/a.csv"].splitlines()[1:] == ["2021-01-01 00:00:00,1,", "2021-01-01 00:01:00,2,",
                                                   "2021-01-01 00:02:00,3,Anomaly"]
    assert set(found) == {"out/a.csv", "out/b.csv"}


def test_annotations_all_combines_every_annotators_labels() -> None:
    found = outputs(export(split="{stem}.csv", annotations="all"), which="all")
    assert found["out/a.csv"].splitlines()[1:] == ["2021-01-01 00:00:00,1,Anomaly", "2021-01-01 00:01:00,2,Valve",
                                                   "2021-01-01 00:02:00,3,Anomaly|Valve"]


def test_source_files_are_read_from_their_bucket_in_parallel() -> None:
    reads = Reads()
    outputs(export(), reads=reads)
    assert sorted(reads.read) == [("raw", "d/a.csv"), ("raw", "d/b.csv")]
    many = {("raw", f"d/{i}.csv"): SMALL for i in range(40)}
    reads = Reads(many)
    outputs(export(), tasks=[task(i, f"s3://raw/d/{i}.csv", ann(i, "2024-01-01T00:00:00Z")) for i in range(40)],
            reads=reads)
    assert len(reads.read) == 40 and len(reads.threads) > 1


@pytest.mark.parametrize("tasks, buckets, message", [
    ([task(1, "https://host/a.csv", ann(1, "2024-01-01T00:00:00Z"))], ("raw",),
     "export e: the task of https://host/a.csv is not an S3 object"),
    (TASKS, ("other",), "export e: s3://raw/d/a.csv is in bucket raw, which no Bucket spec declares"),
])
def test_files_that_cannot_be_read_through_a_bucket_spec_are_refused_before_any_read(tasks, buckets, message) -> None:
    reads = Reads()
    with pytest.raises(LstsError, match=message):
        outputs(export(), tasks=tasks, reads=reads, buckets=buckets)
    assert reads.read == []


def test_regions_that_label_no_row_are_reported() -> None:
    found = read_annotations([task(1, "s3://raw/d/a.csv", ann(1, "2024-01-01T00:00:00Z",
                                                              region("2021-01-01 00:00:30", "2021-01-01 00:00:30", "A")))],
                             "pump", "latest", {})
    lines: list[str] = []
    dense_outputs(export(), project(), found, Reads(), ("raw",), lines.append)
    assert lines == ["Warning: export e: 1 region(s) of s3://raw/d/a.csv label no row (no row time inside them): "
                     "A 2021-01-01 00:00:30..2021-01-01 00:00:30 (annotation 1)"]


def test_parquet_output_holds_the_same_table_as_the_csv() -> None:
    pytest.importorskip("pyarrow")
    found = outputs(export(output="out/dense.parquet"))
    frame = pd.read_parquet(io.BytesIO(found["out/dense.parquet"]))
    expected = pd.read_csv(io.StringIO(outputs(export())["out/dense.csv"]), dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(frame, expected)
    assert list(frame["label"]) == ["", "Valve", "Anomaly|Valve", "", "", ""]


def test_files_whose_annotations_are_all_empty_are_written_with_empty_labels() -> None:
    tasks = [task(1, "s3://raw/d/a.csv", ann(1, "2024-01-01T00:00:00Z"))]
    assert outputs(export(split="{stem}.csv"), tasks=tasks) == {
        "out/a.csv": "timestamp,v,label\n2021-01-01 00:00:00,1,\n2021-01-01 00:01:00,2,\n2021-01-01 00:02:00,3,\n"}
    assert outputs(export(), tasks=[task(1, "s3://raw/d/a.csv")]) == {"out/dense.csv": "file,label\n"}


def test_times_the_labeling_ui_cannot_parse_are_not_labeled_even_where_pandas_could() -> None:
    from lsts_sync.labels.dense import Times

    # the UI pads the first '.digits' group: 03.02.2021 becomes 03.020.2021, which d3 cannot parse
    parsed = Times(project("%d.%m.%Y")).column(pd.Series(["03.02.2021", "04.02.2021"]))
    assert np.isnan(parsed).all()
    assert Times(project("%Y-%m-%d")).column(pd.Series(["2021-02-03"]))[0] == 1612310400000.0


def test_row_labels_names_which_regions_label_no_row_in_their_given_order() -> None:
    _, uncovered = row_labels(np.array([1.0, 2.0, 3.0]), [("B", 10.0, 11.0), ("A", 1.0, 2.0), ("A", 50.0, 60.0),
                                                          ("B", 2.5, 2.6), ("C", 3.0, 3.0)])
    assert uncovered == [0, 2, 3]


def test_a_region_fields_column_follows_label_with_the_values_of_the_regions_holding_each_row() -> None:
    spec = project().model_copy(update={"region_fields": ProjectSpec.model_validate({
        "kind": "Project", "name": "x", "instance": "i", "labels": [{"value": "A"}],
        "timeseries": {"time_column": "t", "channels": [{"column": "v"}]},
        "region_fields": [{"name": "severity", "type": "choices", "values": ["low", "high"]},
                          {"name": "fault_code", "type": "text"}]}).region_fields})
    found = pd.DataFrame([("Anomaly", t(1), t(3), "high", "F-1"), ("Anomaly", t(3), t(4), "low", None),
                          ("Valve", t(5), t(5), None, "")],
                         columns=["label", "start", "end", "severity", "fault_code"], dtype=object)
    frame = dense_frame(CSV, found, spec, "f.csv").frame
    assert list(frame.columns) == ["timestamp", "Vibration", "temperature", "label", "severity", "fault_code"]
    assert list(frame["severity"]) == ["", "high", "high", "high|low", "low", ""]
    assert list(frame["fault_code"]) == ["", "F-1", "F-1", "F-1", "", ""]
    with pytest.raises(LstsError, match="already has a column 'Severity'; dense adds 'severity'"):
        dense_frame(CSV.replace("temperature", "Severity"), found, spec, "f.csv")
