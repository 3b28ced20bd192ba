"""csvwrite.to_csv against pandas' own writer on the same frames: the same bytes, fast path or not."""

import io

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from lsts_sync.labels import csvwrite


def pandas_csv(frame: pd.DataFrame, header: bool = True) -> bytes:
    buffer = io.BytesIO()
    frame.to_csv(buffer, header=header, index=False, lineterminator="\n", encoding="utf-8")
    return buffer.getvalue()


TRICKY = ["plain", "", "a,b", 'say "hi"', "line\nbreak", " spaced ", "ünïcode ✓", '"', ",", "x" * 50]

FRAMES = {
    "regions": pd.DataFrame({
        "project": ["p"] * 4, "task_id": pd.Series([1, 2, None, 2**40], dtype=object),
        "file": ["a.csv", "b,c.csv", 'q"uote.csv', "d.csv"], "label": ["A", "B", None, "A|B"],
        "start": ["2021-01-01 00:00:00", "2021-01-01 00:00:05", "", "2021-01-02 00:00:00"],
        "end": pd.Series([5, 6, None, 7], dtype=object), "instant": pd.Series([True, False, None, True], dtype=object),
        "annotation_id": pd.Series([10, 11, 12, 13], dtype=object)}),
    "tricky_text": pd.DataFrame({"a": TRICKY, "b": list(reversed(TRICKY))}),
    "numpy_types": pd.DataFrame({"n": np.arange(4, dtype=np.int64), "b": [True, False, True, True],
                                 "s": ["w", "x", "y", "z"]}),
    "str_dtype": pd.DataFrame({"a": pd.Series(["x", None, "y,z"], dtype="str"), "b": ["1", "2", "3"]}),
    "nan_in_text": pd.DataFrame({"a": ["x", np.nan, "y"], "b": ["1", "2", "3"]}),
    # falls back to pandas (what the fast path does not take on):
    "floats": pd.DataFrame({"f": [0.1, 1e-05, 2.0], "s": ["a", "b", "c"]}),
    "mixed": pd.DataFrame({"m": pd.Series([1, "one", 1.5], dtype=object), "s": ["a", "b", "c"]}),
    "bool_and_int": pd.DataFrame({"m": pd.Series([1, True, 0], dtype=object), "s": ["a", "b", "c"]}),
    "huge_int": pd.DataFrame({"n": pd.Series([1, 2**70], dtype=object), "s": ["a", "b"]}),
    "carriage_return": pd.DataFrame({"a": ["x\ry", "z"], "b": ["1", "2"]}),
    "one_column": pd.DataFrame({"a": ["x", "", None]}),
    "empty": pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)}),
    "odd_names": pd.DataFrame({"a,b": ["1"], 'q"': ["2"], 3: ["4"]}),
    # a dense export of a source CSV that repeats a column's name (the UI reads the last one)
    "repeated_name": pd.DataFrame([["2021-01-01", "1", "2", "A"], ["2021-01-02", "3", "4", ""]],
                                  columns=["t", "v", "v", "label"]),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("header", [True, False])
def test_same_bytes_as_pandas(name: str, header: bool) -> None:
    frame = FRAMES[name]
    assert csvwrite.to_csv(frame, header) == pandas_csv(frame, header)


@pytest.mark.parametrize("name", ["regions", "tricky_text", "numpy_types", "str_dtype", "nan_in_text", "odd_names",
                                  "repeated_name"])
def test_the_fast_path_writes_these(name: str) -> None:
    """These frames are written by Arrow, not handed back to pandas (so the comparison above tests it)."""
    assert csvwrite._arrow_csv(FRAMES[name], True) == pandas_csv(FRAMES[name])


@pytest.mark.parametrize("name", ["floats", "mixed", "bool_and_int", "carriage_return", "huge_int"])
def test_what_the_fast_path_leaves_to_pandas(name: str) -> None:
    assert csvwrite._arrow_csv(FRAMES[name], True) is None


@pytest.mark.parametrize("name", ["regions", "tricky_text"])
def test_rows_written_in_batches_join_up(monkeypatch, name: str) -> None:
    monkeypatch.setattr(csvwrite, "BATCH", 3)
    assert csvwrite._arrow_csv(FRAMES[name], True) == pandas_csv(FRAMES[name])


def arrow_table(frame: pd.DataFrame, encoded: tuple[str, ...] = ()) -> pa.Table:
    """The frame's values as Arrow (as ``pa.array`` builds each column from its values); the
    ``encoded`` columns dictionary-encoded over one shared index (each value held once per row here)."""
    columns = {}
    indices = pa.array(np.arange(len(frame), dtype=np.int32))
    for name in frame.columns:
        array = pa.array(list(frame[name].astype(object).where(frame[name].notna(), None)))
        columns[str(name)] = pa.DictionaryArray.from_arrays(indices, array) if name in encoded else array
    return pa.table(columns)


TABLES = {
    "regions": ("project", "task_id", "file"),  # three neighbours sharing their indices: joined entry by entry
    "tricky_text": ("a",),
    "numpy_types": ("b", "s"),
    "odd_names": (),
}


@pytest.mark.parametrize("name", sorted(TABLES))
@pytest.mark.parametrize("batch", [3, csvwrite.BATCH])
def test_a_table_of_the_frames_values_gives_the_same_bytes(monkeypatch, name: str, batch: int) -> None:
    monkeypatch.setattr(csvwrite, "BATCH", batch)
    frame = FRAMES[name]
    for encoded in ((), TABLES[name]):
        assert csvwrite.table_csv(arrow_table(frame, encoded)) == pandas_csv(frame)
        assert csvwrite.table_csv(arrow_table(frame, encoded), header=False) == pandas_csv(frame, header=False)


def test_dictionary_columns_with_other_indices_are_not_joined() -> None:
    frame = pd.DataFrame({"a": ["x", "y", "x", "z"], "c": ["r", "q", "p", "p"], "b": ["1", "2", "3", "4"]})
    table = pa.table({"a": pa.array(frame["a"]).dictionary_encode(),  # neighbours, dictionaries of one length
                      "c": pa.DictionaryArray.from_arrays(pa.array([2, 1, 0, 0], pa.int32()), pa.array(["p", "q", "r"])),
                      "b": frame["b"]})
    assert csvwrite.table_csv(table) == pandas_csv(frame)


@pytest.mark.parametrize("table", [
    pa.table({"a": ["x\ry", "z"], "b": ["1", "2"]}),  # a carriage return: pandas decides
    pa.table({"a": pa.array(["x\ry", "z"]).dictionary_encode(), "b": ["1", "2"]}),
    pa.table({"a": [0.5, 1.0], "b": ["1", "2"]}),  # decimal numbers
    pa.table({"a": ["x"]}),  # one column: the csv module quotes its empty cells
    pa.table({"a": pa.array([], pa.string()), "b": pa.array([], pa.string())}),  # no rows: pandas writes the header
], ids=["carriage return", "carriage return in a dictionary", "decimals", "one column", "no rows"])
def test_what_table_csv_leaves_to_pandas(table: pa.Table) -> None:
    assert csvwrite.table_csv(table) is None
