"""The export's fast path (``labels.fastread``) against the reference path (``task_rows``) on the same
snapshots: the same regions, files, label counts and table outputs, byte for byte, for random tasks
(overlaps, time zones, drafts, cancelled annotations, several labels, instants, region and task
fields); and the shapes it leaves to the reference path."""

from __future__ import annotations

import json
import random
import tempfile
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from lsts_sync.core.jsonstream import JsonArrayFile, iter_array
from lsts_sync.labels import fastread
from lsts_sync.labels.annotations import Annotations, Fields, outputs_for, read_annotations
from lsts_sync.spec.models import ExportSpec, ProjectSpec

FIELDS = Fields(region=("severity", "code"), task=("note",))
USERS = {1: "ann@example.com", 2: "bob@example.com"}
LABELS = ["Anomaly", "Maintenance", "Spike, big", 'say "hi"', "ünïcode ✓"]
ZONES = ["Z", "+02:00", "-05:30", ""]


def stamp(rng: random.Random) -> str:
    return f"2021-01-0{rng.randint(1, 3)} {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"


def region(rng: random.Random, ident: str, numeric: bool) -> dict:
    start = rng.randint(0, 10_000) if numeric else stamp(rng)
    end = start if rng.random() < 0.2 else (start + rng.randint(0, 500) if numeric else stamp(rng))
    value: dict[str, Any] = {"start": start, "end": end,
                             "timeserieslabels": rng.sample(LABELS, rng.choice([0, 1, 1, 1, 1, 2]))}
    if rng.random() < 0.7:
        value["instant"] = start == end if rng.random() < 0.9 else rng.choice([True, False])
    return {"id": ident, "type": "timeserieslabels", "origin": "manual", "from_name": "label", "to_name": "ts",
            "value": value}


def fields(rng: random.Random, ident: str, floats: bool) -> list[dict]:
    found = []
    if rng.random() < 0.6:
        found.append({"id": ident, "type": "choices", "from_name": "severity", "to_name": "ts",
                      "value": {"choices": rng.sample(["low", "high", "a,b"], rng.choice([1, 1, 2]))}})
    if rng.random() < 0.4:
        found.append({"id": ident, "type": "number", "from_name": "code", "to_name": "ts",
                      "value": {"number": rng.random() * 10 if floats else rng.randint(0, 99)}})
    return found


def annotation(rng: random.Random, ident: int, numeric: bool, floats: bool) -> dict:
    result: list[dict] = []
    for r in range(rng.randint(0, 6)):
        name = f"r{ident}x{r}"
        result.append(region(rng, name, numeric))
        result += fields(rng, name, floats)
    if rng.random() < 0.3:
        result.append({"id": "whole", "type": "textarea", "from_name": "note", "to_name": "ts",
                       "value": {"text": rng.sample(["checked", "line\nbreak"], rng.randint(1, 2))}})
    return {"id": ident, "completed_by": rng.choice([1, 2, 3, {"id": 4, "email": "eve@example.com"}, None]),
            "was_cancelled": rng.random() < 0.2, "ground_truth": False, "lead_time": 3.5,
            "updated_at": f"2024-01-0{rng.randint(1, 2)}T0{rng.randint(0, 1)}:00:00{rng.choice(ZONES)}",
            "result": result}


def tasks(seed: int, count: int = 40, numeric: bool = False, floats: bool = False) -> list[dict]:
    rng = random.Random(seed)
    found = []
    for t in range(count):
        annotations = [annotation(rng, t * 10 + a, numeric, floats) for a in range(rng.randint(0, 3))]
        found.append({"id": t + 1, "data": {"csv": f"s3://b/f{rng.randint(0, 9)}.csv"}, "meta": {},
                      "annotations": annotations, "predictions": [],
                      "drafts": [{"id": 1, "result": [region(rng, "d", numeric)]}]})
    return found


def snapshot(data: bytes) -> JsonArrayFile:
    file = tempfile.TemporaryFile()  # noqa: SIM115  (the array owns it: iterating closes it)
    file.write(data)
    file.seek(0)
    return JsonArrayFile(file)


def both(payload: list | bytes, which: str = "latest", fields: Fields = FIELDS) -> tuple[Annotations, Annotations]:
    """(fast path, reference path) of the same snapshot text."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload, ensure_ascii=False).encode()
    reference = read_annotations(list(snapshot(data)), "p", which, USERS, fields)
    return read_annotations(snapshot(data), "p", which, USERS, fields), reference


def project() -> ProjectSpec:
    return ProjectSpec.model_validate({
        "kind": "Project", "name": "p", "instance": "local", "source": {"bucket": "lsts-data"},
        "timeseries": {"time_column": "t", "time_format": "%Y-%m-%d %H:%M:%S", "channels": [{"column": "v"}]},
        "labels": [{"value": label} for label in LABELS],
        "region_fields": [{"name": "severity", "type": "choices", "values": ["low", "high", "a,b"]},
                          {"name": "code", "type": "number"}],
        "task_fields": [{"name": "note", "type": "text"}]})


EXPORTS = [
    ExportSpec(kind="Export", name="all", project="p", output="out/regions.csv"),
    ExportSpec(kind="Export", name="some", project="p", output="out/some.csv", labels=["Anomaly", "ünïcode ✓"]),
    ExportSpec(kind="Export", name="split", project="p", output="out/x.csv", split="{stem}-regions.csv"),
    ExportSpec(kind="Export", name="folder", project="p", output="out/", split="{stem}.csv", labels=["Spike, big"]),
]


def assert_same(fast: Annotations, reference: Annotations) -> None:
    pd.testing.assert_frame_equal(fast.regions, reference.regions)
    assert list(fast.regions.dtypes) == list(reference.regions.dtypes)
    assert dict(fast.files) == dict(reference.files)
    assert dict(fast.labels) == dict(reference.labels)
    assert dict(fast.fields) == dict(reference.fields)  # the export's warning of fields the template lacks
    for export in EXPORTS:
        assert outputs_for(export, project(), fast) == outputs_for(export, project(), reference.regions), export.name


@pytest.fixture(params=[4096, 3], ids=["batch", "tiny-batches"])
def batch(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[int]:
    monkeypatch.setattr(fastread, "BATCH", request.param)
    yield request.param


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("which", ["latest", "all"])
def test_random_snapshots_give_the_reference_rows_and_bytes_from_arrow(seed: int, which: str, batch: int) -> None:
    fast, reference = both(tasks(seed), which)
    assert fast.table is not None  # the fast path took them, and Arrow sorted them
    assert len(reference.regions) > 20
    assert_same(fast, reference)


@pytest.mark.parametrize("seed", range(4))
def test_without_fields_and_with_whole_number_times(seed: int, batch: int) -> None:
    fast, reference = both(tasks(seed, numeric=True), "all", Fields())
    assert fast.table is not None and fast.table.column("start").type == pa.int64()
    assert_same(fast, reference)


@pytest.mark.parametrize("seed", range(4))
def test_decimal_field_values_are_kept_as_python_values_and_sorted_by_pandas(seed: int, batch: int) -> None:
    fast, reference = both(tasks(seed, floats=True), "all")
    assert fast.table is None  # a column of decimal numbers: the frame, as the reference builds it
    assert_same(fast, reference)


def one_task(*results: Any, **value: Any) -> list[dict]:
    return [{"id": 1, "data": {"csv": "s3://b/a.csv"},
             "annotations": [{"id": 5, "updated_at": "2024-01-01T00:00:00Z", "completed_by": 1,
                              "result": list(results)}]}]


def tsl(start: Any = "2021-01-01 00:00:00", end: Any = "2021-01-01 00:01:00", labels: Any = ("A",), **extra: Any) -> dict:
    return {"type": "timeserieslabels", "from_name": "label", "value": {"start": start, "end": end,
                                                                        "timeserieslabels": labels, **extra}}


SHAPES = {
    # the fast path steps aside for these (a struct refuses them); the reference reads them
    "a result that is not an object": one_task(tsl(), "text"),
    "labels that are text": one_task(tsl(labels="AB")),
    "labels that are null": one_task(tsl(labels=None)),
    "a value that is a list": one_task({"type": "timeserieslabels", "value": [1]}),
    "an annotation that is not an object": [{"id": 1, "data": {"csv": "s3://b/a.csv"}, "annotations": [1]}],
    "data that is a list": [{"id": 1, "data": [], "annotations": [{"id": 2, "result": [tsl()]}]}],
}
KEPT = {
    # the fast path takes these; some columns stay Python values, some sorts stay with pandas
    "numbers and text as starts": one_task(tsl(), tsl(start=5, end=6)),
    "a number as text first": one_task(tsl(start="12", end="15"), tsl(start="3", end="4"), tsl(start="x", end="y")),
    "numbers as text": one_task(tsl(start="12", end="15"), tsl(start="3", end="4"), tsl(start="1e1", end="20")),
    "text starts in one task, numbers in the next": [
        {**one_task(tsl(), tsl(), tsl())[0], "id": 1},
        {**one_task(tsl(start=9, end=9), tsl(start=1, end=2), tsl(start=5, end=5))[0], "id": 2}],
    "decimal starts": one_task(tsl(start=1.5, end=2), tsl(start=0.5, end=1)),
    "a start missing": one_task(tsl(start=None), tsl()),
    "a label that is a number": one_task(tsl(labels=[1]), tsl()),
    "a label that is null": one_task(tsl(labels=[None]), tsl()),
    "instants of other types": one_task(tsl(instant=1), tsl(instant=0.0), tsl(instant="yes"), tsl(instant=None)),
    "two controls": one_task(tsl(), {**tsl(labels=["B"]), "from_name": "other"}),
    "a control that is not text": one_task({**tsl(), "from_name": None}, {**tsl(labels=["B"]), "from_name": 3}),
    "huge ids": [{"id": 2**70, "data": {"csv": "s3://b/a.csv"}, "annotations": [{"id": 1, "result": [tsl()]}]}],
    "an id that is text": [{"id": "t1", "data": {"csv": "s3://b/a.csv"}, "annotations": [{"id": 1, "result": [tsl()]}]}],
    "no updated_at anywhere": [{"id": 1, "data": {"csv": "s3://b/a.csv"}, "annotations": [{"id": 1, "result": [tsl()]}]}],
    "a bucketless data URL and a storage file name": [
        {"id": 1, "data": {"csv": "https://x/a.csv"}, "annotations": [{"id": 1, "result": [tsl()]}]},
        {"id": 2, "storage_filename": "k/b.csv", "annotations": [{"id": 2, "result": [tsl()]}]}],
    "no regions at all": one_task({"type": "choices", "value": {"choices": ["x"]}}),
    "only cancelled": [{"id": 1, "data": {"csv": "s3://b/a.csv"},
                        "annotations": [{"id": 1, "was_cancelled": True, "result": [tsl()]}]}],
}


@pytest.mark.parametrize("payload", list(SHAPES.values()), ids=list(SHAPES))
def test_shapes_the_structs_refuse_go_to_the_reference_path(payload: list) -> None:
    data = json.dumps(payload).encode()
    assert fastread.read(snapshot(data).texts() or [], "p", "all", USERS, FIELDS) is None
    fast, reference = both(payload, "all")
    assert_same(fast, reference)


@pytest.mark.parametrize("payload", list(KEPT.values()), ids=list(KEPT))
def test_odd_values_the_fast_path_keeps_as_the_reference_does(payload: list, batch: int) -> None:
    data = json.dumps(payload).encode()
    assert fastread.read(snapshot(data).texts() or [], "p", "all", USERS, FIELDS) is not None
    fast, reference = both(payload, "all")
    assert_same(fast, reference)


@pytest.mark.parametrize("data", [b'[{"id": 1, "x": NaN}]', b"\xef\xbb\xbf[]", b'[{"id": 1, "s": "\\ud800"}]',
                                  b'[{"id": 1}] trailing'], ids=["NaN", "BOM", "lone surrogate", "trailing text"])
def test_json_msgspec_refuses_is_read_by_the_standard_library(data: bytes) -> None:
    try:
        reference: list | None = list(iter_array(__import__("io").BytesIO(data)))
    except ValueError:
        reference = None
    if reference is None:
        with pytest.raises(ValueError):
            read_annotations(snapshot(data), "p", "all", USERS)
    else:
        assert read_annotations(snapshot(data), "p", "all", USERS).regions.empty


def test_a_sorted_snapshot_is_not_reordered_and_a_shuffled_one_is_sorted() -> None:
    payload = tasks(3)
    fast, _ = both(payload, "all")
    rng = random.Random(1)
    rng.shuffle(payload)
    for t in payload:
        for a in t["annotations"]:
            rng.shuffle(a["result"])
    shuffled, reference = both(payload, "all")
    assert shuffled.table is not None
    assert_same(shuffled, reference)
    pd.testing.assert_frame_equal(shuffled.regions, fast.regions)


def test_a_parquet_output_is_written_from_the_frame() -> None:
    fast, reference = both(tasks(1), "all")
    export = ExportSpec(kind="Export", name="pq", project="p", output="out/regions.parquet")
    assert fast.table is not None
    assert outputs_for(export, project(), fast) == outputs_for(export, project(), reference.regions)


def test_the_frame_of_a_table_holds_python_values_dictionary_cells_and_nulls_too() -> None:
    from lsts_sync.labels.annotations import table_frame

    table = pa.table({"a": pa.chunked_array([pa.DictionaryArray.from_arrays(pa.array([1, None, 0], pa.int32()),
                                                                            pa.array(["x", "y"])),
                                             pa.DictionaryArray.from_arrays(pa.array([0], pa.int32()), pa.array(["z"]))]),
                      "n": pa.array([1, None, 2**40, 3])})
    frame = table_frame(table)
    assert frame["a"].tolist() == ["y", None, "x", "z"] and frame["n"].tolist() == [1, None, 2**40, 3]
    assert list(frame.dtypes) == [object, object]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_paused_while_reading_and_left_as_it_was(enabled: bool) -> None:
    import gc

    seen: list[bool] = []

    def texts() -> Iterator[memoryview]:
        for text in snapshot(json.dumps(tasks(1)).encode()).texts() or []:
            seen.append(gc.isenabled())
            yield text

    (gc.enable if enabled else gc.disable)()
    try:
        assert fastread.read(texts(), "p", "all", USERS, FIELDS) is not None
        assert seen and not any(seen)
        assert gc.isenabled() is enabled
    finally:
        gc.enable()
