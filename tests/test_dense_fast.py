"""dense's Arrow path (``dense_table``, ``arrow_rows``, ``arrow_times``) against the pandas path
(``dense_frame``, ``read_csv``) on the same files: the same cells, times, labels and output bytes
wherever it answers, and None (the pandas path decides) where it cannot vouch for Arrow's reading."""

from __future__ import annotations

import random
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lsts_sync.core.errors import LstsError
from lsts_sync.labels import dense
from lsts_sync.labels.annotations import encode, read_annotations
from lsts_sync.labels.dense import Times, arrow_rows, arrow_times, dense_frame, dense_outputs, dense_table, read_csv
from lsts_sync.spec.models import ExportSpec, ProjectSpec


def project(time_format: str | None = "%Y-%m-%d %H:%M:%S", sep: str = ",", fields: bool = False) -> ProjectSpec:
    return ProjectSpec(kind="Project", name="pump", instance="local", labels=[{"value": "A"}, {"value": "B,c"}],
                       timeseries={"time_column": "Timestamp", "time_format": time_format, "sep": sep,
                                   "channels": [{"column": "v"}]},
                       region_fields=[{"name": "severity", "type": "choices", "values": ["low", "high"]}] if fields else [])


PIECES = ["a", "1", ",", ";", " ", "\t", '"', "\r\n", "\n", "\n\n", "é", "\x0c", "\x00", "\ufeff"]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randint(0, 14)))


def test_arrow_reads_the_cells_pandas_reads_or_steps_aside() -> None:
    rng = random.Random(7)
    read = 0
    for _ in range(3000):
        sep = rng.choice([",", ";"])
        text = random_text(rng)
        body = arrow_rows(text, sep)
        try:
            expected = read_csv(text, project(sep=sep), "f.csv")
        except LstsError:
            assert body is None, repr(text)
            continue
        if body is None:
            continue
        read += 1
        assert body.column_names == list(expected.columns), repr(text)
        assert {name: body.column(i).to_pylist() for i, name in enumerate(body.column_names)} == \
               {name: list(expected.iloc[:, i]) for i, name in enumerate(expected.columns)}, repr(text)
    assert read > 300  # the comparison ran on many texts


@pytest.mark.parametrize("text", [
    "t,v\n1,2\n3\n",  # a short row: pandas pads it
    "t,v\n1,2\n3,4,5\n",  # a long row: pandas says so
    "t,v\n1,\x002\n",  # a NUL byte
    "t,t\n1,2\n",  # a header name twice
    "t,file\n1,2\n",  # the column a combined output adds
    "t,v\n",  # no data row
    "",
])
def test_what_arrow_leaves_to_pandas(text: str) -> None:
    assert arrow_rows(text, ",") is None


def times_of(values: list[str], time_format: str | None) -> tuple[np.ndarray, np.ndarray]:
    times = Times(project(time_format))
    return arrow_times(pa.array(values, pa.large_string()), times), times.column(pd.Series(values, dtype=str))


@pytest.mark.parametrize("time_format, values", [
    ("%Y-%m-%d %H:%M:%S", ["2021-01-01 00:00:00", "2020-02-29 23:59:59", "1678-01-01 00:00:00"]),
    ("%Y-%m-%d %H:%M:%S", ["2021-02-29 00:00:00", "2021-01-01 00:00:00"]),  # d3 rolls the day over
    ("%Y-%m-%d %H:%M:%S", ["2021-01-01 00:00:60"]),  # pandas reads second 60
    ("%Y-%m-%d %H:%M:%S", ["2021-01-01 00:00:00", "2021-01-01 0:00:00"]),  # not one width
    ("%Y-%m-%d %H:%M:%S", ["٢٠٢١-01-01 00:00:00"]),  # digits that are not ASCII
    ("%d.%m.%Y %H:%M", ["01.02.2021 10:00"]),  # the UI pads a '.digits' group
    ("%H:%M:%S", ["10:00:00", "23:59:59"]),  # no year: 1900
    (None, ["1", "2.5", "x", ""]),  # numbers
])
def test_times_are_the_ones_the_pandas_path_computes(time_format: str | None, values: list[str]) -> None:
    fast, reference = times_of(values, time_format)
    np.testing.assert_array_equal(fast, reference)


def regions(*items: tuple) -> pd.DataFrame:
    return pd.DataFrame([(*item, 7) for item in items], columns=["label", "start", "end", "severity", "annotation_id"],
                        dtype=object)


def stamp(second: int) -> str:
    return f"2021-01-01 {second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"


def series(rng: random.Random, rows: int) -> str:
    lines = ["Timestamp,v,note"]
    for i in range(rows):
        cell = rng.choice(["1", "2.5", '"q"', "x y", ""])
        lines.append(f"{stamp(rng.randint(0, 200))},{i},{cell}")
    return ("\r\n" if rng.random() < 0.3 else "\n").join(lines) + "\n"


@pytest.mark.parametrize("seed", range(6))
def test_random_files_give_the_bytes_and_warnings_of_dense_frame(seed: int) -> None:
    rng = random.Random(seed)
    spec = project(fields=True)
    text = series(rng, 300)
    found = regions(*[(rng.choice(["A", "B,c"]), stamp(s := rng.randint(0, 210)), stamp(s + rng.choice([0, 0, 5, 60])),
                       rng.choice(["low", "high", None])) for _ in range(12)])
    fast = dense_table(text, found, spec, "f.csv")
    reference = dense_frame(text, found, spec, "f.csv")
    assert fast is not None
    assert dense._encoded(fast, "x.csv") == encode(reference.frame, "x.csv")
    assert fast.uncovered == reference.uncovered


@pytest.mark.parametrize("text, message", [
    ("Timestamp,label\n2021-01-01 00:00:00,1\n", "already has a column 'label'"),
])
def test_errors_are_dense_frames(text: str, message: str) -> None:
    for path in (dense_table, dense_frame):
        with pytest.raises(LstsError, match=message):
            path(text, regions(), project(), "f.csv")


def test_a_bound_that_does_not_parse_is_dense_frames_error() -> None:
    found = regions(("A", "yesterday", "today", None))
    text = "Timestamp,v\n2021-01-01 00:00:00,1\n"
    messages = []
    for path in (dense_table, dense_frame):
        with pytest.raises(LstsError) as caught:
            path(text, found, project(), "f.csv")
        messages.append(str(caught.value))
    assert messages[0] == messages[1]


FILES = {
    "d/a.csv": "Timestamp,v\n2021-01-01 00:00:00,1\n2021-01-01 00:01:00,2\n2021-01-01 00:02:00,3\n",
    "d/b.csv": "Timestamp,w,v\n2021-01-01 00:00:00,x,1\n2021-01-01 00:01:00,\"y\",2\n",  # another column
    "d/c.csv": "Timestamp,v\n2021-01-01 00:00:00,1\n2021-01-01 00:01:00\n",  # a short row: pandas reads it
    "d/e.csv": "Timestamp,v\r\n 2021-01-01 00:02:00 ,4\r\n",  # untidy
}


def tasks(*files: str) -> list[dict]:
    def region(start: str, end: str, label: str) -> dict:
        return {"id": f"r{start}", "type": "timeserieslabels", "value": {"start": start, "end": end,
                                                                        "timeserieslabels": [label]}}

    def severity(start: str) -> dict:
        return {"id": f"r{start}", "type": "choices", "from_name": "severity", "value": {"choices": ["high"]}}

    result = [region(stamp(60), stamp(120), "A"), region(stamp(120), stamp(120), "B,c"), severity(stamp(120))]
    return [{"id": i, "data": {"csv": f"s3://raw/{file}"},
             "annotations": [{"id": i, "updated_at": "2024-01-01T00:00:00Z", "result": result}]}
            for i, file in enumerate(files)]


EXPORTS = [
    {"output": "out/dense.csv"},
    {"output": "out/x.csv", "split": "{stem}-dense.csv"},
    {"output": "out/x.csv", "split": "{stem}-dense.csv", "labels": ["B,c"]},
    {"output": "out/dense.parquet"},
]


@pytest.mark.parametrize("files", [("d/a.csv", "d/b.csv", "d/e.csv"), ("d/a.csv", "d/c.csv"), ("d/b.csv",)],
                         ids=["arrow", "one file for pandas", "one file"])
@pytest.mark.parametrize("fields", EXPORTS, ids=["one output", "split", "labels", "parquet"])
def test_dense_outputs_are_the_pandas_paths(monkeypatch: pytest.MonkeyPatch, files: tuple[str, ...],
                                            fields: dict) -> None:
    spec = project(fields=True)
    export = ExportSpec(kind="Export", name="e", project="pump", format="dense", **fields)
    found = read_annotations(tasks(*files), "pump", "latest", {}, dense_fields(spec))
    calls: list[str] = []

    def outputs() -> list:
        return dense_outputs(export, spec, found, lambda bucket, key: FILES[key].encode(), ("raw",), calls.append)

    taken = []
    original = dense.dense_table
    monkeypatch.setattr(dense, "dense_table", lambda *args: taken.append(result := original(*args)) or result)
    fast = outputs()
    monkeypatch.setattr(dense, "dense_table", lambda *args: None)
    assert fast == outputs()
    assert calls[:len(calls) // 2] == calls[len(calls) // 2:]
    if not fields["output"].endswith(".parquet"):
        assert any(t is not None for t in taken)  # Arrow wrote some of them


def dense_fields(spec: ProjectSpec):
    from lsts_sync.labels.annotations import Fields

    return Fields.of(spec)


def test_files_are_still_transformed_in_parallel() -> None:
    threads = set()

    def read(bucket: str, key: str) -> bytes:
        threads.add(threading.get_ident())
        return FILES["d/a.csv"].encode()

    names = [f"d/{i}.csv" for i in range(30)]
    found = read_annotations(tasks(*names), "pump", "latest", {})
    export = ExportSpec(kind="Export", name="e", project="pump", format="dense", output="out/dense.csv")
    (output,) = dense_outputs(export, project(), found, read, ("raw",), lambda line: None)
    assert output.rows == 90 and len(threads) > 1
