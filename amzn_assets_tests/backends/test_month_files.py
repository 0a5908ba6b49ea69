"""The parquet warehouse's month files (amzn_assets/backends/local/io_manager.py): writing some days of
several months replaces exactly those days and keeps every other day, a range over years writes
one file per month with rows, and two processes writing days of one month both keep theirs."""

from __future__ import annotations

import datetime as dt
import multiprocessing

import pyarrow as pa

from amzn_assets import tables
from amzn_assets.storage.contract import StorageSpec
from amzn_assets.backends.local.io_manager import ParquetIOManager

SPEC = StorageSpec(tables.CLIMATE.partition_column, tables.CLIMATE.primary_key, tables.CLIMATE.mode)


def rows(days: list[str], station: str) -> pa.Table:
    columns = {f.name: pa.nulls(len(days), f.type) for f in tables.CLIMATE_SCHEMA}
    columns["station_id"] = pa.array([station] * len(days))
    columns["date"] = pa.array([dt.date.fromisoformat(d) for d in days], pa.date32())
    return pa.table(columns, schema=tables.CLIMATE_SCHEMA)


def stored(store, days: list[str]) -> dict[str, str]:
    table = store.read_partitions("climate", SPEC, days).read_all()
    return {d.isoformat(): s for d, s in zip(table["date"].to_pylist(), table["station_id"].to_pylist())}


def days_between(first: str, last: str) -> list[str]:
    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    return [(start + dt.timedelta(n)).isoformat() for n in range((end - start).days + 1)]


def test_rewriting_days_of_several_months_keeps_every_other_day(tmp_path):
    store = ParquetIOManager(base_path=str(tmp_path)).create_io_manager(None)
    everything = days_between("2018-01-01", "2018-03-31")
    store.write_partitions("climate", SPEC, everything, rows(everything, "OLD"))
    assert sorted(p.name for p in (tmp_path / "climate").glob("*.parquet")) == ["2018-01.parquet", "2018-02.parquet", "2018-03.parquet"]
    # Days of January and February again (chunks cross the month boundary), one of them now empty.
    again = days_between("2018-01-20", "2018-02-10")
    written = store.write_partitions("climate", SPEC, again, rows([d for d in again if d != "2018-02-01"], "NEW"))
    assert written["2018-02-01"] == 0 and written["2018-01-20"] == 1
    after = stored(store, everything)
    assert {d for d, s in after.items() if s == "NEW"} == set(again) - {"2018-02-01"}
    assert {d for d, s in after.items() if s == "OLD"} == set(everything) - set(again)


def test_a_range_over_years_writes_a_file_per_month_with_rows(tmp_path):
    store = ParquetIOManager(base_path=str(tmp_path)).create_io_manager(None)
    span = days_between("2010-01-01", "2014-12-31")
    with_rows = span[::40]
    store.write_partitions("climate", SPEC, span, rows(with_rows, "S"))
    assert {p.stem for p in (tmp_path / "climate").glob("*.parquet")} == {d[:7] for d in with_rows}
    assert sorted(stored(store, span)) == with_rows


def _write(base: str, days: list[str], station: str) -> None:
    store = ParquetIOManager(base_path=base).create_io_manager(None)
    for day in days:  # many small read-modify-writes of the same month files
        store.write_partitions("climate", SPEC, [day], rows([day], station))


def test_two_processes_writing_days_of_one_month_keep_both(tmp_path):
    days = days_between("2018-01-01", "2018-01-30")
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write, args=(str(tmp_path), days[i::2], f"P{i}")) for i in (0, 1)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    store = ParquetIOManager(base_path=str(tmp_path)).create_io_manager(None)
    assert stored(store, days) == {d: f"P{n % 2}" for n, d in enumerate(days)}
