"""Partitioned parquet on a local folder or an object store: <base>/<asset>/<partition>.parquet."""

from __future__ import annotations

import os
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableIOManagerFactory, InputContext, MetadataValue, OutputContext, UPathIOManager
from dagster_aws.s3 import S3Resource
from upath import UPath

from amzn_assets.chunks import TableChunks, chunks_of, summary_of
from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.contract import StorageSpec
from amzn_assets.tables import TABLES_BY_NAME


class PartitionedParquetIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pa.Table, path: UPath) -> None:
        _write_table(obj, path)

    def load_from_path(self, context: InputContext, path: UPath) -> pa.Table:
        with path.open("rb") as handle:
            return pq.read_table(handle)

    def handle_output(self, context: OutputContext, obj: pa.Table | TableChunks) -> None:
        if not context.has_asset_partitions:
            return super().handle_output(context, obj)
        spec = StorageSpec.of(context)
        paths = self._get_paths_for_partitions(context)
        written: set[str] = set()
        rows = 0
        schema = obj.schema
        for folder in {str(path.parent): path.parent for path in paths.values()}.values():
            self.make_directory(folder)  # once per folder (daily files share <base>/<asset>/), not per file
        first = next(iter(paths.values()))
        for chunk in chunks_of(obj):
            for value, part in slices_by_value(chunk, spec.partition_column):
                key = _key(value)
                if key not in paths or key in written:
                    raise ValueError(
                        f"{context.asset_key.to_user_string()}: rows for partition {key} "
                        f"{'outside the run' if key not in paths else 'in two chunks'}"
                    )
                _write_table(part, paths[key])
                written.add(key)
                rows += part.num_rows
        for key in sorted(set(paths) - written):  # days with no rows are written empty: a re-run replaces
            _write_table(schema.empty_table(), paths[key])
        context.add_output_metadata(
            {"path": MetadataValue.path(str(first.parent)), "dagster/row_count": rows, "partitions_written": len(paths)}
            | summary_of(obj)
        )

    def load_input(self, context: InputContext) -> TableChunks:
        if not context.has_asset_partitions:
            return super().load_input(context)
        paths = self._get_paths_for_partitions(context)
        missing = [key for key, path in paths.items() if not path.exists()]
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
        schema = TABLES_BY_NAME[context.asset_key.path[-1]].schema

        def read(keys: list[str]) -> pa.Table:
            return pa.concat_tables([self.load_from_path(context, paths[k]).cast(schema) for k in keys])

        return TableChunks.by_days(list(paths), schema, read)


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


def _write_table(table: pa.Table, path: UPath) -> None:
    if path.protocol in ("", "file", "local"):
        # Write then rename, so a reader never sees half a partition.
        local = str(path.path if hasattr(path, "path") else path)
        tmp = f"{local}.tmp"
        pq.write_table(table, tmp, compression="zstd")
        os.replace(tmp, local)
    else:
        with path.open("wb") as handle:  # one PUT: an object appears whole or not at all
            pq.write_table(table, handle, compression="zstd")
