"""Partitioned parquet on a local folder or an object store: <base>/<asset>/<partition>.parquet."""

from __future__ import annotations

import os
from datetime import date

import pyarrow as pa
import pyarrow.parquet as pq
from dagster import ConfigurableIOManagerFactory, InputContext, MetadataValue, OutputContext, UPathIOManager
from dagster_aws.s3 import S3Resource
from upath import UPath

from amzn_assets.slicing import slices_by_value
from amzn_assets.storage.contract import StorageSpec


class PartitionedParquetIOManager(UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: OutputContext, obj: pa.Table, path: UPath) -> None:
        _write_table(obj, path)

    def load_from_path(self, context: InputContext, path: UPath) -> pa.Table:
        with path.open("rb") as handle:
            return pq.read_table(handle)

    def handle_output(self, context: OutputContext, obj: pa.Table) -> None:
        if not context.has_asset_partitions:
            return super().handle_output(context, obj)
        spec = StorageSpec.of(context)
        paths = self._get_paths_for_partitions(context)
        by_key = {_key(value): rows for value, rows in slices_by_value(obj, spec.partition_column)}
        unexpected = set(by_key) - set(paths)
        if unexpected:
            raise ValueError(
                f"{context.asset_key.to_user_string()}: rows for partitions outside the run's range: "
                f"{sorted(unexpected)[:5]}"
            )
        for key, path in paths.items():
            self.make_directory(path.parent)
            _write_table(by_key.get(key, obj.schema.empty_table()), path)
        first = next(iter(paths.values()))
        context.add_output_metadata(
            {
                "path": MetadataValue.path(str(first.parent)),
                "dagster/row_count": obj.num_rows,
                "partitions_written": len(paths),
            }
        )

    def load_input(self, context: InputContext) -> pa.Table:
        if not context.has_asset_partitions:
            return super().load_input(context)
        paths = self._get_paths_for_partitions(context)
        missing = [key for key, path in paths.items() if not path.exists()]
        if missing:
            raise FileNotFoundError(
                f"{context.asset_key.to_user_string()} has no materialization for partitions "
                f"{missing[:5]}{' ...' if len(missing) > 5 else ''}: materialize them first"
            )
        return pa.concat_tables([self.load_from_path(context, paths[k]) for k in sorted(paths)])


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
