"""Arrow columns as numpy arrays and back: the bridge between Arrow and ``ui.fixedtime``.

A text column whose values all have one byte length is, in Arrow's memory, ``rows * length``
contiguous bytes; ``fixed_block`` views them as a ``(rows, length)`` uint8 matrix without copying,
and ``text_array`` makes a string column of such a matrix. ``float_values`` views a float64
column's values the same way: Arrow's own ``to_numpy`` imports pandas (about 0.2 s, in the middle
of ``check``'s reads).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def fixed_block(column: pa.Array | pa.ChunkedArray) -> np.ndarray | None:
    """A text column whose values all have one byte length as a ``(rows, length)`` uint8 matrix (a
    view of its data), or None (a null, several lengths, no rows, another type)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    kind = column.type
    if column.null_count or not len(column) or not (pa.types.is_string(kind) or pa.types.is_large_string(kind)
                                                     or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        return None
    wide = pa.types.is_large_string(kind) or pa.types.is_large_binary(kind)
    _, offsets_buffer, data = column.buffers()
    offsets = np.frombuffer(offsets_buffer, np.int64 if wide else np.int32)[column.offset:column.offset + len(column) + 1]
    width = int(offsets[1] - offsets[0])
    if width == 0 or int(offsets[-1] - offsets[0]) != width * len(column) or (np.diff(offsets) != width).any():
        return None
    return np.frombuffer(data, np.uint8)[int(offsets[0]):int(offsets[-1])].reshape(len(column), width)


def float_values(column: pa.ChunkedArray) -> list[np.ndarray] | None:
    """The values of each chunk of a float64 column without nulls, as numpy views (no copy), or
    None (another type, or a null)."""
    if not pa.types.is_float64(column.type) or column.null_count:
        return None
    return [np.frombuffer(chunk.buffers()[1], np.float64)[chunk.offset:chunk.offset + len(chunk)]
            for chunk in column.chunks if len(chunk)]


def text_array(block: np.ndarray) -> pa.Array:
    """A string column of the rows of a ``(rows, width)`` uint8 matrix of UTF-8 text."""
    rows, width = block.shape
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int64 if rows * width >= 2**31 else np.int32)
    kind = pa.large_string() if offsets.dtype == np.int64 else pa.string()
    return pa.Array.from_buffers(kind, rows, [None, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(block))])
