"""What a data catalog reads off the assets: where each table lives under the configured backend
(dagster/table_name on PostgreSQL and Redshift, schema-qualified; dagster/uri on parquet, local or
S3), its column descriptions (tables.py) and the kind of its storage (the UI's icon)."""

from __future__ import annotations

from pathlib import Path

from dagster import TableColumn, TableColumnConstraints, TableSchema

from amzn_assets.backends import backend_for
from amzn_assets.backends.local import parquet_uri
from amzn_assets.settings import Settings
from amzn_assets.tables import TableSpec

STAGING_KINDS = {"parquet"}  # landed_* stay local parquet whatever the backend


def table_metadata(spec: TableSpec) -> dict[str, object]:
    """A table's metadata for its asset: how the IO managers store it, and its columns for the UI and
    catalog (dagster/column_schema with tables.py's descriptions, the key columns marked)."""
    columns = [
        TableColumn(
            f.name,
            str(f.type),
            description=spec.column_description(f.name),
            constraints=TableColumnConstraints(nullable=f.name not in spec.primary_key),
            tags={"primary_key": ""} if f.name in spec.primary_key else {},
        )
        for f in spec.schema
    ]
    return {
        "partition_column": spec.partition_column,
        "primary_key": ",".join(spec.primary_key),
        "write_mode": spec.mode,
        "dagster/column_schema": TableSchema(columns=columns),
    }


def warehouse_kinds(settings: Settings) -> set[str]:
    """The star and reference tables' kind: "parquet", "s3", "postgres" or "redshift"."""
    return {backend_for(settings).kind}


def warehouse_metadata(settings: Settings, spec: TableSpec) -> dict[str, object]:
    """A star or reference table's metadata: its storage contract and columns, and where it lives."""
    return table_metadata(spec) | backend_for(settings).table_metadata(spec.name, partitioned=bool(spec.partition_column))


def staging_metadata(settings: Settings, spec: TableSpec) -> dict[str, object]:
    """A landed_* table's metadata: it is parquet under the data directory's warehouse/ folder."""
    return table_metadata(spec) | {"dagster/uri": parquet_uri(settings.dirs.warehouse.as_uri(), spec.name, True)}


def upload_area_uri(settings: Settings) -> str:
    """Where uploads arrive: <AMZN_UPLOAD_URL>/uploaded (s3://...), else the data directory's uploaded/."""
    if settings.uploads_to_s3:
        return settings.upload_root.rstrip("/") + "/uploaded/"
    return (Path(settings.upload_root).resolve() / "uploaded").as_uri() + "/"
