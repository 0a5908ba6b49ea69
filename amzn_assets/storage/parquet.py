"""Partitioned parquet on a local folder or an object store: <base>/<asset>/<partition>.parquet."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from dagster import ConfigurableIOManagerFactory, InputContext, MetadataValue, OutputContext, UPathIOManager
from dagster_aws.s3 import S3Resource
from upath import UPath

from amzn_assets.chunks import TableChunks, chunks_of
from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.contract import StorageSpec, projected, whole_table
from amzn_assets.storage.metadata import record_partition_metadata
from amzn_assets.tables import TABLES_BY_NAME


class PartitionedParquetIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pa.Table, path: UPath) -> None:
        _write_table(obj, path)

    def load_from_path(self, context: InputContext, path: UPath) -> pa.Table:
        return _read_table(path, None)

    # -- the PartitionStore contract: any set of partition keys --------------------------------------

    def partition_path(self, name: str, key: str) -> UPath:
        return self._base_path / name / f"{key}{self.extension}"

    def write_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], obj: pa.Table | TableChunks
    ) -> dict[str, int]:
        paths = {key: self.partition_path(name, key) for key in keys}
        self.make_directory(self._base_path / name)
        rows: dict[str, int] = {}
        for chunk in chunks_of(obj):
            for value, part in slices_by_value(chunk, spec.partition_column):
                key = _key(value)
                if key not in paths or key in rows:
                    raise ValueError(
                        f"{name}: rows for partition {key} {'outside the run' if key not in paths else 'in two chunks'}"
                    )
                _write_table(part, paths[key])
                rows[key] = part.num_rows
        empty = sorted(set(paths) - set(rows))
        if empty:
            # A day with no rows is stored as no file (a backfill over years of mostly empty days
            # writes no file for them); one written before is removed, so a re-run replaces.
            present = self._file_names(name)
            for key in empty:
                if paths[key].name in present:
                    paths[key].unlink(missing_ok=True)
                rows[key] = 0
        return rows

    def _file_names(self, name: str) -> set[str]:
        """The names of the table's partition files, from one listing (not one stat per day)."""
        folder = self._base_path / name
        if folder.protocol in ("", "file", "local"):
            local = str(folder.path if hasattr(folder, "path") else folder)
            return {entry.name for entry in os.scandir(local)} if os.path.isdir(local) else set()
        try:  # refresh: another process may have written since this filesystem cached the listing
            return {entry.rsplit("/", 1)[-1] for entry in folder.fs.ls(folder.path, detail=False, refresh=True)}
        except FileNotFoundError:
            return set()

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
        present = self._file_names(name)
        paths = {key: self.partition_path(name, key) for key in keys}
        return self._chunks(schema, {key: path for key, path in paths.items() if path.name in present})

    def existing_keys(
        self, name: str, spec: StorageSpec, column: str, values: pa.Array, near: Sequence[str] = ()
    ) -> pa.Array:
        """Reads `column` of the `near` partitions first; only the values not found there make it
        scan the table's other files (none, on a consistent warehouse)."""
        wanted = pc.unique(values.drop_null())
        found: list[pa.Array] = []
        present = self._file_names(name)
        near_names = [self.partition_path(name, key).name for key in near]
        ordered = [n for n in near_names if n in present] + sorted(present - set(near_names))
        for file_name in ordered:
            if len(wanted) == 0:
                break
            if not file_name.endswith(self.extension):
                continue
            column_values = _read_table(self._base_path / name / file_name, [column])[column]
            hits = pc.unique(column_values.filter(pc.is_in(column_values, wanted)))
            if len(hits):
                found.append(hits.cast(wanted.type))
                wanted = wanted.filter(pc.invert(pc.is_in(wanted, hits)))
        return pa.concat_arrays(found) if found else pa.array([], values.type)

    def _chunks(self, schema: pa.Schema, paths: dict[str, UPath]) -> TableChunks:
        def read(keys: list[str]) -> pa.Table:
            return pa.concat_tables([_read_table(paths[k], schema.names).cast(schema) for k in keys] or [schema.empty_table()])

        return TableChunks.by_days(list(paths), schema, read)

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
        paths = self._get_paths_for_partitions(context)
        present = self._file_names(context.asset_key.path[-1])
        missing = [key for key, path in paths.items() if path.name not in present]
        if missing:  # a materialized day without rows has no file: it reads as no rows
            materialized = context.instance.get_materialized_partitions(context.asset_key)
            empty = {key for key in missing if key in materialized}
            paths = {key: path for key, path in paths.items() if key not in empty}
            missing = [key for key in missing if key not in empty]
        if missing and context.definition_metadata.get("allow_missing_partitions"):
            # Dagster's UPathIOManager convention: the input reads an unmaterialized day as no rows.
            context.log.warning(f"{context.asset_key.to_user_string()}: {len(missing)} of {len(paths)} partitions "
                                f"not materialized, read as empty (first {missing[0]})")
            absent = set(missing)
            paths = {key: path for key, path in paths.items() if key not in absent}
        elif missing:
            raise FileNotFoundError(
                f"{context.asset_key.to_user_string()} has no materialization for partitions "
                f"{missing[:5]}{' ...' if len(missing) > 5 else ''}: materialize them first"
            )
        schema = projected(TABLES_BY_NAME[context.asset_key.path[-1]].schema, context.definition_metadata.get("columns"))
        return self._chunks(schema, paths)


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


def _read_table(path: UPath, columns: list[str] | None) -> pa.Table:
    with path.open("rb") as handle:
        return pq.read_table(handle, columns=columns)


def _write_table(table: pa.Table, path: UPath) -> None:
    if path.protocol in ("", "file", "local"):
        # Write then rename, so a reader never sees half a partition. The temporary name is unique:
        # two runs writing the same day (a backfill beside the stream) never share a half-written file.
        local = str(path.path if hasattr(path, "path") else path)
        tmp = f"{local}.{uuid.uuid4().hex[:8]}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, local)
    else:
        with path.open("wb") as handle:  # one PUT: an object appears whole or not at all
            pq.write_table(table, handle, compression="zstd")
