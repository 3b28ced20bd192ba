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

``table_csv(table)`` writes an Arrow table whose columns hold the values of such a frame's columns
(as ``pa.array`` builds them from the frame's values; a dictionary-encoded column is its values) by
the same rules: the text of a dictionary is made once, then repeated by index.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_QUOTED = '[,"\n]'  # what csv.QUOTE_MINIMAL quotes with the separator "," and the line terminator "\n"
BATCH = 1 << 17  # rows turned into text at a time
_SPECIAL = (b",", b'"', b"\n", b"\r")  # the bytes of _QUOTED and the carriage return


def to_csv(frame: pd.DataFrame, header: bool = True) -> bytes:
    """``frame.to_csv(index=False, lineterminator="\\n", header=header)`` as UTF-8 bytes."""
    fast = _arrow_csv(frame, header) if frame.shape[1] > 1 and len(frame) else None
    if fast is not None:
        return fast
    buffer = io.BytesIO()
    frame.to_csv(buffer, header=header, index=False, lineterminator="\n", encoding="utf-8")
    return buffer.getvalue()


def table_csv(table: pa.Table, header: bool = True) -> bytes | None:
    """``to_csv`` of the frame holding the table's values, or None when it is not certain to be
    those bytes (then write that frame with ``to_csv``): also for a table of one column or no rows.
    Neighbouring dictionary columns with the same indices (an annotation's own columns) are joined
    entry by entry, then repeated by index once."""
    if table.num_columns < 2 or not table.num_rows:
        return None
    pieces: list[tuple[pa.Array | None, Any]] = []  # (indices, dictionary text) or (None, the column)
    for column in table.columns:
        if not pa.types.is_dictionary(column.type):
            pieces.append((None, column))
            continue
        column = column.combine_chunks()  # one dictionary for all chunks
        text = _array_text(column.dictionary)
        if text is None:
            return None
        before = pieces[-1][0] if pieces else None
        if before is not None and len(pieces[-1][1]) == len(text) and before.equals(column.indices):
            pieces[-1] = (before, pc.binary_join_element_wise(pieces[-1][1], text, _text(",")))
        else:
            pieces.append((column.indices, text))

    def lines(first: int) -> pa.Array | None:
        texts = []
        for indices, values in pieces:
            text = values.take(indices.slice(first, BATCH)) if indices is not None \
                else _array_text(values.slice(first, BATCH).combine_chunks())
            if text is None:
                return None
            texts.append(text)
        return _joined(texts)

    return _csv_bytes(table.column_names, table.num_rows, lines, header)


def _arrow_csv(frame: pd.DataFrame, header: bool) -> bytes | None:
    """The CSV bytes, or None when some column is not certain to be written as pandas writes it."""
    def lines(first: int) -> pa.Array | None:
        part = frame.iloc[first:first + BATCH]
        texts = []
        for i in range(part.shape[1]):  # by position: a source may repeat a column's name
            text = _column_text(part.iloc[:, i])
            if text is None:
                return None
            texts.append(text)
        return _joined(texts)

    return _csv_bytes(list(frame.columns), len(frame), lines, header)


def _csv_bytes(names: list, rows: int, lines: Callable[[int], pa.Array | None], header: bool) -> bytes | None:
    """The header (``names``), then ``lines(first)`` for each BATCH of ``rows`` (so Arrow's
    temporaries stay small), each batch's text copied into the returned bytes as soon as it is
    made (``BytesIO.getvalue`` hands over its buffer: the CSV is held once).
    None when a name or a batch is not certain to be written as pandas writes it."""
    names_text = _column_text(pd.Series([str(n) for n in names], dtype=object))
    if names_text is None:
        return None
    out = io.BytesIO()
    if header:
        out.write((",".join(names_text.to_pylist()) + "\n").encode())
    for first in range(0, rows, BATCH):
        text = lines(first)
        if text is None:
            return None
        out.write(_data(text))
    return out.getvalue()


def _joined(columns: list[pa.Array]) -> pa.Array:
    """Each row's cells joined with "," and ended with "\n" (in one pass: the separators are
    elements of the join, which has none of its own)."""
    comma = _text(",")
    pieces = [piece for column in columns for piece in (column, comma)][:-1]
    return pc.binary_join_element_wise(*pieces, _text("\n"), _text(""))


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _data(text: pa.Array) -> memoryview:
    """The concatenated text of a large_string array's cells (no separator): a view of its data buffer."""
    offsets = np.frombuffer(text.buffers()[1], dtype=np.int64)[text.offset:text.offset + len(text) + 1]
    data = text.buffers()[2]
    return memoryview(data if data is not None else b"")[int(offsets[0]):int(offsets[-1])]




def _special(data: memoryview) -> bool:
    """True if ``data`` holds a byte of ``_SPECIAL`` (searched a byte at a time: memchr-fast,
    where one regular expression for all four would look at every byte in Python's engine)."""
    text = bytes(data)
    return any(byte in text for byte in _SPECIAL)


def _column_text(values: pd.Series) -> pa.Array | None:
    """The column's cells as pandas writes them (large_string, quoted where needed), or None."""
    try:
        array = pa.array(values.to_numpy(dtype=object) if values.dtype == object else values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        return None  # values of several types; a whole number past 64 bits
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return _array_text(array)


def _array_text(array: pa.Array) -> pa.Array | None:
    """The cells of an array built from a frame's column as pandas writes them, or None."""
    kind = array.type
    if pa.types.is_boolean(kind):
        text = pc.if_else(array, "True", "False")
    elif pa.types.is_integer(kind) or pa.types.is_string(kind) or pa.types.is_large_string(kind):
        text = array.cast(pa.large_string())
    elif pa.types.is_null(kind):
        text = pa.nulls(len(array), pa.large_string())
    else:
        return None  # decimal numbers (pandas' float format), dates, nested values
    text = (pc.fill_null(text, "") if text.null_count else text).cast(pa.large_string())  # no copy if it is one
    if not _special(_data(text)):  # no cell to look at closer
        return text
    if pc.any(pc.match_substring(text, "\r")).as_py():
        return None
    quote = pc.match_substring_regex(text, _QUOTED)
    if pc.any(quote).as_py():
        doubled = pc.binary_join_element_wise(_text('"'), pc.replace_substring(text, '"', '""'), _text('"'), _text(""))
        text = pc.if_else(quote, doubled, text)
    return text
