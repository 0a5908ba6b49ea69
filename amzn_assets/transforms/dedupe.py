"""Keep one row per key, vectorized with Arrow's group-by."""

from __future__ import annotations

from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

_ROW = "__row_number"


def _pick(table: pa.Table, key: Sequence[str], which: str) -> pa.Table:
    if table.num_rows == 0:
        return table
    numbered = table.select(list(key)).append_column(_ROW, pa.array(range(table.num_rows), pa.int64()))
    picked = numbered.group_by(list(key), use_threads=False).aggregate([(_ROW, which)])
    indices = pc.sort_indices(picked[f"{_ROW}_{which}"])
    return table.take(pc.take(picked[f"{_ROW}_{which}"], indices))


def keep_first(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """First row of each key, rows kept in their original order."""
    return _pick(table, key, "min")


def keep_last(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """Last row of each key (later rows correct earlier ones), in original order."""
    return _pick(table, key, "max")
