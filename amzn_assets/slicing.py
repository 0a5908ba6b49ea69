"""Split an Arrow table into one slice per value of a column (a partition), vectorized."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc


def slices_by_value(table: pa.Table, column: str) -> Iterator[tuple[Any, pa.Table]]:
    """Yield (value, rows with that value) in ascending value order; row order is kept within a slice."""
    if table.num_rows == 0:
        return
    ordered = table.take(pc.sort_indices(table, [(column, "ascending")]))
    runs = pc.run_end_encode(ordered[column].combine_chunks())
    start = 0
    for end, value in zip(runs.run_ends.to_pylist(), runs.values.to_pylist()):
        yield value, ordered.slice(start, end - start)
        start = end
