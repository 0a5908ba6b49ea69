"""What a data catalog reads off the assets: where each table lives under the configured backend
(dagster/table_name on PostgreSQL and Redshift, schema-qualified; dagster/uri on parquet, local or
S3), its column descriptions (tables.py) and the kind of its storage (the UI's icon)."""

from __future__ import annotations

from pathlib import Path

from amzn_assets.backends import backend_for
from amzn_assets.backends.local import parquet_uri
from amzn_assets.settings import Settings
from amzn_assets.tables import TableSpec

_SETTINGS = Settings.from_env()  # read when the code location loads, like every setting of the definitions
_BACKEND = backend_for(_SETTINGS)

WAREHOUSE_KINDS = {_BACKEND.kind}  # the star and reference tables: "parquet", "s3", "postgres" or "redshift"
STAGING_KINDS = {"parquet"}  # landed_* stay local parquet whatever the backend


def warehouse_metadata(spec: TableSpec) -> dict[str, object]:
    """A star or reference table's metadata: its storage contract and columns, and where it lives."""
    return spec.as_metadata() | _BACKEND.table_metadata(spec.name, partitioned=bool(spec.partition_column))


def staging_metadata(spec: TableSpec) -> dict[str, object]:
    """A landed_* table's metadata: it is parquet under the data directory's warehouse/ folder."""
    return spec.as_metadata() | {"dagster/uri": parquet_uri(_SETTINGS.dirs.warehouse.as_uri(), spec.name, True)}


def upload_area_uri() -> str:
    """Where uploads arrive: <AMZN_UPLOAD_URL>/uploaded (s3://...), else the data directory's uploaded/."""
    if _SETTINGS.uploads_to_s3:
        return _SETTINGS.upload_root.rstrip("/") + "/uploaded/"
    return (Path(_SETTINGS.upload_root).resolve() / "uploaded").as_uri() + "/"
