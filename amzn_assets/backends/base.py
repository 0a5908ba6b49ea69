"""What every backend provides; the defaults suit a backend whose files live in the data directory."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dagster import EnvVar

from amzn_assets.settings import Settings
from amzn_assets.storage.artifacts import MODELS_DIR

if TYPE_CHECKING:
    from dagster import IOManagerDefinition

    from amzn_assets.warehouse.query import QueryResult


def secret(settings: Settings, name: str, value: str) -> str | EnvVar:
    """A secret for a Dagster resource's config: EnvVar(name) when it came from the environment, so
    the UI shows the variable's name rather than its value."""
    return EnvVar(name) if name in settings.secrets_from_env else value


class Backend:
    name = ""
    kind = ""  # the Dagster kind (UI icon) of the star tables' storage

    def table_metadata(self, table: str, partitioned: bool) -> dict[str, str]:
        """Where a star table lives, as catalog metadata: dagster/table_name (a database table,
        schema-qualified) or dagster/uri (parquet files: the table's folder, or its file when whole)."""
        raise NotImplementedError

    def __init__(self, settings: Settings):
        self.settings = settings

    def warehouse_io_manager(self) -> IOManagerDefinition:
        """The IO manager that holds the star tables."""
        raise NotImplementedError

    def query(self, sql: str) -> QueryResult:
        """Run SQL over the warehouse (tables under their asset names)."""
        raise NotImplementedError

    def location(self) -> str:
        """Where the warehouse is, for `amzn-assets summary`."""
        raise NotImplementedError

    def models_base_path(self) -> str:
        """Where model artifacts live: beside the data unless the backend stores files elsewhere."""
        return str(self.settings.data_dir / MODELS_DIR)

    def default_ledger_url(self) -> str:
        """The landing ledger when AMZN_LEDGER_URL is unset: SQLite under landed/."""
        return self.settings.dirs.sqlite_ledger_url
