"""The contract every amzn-assets IO manager keeps.

- An asset output is an amzn_assets.chunks.TableChunks (or a pyarrow.Table): rows that carry the
  asset's partition column (declared in the asset's definition metadata: partition_column,
  primary_key, write_mode), produced a chunk of whole days at a time. Write chunk by chunk, never
  the whole range at once, so memory stays flat however long the range; record summary_of(obj)
  as output metadata after writing.
- Every partition key asked for is written, so re-materializing a partition replaces what was
  there and never appends; a key with no rows is stored as absence (no file, no rows), removing
  what the partition held before. Per-partition metadata: amzn_assets.storage.metadata.
  write_mode "replace": the partition's rows are replaced whole.
  write_mode "upsert": the partition holds the entities seen that day; the table seen by queries
  is their upsert by primary key, the latest partition winning.
- write_mode "whole" (an unpartitioned asset, reference data): the output is one pyarrow.Table
  that replaces the table's rows (write_whole).
- load_input returns a TableChunks over the requested upstream partitions, read a chunk of days
  at a time; only the input's `columns` when its definition metadata names them
  (AssetIn(metadata={"columns": [...]}): a dimension built from a few columns of the staged reviews
  does not read their texts).

Besides handle_output/load_input (a run's partition range, from Dagster's contexts), every IO
manager offers the same two operations on any set of partition keys, contiguous or not, which the
stream job uses to materialize the scattered days a landing fed (see PartitionStore), and a key
lookup the warehouse checks (amzn_assets.checks) use to find dangling references.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Protocol

import pyarrow as pa

from amzn_assets.chunks import TableChunks
from amzn_assets.tables import TABLES_BY_NAME

if TYPE_CHECKING:  # the contract is plain Python: the plain checks (checks/) and the stream use it
    from dagster import InputContext, OutputContext


@dataclass(frozen=True)
class StorageSpec:
    partition_column: str
    primary_key: tuple[str, ...]
    write_mode: str

    @staticmethod
    def of_metadata(meta: dict, what: str) -> "StorageSpec":
        missing = {"partition_column", "primary_key", "write_mode"} - set(meta or {})
        if missing:
            raise ValueError(
                f"asset {what} lacks storage metadata {sorted(missing)}; "
                "declare it with amzn_assets.wiring.catalog.table_metadata()"
            )
        return StorageSpec(str(meta["partition_column"]), tuple(str(meta["primary_key"]).split(",")), str(meta["write_mode"]))

    @staticmethod
    def of(context: OutputContext) -> "StorageSpec":
        return StorageSpec.of_metadata(context.definition_metadata, context.asset_key.to_user_string())

    @staticmethod
    def of_input(context: InputContext) -> "StorageSpec":
        return StorageSpec.of(context.upstream_output)


class PartitionStore(Protocol):
    """What the stream job needs of an IO manager: write or read any set of a table's partitions."""

    def write_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], obj: pa.Table | TableChunks
    ) -> dict[str, int]:
        """Write exactly these partitions (each replaced whole, or upserted); return rows per key."""

    def read_partitions(
        self, name: str, spec: StorageSpec, keys: Sequence[str], columns: Sequence[str] | None = None
    ) -> TableChunks:
        """The rows of these partitions (only `columns`, when given); a partition never written
        reads as no rows."""

    def write_whole(self, name: str, spec: StorageSpec, table: pa.Table) -> int:
        """Replace an unpartitioned table (write_mode "whole") with these rows; return their count."""

    def existing_keys(
        self, name: str, spec: StorageSpec, column: str, values: pa.Array, near: Sequence[str] = ()
    ) -> pa.Array:
        """The distinct values of `values` that occur in the table's `column`, in any partition (a
        dimension's upsert view). `near`: partitions where they are expected, which a store that
        scans files reads first."""


def is_contiguous(keys: Sequence[str]) -> bool:
    """Whether partition keys (days, YYYY-MM-DD) form one unbroken range: a store replaces or reads
    them with one BETWEEN, else with a list of keys."""
    days = sorted(set(keys))
    return (date.fromisoformat(days[-1]) - date.fromisoformat(days[0])).days + 1 == len(days)


def projected(schema: pa.Schema, columns: Sequence[str] | None) -> pa.Schema:
    """The schema of a read of `columns` (all when None), in the table's column order."""
    if columns is None:
        return schema
    unknown = set(columns) - set(schema.names)
    if unknown:
        raise ValueError(f"no such columns: {sorted(unknown)}")
    return pa.schema([f for f in schema if f.name in set(columns)])


def whole_table(name: str, obj: pa.Table | TableChunks) -> pa.Table:
    """An unpartitioned table's output as one Arrow table in its schema (the columns in table order)."""
    table = obj.read_all() if isinstance(obj, TableChunks) else obj
    schema = TABLES_BY_NAME[name].schema
    return table.select(schema.names).cast(schema)
