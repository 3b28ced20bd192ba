"""csvwrite.to_csv against pandas' own writer on the same frames: the same bytes, fast path or not."""

import io

import numpy as np
import pandas as pd
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
    "carriage_return": pd.DataFrame({"a": ["x\ry", "z"], "b": ["1", "2"]}),
    "one_column": pd.DataFrame({"a": ["x", "", None]}),
    "empty": pd.DataFrame({"a": pd.Series([], dtype=object), "b": pd.Series([], dtype=object)}),
    "odd_names": pd.DataFrame({"a,b": ["1"], 'q"': ["2"], 3: ["4"]}),
}


@pytest.mark.parametrize("name", sorted(FRAMES))
@pytest.mark.parametrize("header", [True, False])
def test_same_bytes_as_pandas(name: str, header: bool) -> None:
    frame = FRAMES[name]
    assert csvwrite.to_csv(frame, header) == pandas_csv(frame, header)


@pytest.mark.parametrize("name", ["regions", "tricky_text", "numpy_types", "str_dtype", "nan_in_text", "odd_names"])
def test_the_fast_path_writes_these(name: str) -> None:
    """These frames are written by Arrow, not handed back to pandas (so the comparison above tests it)."""
    assert csvwrite._arrow_csv(FRAMES[name], True) == pandas_csv(FRAMES[name])


@pytest.mark.parametrize("name", ["floats", "mixed", "bool_and_int", "carriage_return"])
def test_what_the_fast_path_leaves_to_pandas(name: str) -> None:
    assert csvwrite._arrow_csv(FRAMES[name], True) is None


@pytest.mark.parametrize("name", ["regions", "tricky_text"])
def test_rows_written_in_batches_join_up(monkeypatch, name: str) -> None:
    monkeypatch.setattr(csvwrite, "BATCH", 3)
    assert csvwrite._arrow_csv(FRAMES[name], True) == pandas_csv(FRAMES[name])
