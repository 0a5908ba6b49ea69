"""Landed segments: one parquet file per batch and partition, e.g.
data/landed/reviews/review_date=2018-01-05/<batch_id>.parquet.

A segment is written to a temporary name, fsynced, then renamed, so a segment file is either
whole or absent. Readers take only segments whose batch the ledger shows as committed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from amzn_assets.slicing import slices_by_value


class SegmentStore:
    def __init__(self, landed_dir: Path):
        self.root = landed_dir

    def write(
        self, kind: str, table: pa.Table, partition_column: str | None, batch_id: str, part: int | None = None
    ) -> list[str]:
        """Write a batch's rows (a batch written in several parts numbers them); return the
        partition keys written (empty for unpartitioned kinds)."""
        if table.num_rows == 0:
            return []
        name = f"{batch_id}.parquet" if part is None else f"{batch_id}.{part:06d}.parquet"
        if partition_column is None:
            _write_atomically(table, self.root / kind / name)
            return []
        keys = []
        for value, rows in slices_by_value(table, partition_column):
            key = value.isoformat()
            _write_atomically(rows, self.root / kind / f"{partition_column}={key}" / name)
            keys.append(key)
        return keys

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
        """Committed segments of the given partitions (or of the whole kind), in batch order."""
        if partition_column is None:
            folders = [self.root / kind]
        else:
            folders = [self.root / kind / f"{partition_column}={key}" for key in keys]
        paths = []
        for folder in folders:
            if folder.is_dir():
                paths.extend(
                    p for p in folder.iterdir() if p.suffix == ".parquet" and batch_of(p) in committed
                )
        # Batch ids sort by creation time, so the concatenation follows landing order.
        paths.sort(key=lambda p: (p.name, p.parent.name))
        if not paths:
            return schema.empty_table()
        tables = [pq.read_table(p, schema=schema) for p in paths]
        return pa.concat_tables(tables)


    def read_all_partitions(
        self, kind: str, partition_column: str, columns: list[str], committed: set[str]
    ) -> pa.Table:
        """Some columns of every committed segment of a partitioned kind, with the partition day."""
        root = self.root / kind
        paths = sorted(root.glob("*/*.parquet")) if root.is_dir() else []
        tables = []
        for path in paths:
            if batch_of(path) in committed:
                table = pq.read_table(path, columns=columns)
                day = date.fromisoformat(path.parent.name.split("=", 1)[1])
                tables.append(table.append_column(partition_column, pa.array([day] * table.num_rows, pa.date32())))
        return pa.concat_tables(tables) if tables else pa.table({c: pa.array([], pa.string()) for c in columns})


def batch_of(path: Path) -> str:
    """The batch a segment belongs to: <batch_id>.parquet or <batch_id>.<part>.parquet."""
    return path.name.split(".", 1)[0]


def _write_atomically(table: pa.Table, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        pq.write_table(table, handle, compression="zstd")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
