"""Counts per partition day, gathered while a range's chunks are produced (plain Python).

A builder's summary (TableChunks.summary) is {PER_DAY: {day: {stat: value}}, <run-level stat>: value}:
the per-day counts describe one partition each (they become that partition's materialization
metadata), the others describe the whole run (recorded once, labelled as the run's).
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.compute as pc

PER_DAY = "per_day"

RATING_STATS = tuple(f"rating_{r}" for r in range(1, 6))  # a day's reviews per star rating, counted by the star builders


def day_key(value: object) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def counts_by_day(column: pa.ChunkedArray | pa.Array) -> dict[str, int]:
    """Rows per day of a date column, vectorized."""
    if len(column) == 0:
        return {}
    return {day_key(item["values"]): item["counts"] for item in pc.value_counts(column).to_pylist()}


class DayStats:
    """Named counts per day; `stats` names every count, so a day where one is 0 still shows it."""

    def __init__(self, *stats: str) -> None:
        self.stats = stats
        self.by_day: dict[str, Counter] = defaultdict(Counter)

    def add(self, stat: str, counts: dict[str, int]) -> None:
        for day, n in counts.items():
            self.by_day[day][stat] += n

    def count(self, stat: str, table: pa.Table, column: str, where: pa.ChunkedArray | pa.Array | None = None) -> None:
        """Add the table's rows per day (of `column`), only those where `where` is true if given
        (the day column alone is filtered: the other columns, texts included, are not copied)."""
        days = table[column]
        self.add(stat, counts_by_day(days.filter(where) if where is not None else days))

    def of_day(self, day: str) -> dict[str, int]:
        """Every stat of the day (0 where nothing was counted)."""
        counts = self.by_day.get(day, Counter())
        return {s: counts[s] for s in self.stats}

    def totals(self, stat: str) -> int:
        return sum(c[stat] for c in self.by_day.values())


def per_day_of(summary: dict) -> DayStats:
    return summary.get(PER_DAY) or DayStats()


def run_level_of(summary: dict) -> dict:
    return {k: v for k, v in summary.items() if k != PER_DAY}


def count_by_key(table: pa.Table, column: str, counts: dict[str, int]) -> None:
    """Add the table's rows per partition key (ISO day) to counts, vectorized."""
    for key, n in counts_by_day(table[column]).items():
        counts[key] = counts.get(key, 0) + n
