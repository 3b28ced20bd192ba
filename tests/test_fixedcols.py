"""fixedcols: Arrow columns viewed as numpy arrays without a copy (no servers)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from lsts_sync.data.fixedcols import fixed_block, float_values, text_array


def test_float_values_views_every_chunk_from_its_offset() -> None:
    column = pa.chunked_array([pa.array([9.0, 1.5, -2.0]).slice(1), pa.array([], pa.float64()),
                               pa.array([np.inf, 3.0])])
    found = float_values(column)
    assert found is not None
    assert [v.tolist() for v in found] == [[1.5, -2.0], [np.inf, 3.0]]


def test_float_values_refuses_nulls_and_other_types() -> None:
    assert float_values(pa.chunked_array([pa.array([1.0, None])])) is None
    assert float_values(pa.chunked_array([pa.array([1, 2])])) is None
    assert float_values(pa.chunked_array([pa.array([1.0], pa.float32())])) is None


def test_fixed_block_and_text_array_round_trip() -> None:
    column = pa.array(["ab1", "cd2", "ef3"])
    block = fixed_block(column)
    assert block is not None and block.shape == (3, 3)
    assert text_array(block).to_pylist() == ["ab1", "cd2", "ef3"]
    assert fixed_block(pa.array(["a", "bc"])) is None
