"""A partition range's rows produced a few days at a time, so memory does not grow with the range.

Assets return (and the IO managers load) TableChunks: a backfill over ten years holds one chunk
of days in memory at a time. Chunks hold whole days, so per-day transforms are exact per chunk.
`summary()` gives metadata gathered while the chunks were produced; the IO manager records it
after writing them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import pyarrow as pa

DAYS_PER_CHUNK = 31


def _no_summary() -> dict:
    return {}


@dataclass(frozen=True)
class TableChunks:
    schema: pa.Schema
    produce: Callable[[], Iterator[pa.Table]]
    summary: Callable[[], dict] = field(default=_no_summary)

    def __iter__(self) -> Iterator[pa.Table]:
        return self.produce()

    def map(
        self, transform: Callable[[pa.Table], pa.Table], schema: pa.Schema, summary: Callable[[], dict] = _no_summary
    ) -> "TableChunks":
        """Apply a per-chunk transform lazily."""
        return TableChunks(schema, lambda: (transform(chunk) for chunk in self), summary)

    def read_all(self) -> pa.Table:
        tables = list(self)
        return pa.concat_tables(tables) if tables else self.schema.empty_table()

    @staticmethod
    def by_days(
        keys: Sequence[str],
        schema: pa.Schema,
        read: Callable[[list[str]], pa.Table],
        summary: Callable[[], dict] = _no_summary,
        days: int = DAYS_PER_CHUNK,
    ) -> "TableChunks":
        ordered = sorted(keys)
        return TableChunks(schema, lambda: (read(ordered[i : i + days]) for i in range(0, len(ordered), days)), summary)

    @staticmethod
    def of(table: pa.Table) -> "TableChunks":
        return TableChunks(table.schema, lambda: iter([table]))


def chunks_of(obj: pa.Table | TableChunks) -> Iterable[pa.Table]:
    return [obj] if isinstance(obj, pa.Table) else obj


def summary_of(obj: pa.Table | TableChunks) -> dict:
    return obj.summary() if isinstance(obj, TableChunks) else {}
