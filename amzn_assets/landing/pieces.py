"""Arranging landed rows into compacted pieces (plain pyarrow and numpy, used by compaction.py):
rows sorted by day then source batch, cut into pieces between days."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.landing.segments import BATCH_COLUMN


def most_reaching_a_day(ranges: Sequence[tuple[str, str]]) -> int:
    """The most of these inclusive day ranges (ISO text) that hold one same day."""
    events = sorted([(first, 0) for first, _ in ranges] + [(last, 1) for _, last in ranges])
    most = now = 0
    for _, end in events:
        now += -1 if end else 1
        most = max(most, now)
    return most


def with_batch(table: pa.Table, batch_id: str) -> pa.Table:
    return table.append_column(BATCH_COLUMN, pa.array([batch_id] * table.num_rows, pa.string()))


def by_day_and_batch(table: pa.Table, column: str) -> pa.Table:
    """By day, then source batch; stable, so each batch's rows of a day keep their landed order."""
    if table.num_rows == 0:
        return table
    return table.take(pc.sort_indices(table, [(column, "ascending"), (BATCH_COLUMN, "ascending")]))


def day_numbers(days: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(days, pa.int32()).to_numpy() if len(days) else np.empty(0, np.int32)


def day_number(day: date) -> int:
    return (day - date(1970, 1, 1)).days


def cut_between_days(table: pa.Table, column: str, piece_rows: int) -> list[pa.Table]:
    """Pieces of about piece_rows rows of a table sorted by day, cut between days (a day's rows
    stay in one piece)."""
    count = round(table.num_rows / piece_rows)  # pieces of 0.5 to 1.5 piece_rows
    if count <= 1:
        return [table]
    days = day_numbers(table[column])
    cuts = {0, table.num_rows}
    for k in range(1, count):
        at = int(np.searchsorted(days, days[k * table.num_rows // count], "left"))
        cuts.add(at)
    cuts = sorted(cuts)
    return [table.slice(a, b - a) for a, b in zip(cuts, cuts[1:]) if b > a]
