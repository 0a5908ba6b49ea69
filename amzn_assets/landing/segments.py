"""Landed segments: parquet files named by their batch, grouped by partition day, month or span.

    data/landed/reviews/review_date=2018-01-05/<batch_id>.parquet       a batch touching few days
                                                                        (the trickle of current days)
    data/landed/reviews/spans/<batch_id>.<first>.<last>.parquet         a batch touching more days: one
                                                                        segment, sorted by day
    data/landed/reviews/review_month=2018-01/<batch_id>.<part>.parquet  bulk imports (per month,
                                                                        sorted by day)
    data/landed/reviews/compacted/<compaction_id>.<first>.<last>.parquet  spans merged by a compaction
                                                                        (landing/compaction.py): pieces
                                                                        of disjoint day ranges, sorted by
                                                                        day, then by landing_batch

A batch of 5,000 historical one-review files spans some 900 days: one segment per day made it
write and fsync 900 files, most of the time of landing it. Per-day segments stay for batches of a
few days, so that a reader of one day does not open every batch of a month. Bulk imports group by
month so that a dump spanning fifteen years writes a few hundred files, not thousands of tiny ones.

A segment is written to a temporary name and fsynced, then renamed, and the folders holding the
new names are fsynced before `write` returns: a segment is whole or absent, and present once the
ledger commit that follows says so. Readers take only segments whose batch the ledger shows as
committed (or, for compacted pieces, whose compaction it shows as live: compaction.readable_segments).

Rows of a compacted piece carry their source batch (landing_batch): a read that meets one puts
the rows back in batch order, so "the last landed copy wins" holds across compaction.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amzn_assets.slicing import slices_by_value

MONTH_PREFIX = "review_month"  # folder prefix of month segments, whatever the kind's column
SPAN_FOLDER = "spans"  # segments of batches touching more than DAY_SEGMENTS_MAX days
DAY_SEGMENTS_MAX = 4  # a batch touching at most this many days writes one segment per day
SPAN_ROW_GROUP = 4096  # rows sorted by day: a reader of a few days reads a few row groups
COMPACTED_FOLDER = "compacted"  # pieces written by landing/compaction.py
BATCH_COLUMN = "landing_batch"  # a compacted row's source batch, for the readers' batch order


def with_batch_column(schema: pa.Schema) -> pa.Schema:
    """A kind's schema as compacted pieces store it: the source batch of each row appended."""
    return schema.append(pa.field(BATCH_COLUMN, pa.string()))


class SegmentStore:
    def __init__(self, landed_dir: Path):
        self.root = landed_dir

    def write(
        self,
        kind: str,
        table: pa.Table,
        partition_column: str | None,
        batch_id: str,
        part: int | None = None,
        by_month: bool = False,
    ) -> list[str]:
        """Write a batch's rows (a batch written in several parts numbers them); return the
        partition days written (empty for unpartitioned kinds)."""
        if table.num_rows == 0:
            return []
        name = f"{batch_id}.parquet" if part is None else f"{batch_id}.{part:06d}.parquet"
        folder = self.root / kind
        if partition_column is None:
            _write_durably([(table, folder / name, None)])
            return []
        if by_month:
            return self._write_months(table, partition_column, folder, name)
        days = pc.unique(table[partition_column])
        if len(days) > DAY_SEGMENTS_MAX:
            ordered = table.take(pc.sort_indices(table[partition_column]))  # stable: file order kept per day
            first, last = pc.min_max(days).values()
            span = f"{batch_id}.{first.as_py().isoformat()}.{last.as_py().isoformat()}.parquet"
            _write_durably([(ordered, folder / SPAN_FOLDER / span, SPAN_ROW_GROUP)])
        else:
            _write_durably(
                [(rows, folder / f"{partition_column}={day.isoformat()}" / name, None)
                 for day, rows in slices_by_value(table, partition_column)]
            )
        return sorted(d.isoformat() for d in days.to_pylist())

    def _write_months(self, table: pa.Table, partition_column: str, folder: Path, name: str) -> list[str]:
        # One sort by day (which also groups months; one take of the text columns, not two), then
        # each month is a contiguous slice.
        ordered = table.take(pc.sort_indices(table[partition_column]))
        months = pc.strftime(pc.cast(ordered[partition_column], pa.timestamp("s")), format="%Y-%m")
        runs = pc.run_end_encode(months.combine_chunks())
        segments, start = [], 0
        for end, month in zip(runs.run_ends.to_pylist(), runs.values.to_pylist()):
            segments.append((ordered.slice(start, end - start), folder / f"{MONTH_PREFIX}={month}" / name, 16_384))
            start = end
        _write_durably(segments)
        return sorted(d.isoformat() for d in pc.unique(table[partition_column]).to_pylist())

    def delete_batch(self, kind: str, batch_id: str) -> int:
        removed = 0
        for pattern in (f"{batch_id}.*", f"*/{batch_id}.*", f".{batch_id}.*", f"*/.{batch_id}.*"):
            for path in (self.root / kind).glob(pattern):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def read(
        self,
        kind: str,
        schema: pa.Schema,
        committed: set[str],
        partition_column: str | None = None,
        keys: Iterable[str] = (),
    ) -> pa.Table:
        """Committed rows of the given partition days (or all of an unpartitioned kind), in batch order."""
        keys = sorted(set(keys))
        paths = self.paths(kind, committed, partition_column, keys)
        if not paths:
            return schema.empty_table()
        wanted = pa.array(keys, pa.string())
        days = [date.fromisoformat(k) for k in keys]
        tables, batches = [], []
        for path in paths:
            if path.parent.name == COMPACTED_FOLDER:  # rows of many batches, sorted by day then batch
                table = pq.read_table(path, schema=with_batch_column(schema), filters=[(partition_column, "in", days)])
                batches.append(table[BATCH_COLUMN])
                table = table.drop_columns([BATCH_COLUMN])
            elif path.parent.name == SPAN_FOLDER:  # row groups of other days are skipped by their statistics
                table = pq.read_table(path, schema=schema, filters=[(partition_column, "in", days)])
                batches.append(batch_of(path))
            else:
                table = pq.read_table(path, schema=schema)
                if path.parent.name.startswith(MONTH_PREFIX):  # a month holds other days too
                    table = table.filter(pc.is_in(pc.cast(table[partition_column], pa.string()), wanted))
                batches.append(batch_of(path))
            tables.append(table)
        return _in_batch_order(tables, batches)

    def paths(
        self, kind: str, committed: set[str], partition_column: str | None = None, keys: Iterable[str] = ()
    ) -> list[Path]:
        """The segments a read of these days opens (readable batches and compactions only), in
        batch order (batch ids sort by creation time)."""
        keys = sorted(set(keys))
        if partition_column is None:
            folders = [self.root / kind]
        else:
            months = sorted({k[:7] for k in keys})
            folders = [self.root / kind / f"{partition_column}={k}" for k in keys]
            folders += [self.root / kind / f"{MONTH_PREFIX}={m}" for m in months]
        paths = []
        for folder in folders:
            if folder.is_dir():
                paths.extend(p for p in folder.iterdir() if p.suffix == ".parquet" and batch_of(p) in committed)
        if partition_column is not None:
            paths.extend(self._ranges_covering(kind, SPAN_FOLDER, keys, committed))
            paths.extend(self._ranges_covering(kind, COMPACTED_FOLDER, keys, committed))
        paths.sort(key=lambda p: (p.name, p.parent.name))
        return paths

    def _ranges_covering(self, kind: str, folder_name: str, keys: list[str], committed: set[str]) -> list[Path]:
        """Committed segments of a folder of <batch>.<first>.<last>.parquet (spans, compacted pieces)
        whose day range holds one of the (sorted) keys (ISO days sort as text)."""
        if not keys:
            return []
        found = []
        for batch, first, last, path in self.ranged(kind, folder_name):
            if batch in committed:
                at = bisect_left(keys, first)
                if at < len(keys) and keys[at] <= last:
                    found.append(path)
        return found

    def ranged(self, kind: str, folder_name: str) -> list[tuple[str, str, str, Path]]:
        """(batch or compaction, first day, last day, path) of every segment in a folder of ranged
        segments (spans, compacted pieces), whatever the ledger says of it."""
        folder = self.root / kind / folder_name
        found = []
        for path in folder.iterdir() if folder.is_dir() else ():
            parts = path.name.split(".")
            if len(parts) == 4 and parts[3] == "parquet":
                found.append((parts[0], parts[1], parts[2], path))
        return found

    def read_all_partitions(
        self, kind: str, partition_column: str, columns: list[str], committed: set[str]
    ) -> pa.Table:
        """Some columns (plus the partition column) of every committed segment of a partitioned kind."""
        root = self.root / kind
        paths = sorted(root.glob("*/*.parquet")) if root.is_dir() else []
        wanted = list(dict.fromkeys(columns + [partition_column]))
        tables = [pq.read_table(p, columns=wanted) for p in paths if batch_of(p) in committed]
        if not tables:
            return pa.table({c: pa.array([], pa.string()) for c in wanted})
        return pa.concat_tables(tables)


def batch_of(path: Path) -> str:
    """The batch a segment belongs to: <batch_id>.parquet, <batch_id>.<part>.parquet or a span."""
    return path.name.split(".", 1)[0]


def _in_batch_order(tables: list[pa.Table], batches: list) -> pa.Table:
    """Concatenate segments read in batch order (each batches[i] is the batch of all of tables[i],
    or, for a compacted piece, the batch of each row): the rows of a compacted piece go back to the
    places of their batches, each batch's rows in their landed order (a stable sort by batch)."""
    merged = pa.concat_tables(tables)
    if all(isinstance(b, str) for b in batches):  # no compacted piece: already in batch order
        return merged
    named = {b for b in batches if isinstance(b, str)}
    for b in batches:
        if not isinstance(b, str):
            named.update(pc.unique(b).to_pylist())
    names = sorted(named)
    rank_of, value_set = {n: i for i, n in enumerate(names)}, pa.array(names, pa.string())
    order = [
        np.full(t.num_rows, rank_of[b], np.int32) if isinstance(b, str)
        else pc.index_in(b, value_set=value_set).to_numpy(zero_copy_only=False).astype(np.int32)
        for t, b in zip(tables, batches)
    ]
    rank = np.concatenate(order) if order else np.empty(0, np.int32)
    if rank.size < 2 or bool(np.all(rank[1:] >= rank[:-1])):
        return merged
    return merged.take(pa.array(np.argsort(rank, kind="stable")))


def _write_durably(segments: list[tuple[pa.Table, Path, int | None]]) -> None:
    """Write each (rows, path, row group size) to a temporary name, fsync and rename it, then fsync
    the folders that gained a name (and the parents of folders created here), once each.

    A failed write (a full disk: ENOSPC) deletes its temporary file and the segments this call
    wrote before it: they belong to a batch not committed, and would only take space."""
    touched: set[Path] = set()
    written: list[Path] = []
    try:
        for table, path, row_group_size in segments:
            missing, folder = [], path.parent
            while not folder.is_dir():
                missing.append(folder)
                folder = folder.parent
            for folder in reversed(missing):
                folder.mkdir(exist_ok=True)
                touched.add(folder.parent)
            tmp = path.with_name(f".{path.name}.tmp")
            written.append(tmp)
            with open(tmp, "wb") as handle:
                # lz4: landed segments are intermediate data, written once and read a few times; it
                # writes ~15% faster than zstd here for ~40% more bytes.
                pq.write_table(table, handle, compression="lz4", row_group_size=row_group_size)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
            written[-1] = path
            touched.add(path.parent)
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    for folder in sorted(touched, key=lambda p: len(p.parts), reverse=True):
        _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
