"""The local parquet warehouse's files, for tests: one file per table and month (2018-01.parquet),
rows sorted by day (amzn_assets/backends/local/io_manager.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from amzn_assets.tables import TABLES_BY_NAME


def _day_column(folder: Path) -> str:
    return TABLES_BY_NAME[folder.name].partition_column


def month_file(folder: Path, day: str) -> Path:
    return folder / f"{day[:7]}.parquet"


def days_stored(folder: Path) -> set[str]:
    """The days with rows in a table's month files."""
    column = _day_column(folder)
    days: set[str] = set()
    for path in folder.glob("*.parquet"):
        days |= {str(d) for d in pq.read_table(path, columns=[column])[column].to_pylist()}
    return days


def _on(table: pa.Table, column: str, day: str) -> pa.Array:
    return pc.equal(pc.cast(table[column], pa.string()), day)


def day_rows(folder: Path, day: str) -> pa.Table:
    path, column = month_file(folder, day), _day_column(folder)
    table = pq.read_table(path)
    return table.filter(_on(table, column, day))


def rewrite_day(folder: Path, day: str, change: Callable[[pa.Table], pa.Table]) -> None:
    """Replace one day's rows in its month file by change(rows)."""
    path, column = month_file(folder, day), _day_column(folder)
    table = pq.read_table(path)
    on = _on(table, column, day)
    changed = change(table.filter(on))
    pq.write_table(pa.concat_tables([table.filter(pc.invert(on)), changed.cast(table.schema)]), path)


def delete_day(folder: Path, day: str) -> None:
    rewrite_day(folder, day, lambda rows: rows.slice(0, 0))
