"""The contract every amzn-assets IO manager keeps.

- An asset output is an amzn_assets.chunks.TableChunks (or a pyarrow.Table): rows that carry the
  asset's partition column (declared in the asset's definition metadata: partition_column,
  primary_key, write_mode), produced a chunk of whole days at a time. Write chunk by chunk, never
  the whole range at once, so memory stays flat however long the range; record summary_of(obj)
  as output metadata after writing.
- handle_output writes every partition key of the run's partition range, even the keys with no
  rows, so re-materializing a partition replaces what was there and never appends.
  write_mode "replace": the partition's rows are replaced whole.
  write_mode "upsert": the partition holds the entities seen that day; the table seen by queries
  is their upsert by primary key, the latest partition winning.
- load_input returns a TableChunks over the requested upstream partitions, read a chunk of days
  at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster import InputContext, OutputContext


@dataclass(frozen=True)
class StorageSpec:
    partition_column: str
    primary_key: tuple[str, ...]
    write_mode: str

    @staticmethod
    def of(context: OutputContext) -> "StorageSpec":
        meta = context.definition_metadata or {}
        missing = {"partition_column", "primary_key", "write_mode"} - set(meta)
        if missing:
            raise ValueError(
                f"asset {context.asset_key.to_user_string()} lacks storage metadata {sorted(missing)}; "
                "declare it with amzn_assets.tables.TableSpec.as_metadata()"
            )
        return StorageSpec(
            str(meta["partition_column"]), tuple(str(meta["primary_key"]).split(",")), str(meta["write_mode"])
        )

    @staticmethod
    def of_input(context: InputContext) -> "StorageSpec":
        return StorageSpec.of(context.upstream_output)
