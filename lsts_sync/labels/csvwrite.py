"""CSV bytes of a frame, column-wise with Arrow, exactly as ``DataFrame.to_csv`` writes them.

``to_csv(frame, header)`` gives the bytes of ``frame.to_csv(index=False, lineterminator="\\n",
header=header)``: the exports' outputs are written this way. pandas' writer goes through Python's
``csv`` module one cell at a time (seconds for a million regions); here each column becomes Arrow
text at once and the rows are joined by Arrow's kernels.

Same bytes, or pandas writes them: a column is taken only when its text is certain to equal what
pandas writes (text, whole numbers, booleans, empty cells); anything else (decimal numbers, values of
several types, a carriage return, a frame of one column, whose empty cells the ``csv`` module quotes)
falls back to pandas for the whole frame. A cell holding a comma, a double quote or a newline is
quoted, its quotes doubled (``csv.QUOTE_MINIMAL``). tests/test_csvwrite.py compares both writers on
the same frames.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_QUOTED = '[,"\n]'  # what csv.QUOTE_MINIMAL quotes with the separator "," and the line terminator "\n"
BATCH = 1 << 17  # rows turned into text at a time
_SPECIAL = re.compile(b'[,"\n\r]')  # the bytes of _QUOTED and the carriage return


def to_csv(frame: pd.DataFrame, header: bool = True) -> bytes:
    """``frame.to_csv(index=False, lineterminator="\\n", header=header)`` as UTF-8 bytes."""
    fast = _arrow_csv(frame, header) if frame.shape[1] > 1 and len(frame) else None
    if fast is not None:
        return fast
    buffer = io.BytesIO()
    frame.to_csv(buffer, header=header, index=False, lineterminator="\n", encoding="utf-8")
    return buffer.getvalue()


def _arrow_csv(frame: pd.DataFrame, header: bool) -> bytes | None:
    """The CSV bytes, or None when some column is not certain to be written as pandas writes it.
    Rows are turned into text BATCH at a time, so Arrow's temporaries stay small; the text of all
    batches is copied once into the returned bytes."""
    names = _column_text(pd.Series([str(n) for n in frame.columns], dtype=object))
    if names is None:
        return None
    pieces: list[memoryview] = []
    for first in range(0, len(frame), BATCH):
        lines = _lines(frame.iloc[first:first + BATCH])
        if lines is None:
            return None
        pieces.append(_data(lines))
    head = (",".join(names.to_pylist()) + "\n").encode() if header else b""
    return b"".join([head, *pieces])


def _lines(frame: pd.DataFrame) -> pa.Array | None:
    """Each row's text ending with "\n", or None (see ``_arrow_csv``)."""
    columns = []
    for name in frame.columns:
        text = _column_text(frame[name])
        if text is None:
            return None
        columns.append(text)
    rows = pc.binary_join_element_wise(*columns, _text(","))
    return pc.binary_join_element_wise(rows, _text(""), _text("\n"))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _data(text: pa.Array) -> memoryview:
    """The concatenated text of a large_string array's cells (no separator): a view of its data buffer."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    return memoryview(data if data is not None else b"")[int(offsets[0]):int(offsets[-1])]




def _column_text(values: pd.Series) -> pa.Array | None:
    """The column's cells as pandas writes them (large_string, quoted where needed), or None."""
    try:
        array = pa.array(values.to_numpy(dtype=object) if values.dtype == object else values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        return None  # values of several types
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_boolean(kind):
        text = pc.if_else(array, "True", "False")
    elif pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = array.cast(pa.string())
    elif pa.types.is_null(kind):
        text = pa.nulls(len(array), pa.string())
    else:
        return None  # decimal numbers (pandas' float format), dates, nested values
    text = pc.fill_null(text, "").cast(pa.large_string())
    if not _SPECIAL.search(_data(text)):  # no cell to look at closer
        return text
    if pc.any(pc.match_substring(text, "\r")).as_py():
        return None
    quote = pc.match_substring_regex(text, _QUOTED)
    if pc.any(quote).as_py():
        doubled = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
        text = pc.if_else(quote, doubled, text)
    return text
