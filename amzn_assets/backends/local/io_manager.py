"""Partitioned parquet on a local folder or an object store: <base>/<asset>/<month>.parquet.

A daily table is stored as one file per month (2018-01.parquet), its rows sorted by day in row
groups of at most ROW_GROUP_ROWS, so a reader of a few days reads a few row groups. One file per
day was the first layout: a table of 15 years of reviews was 5,000 files per asset, and a run over
that history spent more time opening, writing and fsyncing small files (~3 ms each) than
transforming its rows. Writing some days of a month rewrites that month's file without them, then
with their new rows (a day with no rows keeps none: it is materialized and empty), written to a
temporary name and renamed, under a lock per table (local folders), so two runs writing days of
one month take turns. On an object store a month is one PUT: concurrent runs must not write days
of one month (docs/scaling.md).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster import ConfigurableIOManagerFactory, Failure, InputContext, MetadataValue, OutputContext, UPathIOManager
from dagster_aws.s3 import S3Resource
from filelock import FileLock
from upath import UPath

from amzn_assets.chunks import TableChunks, chunks_of
from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.contract import StorageSpec, projected, whole_table
from amzn_assets.storage.metadata import record_partition_metadata
from amzn_assets.tables import TABLES_BY_NAME

ROW_GROUP_ROWS = 16_384
LOCK_NAME = ".lock"


class PartitionedParquetIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pa.Table, path: UPath) -> None:
        _write_table(obj, path)

    def load_from_path(self, context: InputContext, path: UPath) -> pa.Table:
        return _read_table(path, None)

    # -- the PartitionStore contract: any set of partition keys --------------------------------------

    def month_path(self, name: str, month: str) -> UPath:
        return self._base_path / name / f"{month}{self.extension}"

    def write_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], obj: pa.Table | TableChunks
    ) -> dict[str, int]:
        wanted = set(keys)
        self.make_directory(self._base_path / name)
        rows: dict[str, int] = {}
        present = self._months_present(name)
        pending: dict[str, list[pa.Table]] = {}  # rows of the month being gathered (chunks are sorted by day)
        done: set[str] = set()  # months rewritten
        with self._table_lock(name):
            for chunk in chunks_of(obj):
                for value, part in slices_by_value(chunk, spec.partition_column):
                    key = _key(value)
                    if key not in wanted or key in rows:
                        raise ValueError(
                            f"{name}: rows for partition {key} {'outside the run' if key not in wanted else 'in two chunks'}"
                        )
                    rows[key] = part.num_rows
                    for month in [m for m in pending if m < key[:7]]:
                        self._replace_days(name, spec, month, _month_keys(keys, month), pending.pop(month), month in present)
                        done.add(month)
                    pending.setdefault(key[:7], []).append(part)
            for month in sorted({key[:7] for key in keys} - done):  # the rest: months gathered last, and emptied ones
                if month in pending or month in present:
                    self._replace_days(name, spec, month, _month_keys(keys, month), pending.pop(month, []), month in present)
        return {key: rows.get(key, 0) for key in keys}

    def _replace_days(
        self, name: str, spec: StorageSpec, month: str, days: list[str], new: list[pa.Table], exists: bool
    ) -> None:
        """Rewrite a month's file with `days` replaced by the new rows (none: those days emptied)."""
        path = self.month_path(name, month)
        kept: list[pa.Table] = []
        if exists:
            old = _read_table(path, None)
            if old.num_rows:
                stale = pc.is_in(pc.cast(old[spec.partition_column], pa.string()), pa.array(days, pa.string()))
                kept = [old.filter(pc.invert(stale))]
        parts = [t for t in kept + new if t.num_rows]
        if not parts:
            if exists:
                path.unlink(missing_ok=True)
            return
        schema = parts[-1].schema
        table = pa.concat_tables([t.cast(schema) for t in parts])
        _write_table(table.take(pc.sort_indices(table, [(spec.partition_column, "ascending")])), path)

    @contextmanager
    def _table_lock(self, name: str) -> Iterator[None]:
        folder = self._base_path / name
        if not _is_local(folder):
            yield
            return
        with FileLock(os.path.join(_local(folder), LOCK_NAME)):  # one per call: threads and processes take turns
            yield

    def _months_present(self, name: str) -> set[str]:
        """The months with a file, from one listing of the table's folder."""
        folder = self._base_path / name
        if _is_local(folder):
            local = _local(folder)
            names = [entry.name for entry in os.scandir(local)] if os.path.isdir(local) else []
        else:
            try:  # refresh: another process may have written since this filesystem cached the listing
                names = [entry.rsplit("/", 1)[-1] for entry in folder.fs.ls(folder.path, detail=False, refresh=True)]
            except FileNotFoundError:
                names = []
        return {n.removesuffix(self.extension) for n in names if n.endswith(self.extension) and not n.startswith(".")}

    def whole_path(self, name: str) -> UPath:
        return self._base_path / f"{name}{self.extension}"

    def write_whole(self, name: str, spec: StorageSpec, table: pa.Table) -> int:
        table = whole_table(name, table)
        self.make_directory(self._base_path)
        _write_table(table.sort_by([(k, "ascending") for k in spec.primary_key]), self.whole_path(name))
        return table.num_rows

    def read_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], columns: Sequence[str] | None = None
    ) -> TableChunks:
        schema = projected(TABLES_BY_NAME[name].schema, columns)
        present = self._months_present(name)
        return self._chunks(name, spec.partition_column, schema, [key for key in keys if key[:7] in present])

    def existing_keys(
        self, name: str, spec: StorageSpec, column: str, values: pa.Array, near: Sequence[str] = ()
    ) -> pa.Array:
        """Reads `column` of the months of the `near` partitions first; only the values not found
        there make it scan the table's other months (none, on a consistent warehouse)."""
        wanted = pc.unique(values.drop_null())
        found: list[pa.Array] = []
        present = self._months_present(name)
        near_months = sorted({key[:7] for key in near} & present)
        for month in near_months + sorted(present - set(near_months)):
            if len(wanted) == 0:
                break
            column_values = _read_table(self.month_path(name, month), [column])[column]
            hits = pc.unique(column_values.filter(pc.is_in(column_values, wanted)))
            if len(hits):
                found.append(hits.cast(wanted.type))
                wanted = wanted.filter(pc.invert(pc.is_in(wanted, hits)))
        return pa.concat_arrays(found) if found else pa.array([], values.type)

    def _days_with_rows(self, name: str, column: str, keys: Sequence[str], present: set[str]) -> set[str]:
        """Which of these days have rows (one read of the day column per month with a file)."""
        days: set[str] = set()
        for month in sorted({key[:7] for key in keys} & present):
            values = _read_table(self.month_path(name, month), [column])[column]
            days |= set(pc.cast(pc.unique(values), pa.string()).to_pylist())
        return days & set(keys)

    def _chunks(self, name: str, column: str, schema: pa.Schema, keys: list[str]) -> TableChunks:
        def read(chunk: list[str]) -> pa.Table:
            parts = [  # the filter keeps exactly the chunk's days (and skips row groups without them)
                _read_table(self.month_path(name, month), schema.names, (column, chunk)).cast(schema)
                for month in sorted({key[:7] for key in chunk})
            ]
            return pa.concat_tables(parts) if parts else schema.empty_table()

        return TableChunks.by_days(keys, schema, read)

    # -- Dagster's side: a run's partition range ------------------------------------------------------

    def handle_output(self, context: OutputContext, obj: pa.Table | TableChunks) -> None:
        name = context.asset_key.path[-1]
        if not context.has_asset_partitions:
            rows = self.write_whole(name, StorageSpec.of(context), obj)
            context.add_output_metadata({"path": MetadataValue.path(str(self.whole_path(name))), "dagster/row_count": rows})
            return
        rows = self.write_partitions(name, StorageSpec.of(context), context.asset_partition_keys, obj)
        record_partition_metadata(context, rows, obj, {"path": MetadataValue.path(str(self._base_path / name))})

    def load_input(self, context: InputContext) -> TableChunks:
        if not context.has_asset_partitions:
            return super().load_input(context)
        name = context.asset_key.path[-1]
        column = TABLES_BY_NAME[name].partition_column
        keys = list(context.asset_partition_keys)
        present = self._months_present(name)
        missing = sorted(set(keys) - self._days_with_rows(name, column, keys, present))
        if missing:  # a materialized day without rows has no rows: it reads as no rows
            materialized = context.instance.get_materialized_partitions(context.asset_key)
            missing = [key for key in missing if key not in materialized]
        if missing and context.definition_metadata.get("allow_missing_partitions"):
            # Dagster's UPathIOManager convention: the input reads an unmaterialized day as no rows.
            context.log.warning(f"{context.asset_key.to_user_string()}: {len(missing)} of {len(keys)} partitions "
                                f"not materialized, read as empty (first {missing[0]})")
        elif missing:
            # Not a transient fault: a Failure the steps' RetryPolicy does not retry (wiring/policies.py).
            raise Failure(
                f"{context.asset_key.to_user_string()} has no materialization for partitions "
                f"{missing[:5]}{' ...' if len(missing) > 5 else ''}: materialize them first",
                allow_retries=False,
            )
        schema = projected(TABLES_BY_NAME[name].schema, context.definition_metadata.get("columns"))
        return self._chunks(name, column, schema, [key for key in keys if key[:7] in present])


class ParquetIOManager(ConfigurableIOManagerFactory):
    """Parquet tables under base_path: a folder, or s3://bucket/prefix through the S3Resource's
    settings (endpoint, region, keys; unset ones come from the AWS_* variables as in boto3)."""

    base_path: str
    s3: S3Resource | None = None

    def create_io_manager(self, context) -> PartitionedParquetIOManager:
        options: dict = {}
        if self.base_path.startswith("s3://") and self.s3 is not None:
            if self.s3.endpoint_url:
                options["endpoint_url"] = self.s3.endpoint_url
            if self.s3.region_name:
                options["client_kwargs"] = {"region_name": self.s3.region_name}
            if self.s3.aws_access_key_id:
                options["key"] = self.s3.aws_access_key_id
                options["secret"] = self.s3.aws_secret_access_key
        return PartitionedParquetIOManager(base_path=UPath(self.base_path, **options))


def _key(value: object) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)


def _month_keys(keys: Sequence[str], month: str) -> list[str]:
    return [key for key in keys if key[:7] == month]


def _is_local(path: UPath) -> bool:
    return path.protocol in ("", "file", "local")


def _local(path: UPath) -> str:
    return str(path.path if hasattr(path, "path") else path)


def _read_table(path: UPath, columns: list[str] | None, days: tuple[str, list[str]] | None = None) -> pa.Table:
    """Read a file (these columns); with days (column, keys), only the row groups that may hold them."""
    filters = [(days[0], "in", [date.fromisoformat(k) for k in days[1]])] if days else None
    if _is_local(path):
        return pq.read_table(_local(path), columns=columns, filters=filters)
    with path.open("rb") as handle:
        return pq.read_table(handle, columns=columns, filters=filters)


def _write_table(table: pa.Table, path: UPath) -> None:
    if _is_local(path):
        # Write then rename, so a reader never sees half a file. The temporary name is unique:
        # two processes writing the same table never share a half-written file.
        local = _local(path)
        tmp = f"{local}.{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(table, tmp, compression="zstd", row_group_size=ROW_GROUP_ROWS)
        os.replace(tmp, local)
    else:
        with path.open("wb") as handle:  # one PUT: an object appears whole or not at all
            pq.write_table(table, handle, compression="zstd", row_group_size=ROW_GROUP_ROWS)
