"""What an IO manager records about a partition range it wrote: one materialization per partition
that describes that partition (amzn_assets.wiring.reporting.partition_metadata).

Dagster logs one materialization per partition of an output; metadata added with
context.add_output_metadata goes on every one of them, so only what is true of each partition
(where the table lives) goes there. The per-partition part is what the step's
add_asset_metadata(partition_key=...) records, which Dagster merges into that partition's event
(dagster/_core/execution/plan/execute_step.py, _get_output_asset_events): still one event per
partition. add_asset_metadata copies and re-validates every partition's metadata added so far
(Dagster 1.13.27, metadata_logging.py), so N partitions cost O(N²): 5,274 days spent ~5 s per
asset in it. add_partition_metadata makes the same accumulator in one step.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import AssetKey, DagsterInvariantViolationError, OutputContext
from dagster._core.execution.context.metadata_logging import AssetMetadataHandle, OutputMetadataAccumulator

from amzn_assets.chunks import summary_of
from amzn_assets.wiring.reporting import partition_metadata


def record_partition_metadata(context: OutputContext, rows: dict[str, int], obj, constant: dict) -> None:
    context.add_output_metadata(constant)
    try:
        step = context.step_context
    except DagsterInvariantViolationError:  # a context built outside a run: no materialization to describe
        return
    add_partition_metadata(step, context.asset_key, context.asset_partition_keys, partition_metadata(rows, summary_of(obj)))


def add_partition_metadata(step, asset_key: AssetKey, run_keys, by_partition: Mapping[str, Mapping]) -> None:
    """step.add_asset_metadata(meta, asset_key, partition_key) for every partition, at once."""
    unknown = set(by_partition) - set(run_keys)
    if unknown:
        raise DagsterInvariantViolationError(f"metadata for partitions outside the run: {sorted(unknown)[:3]}")
    current = dict(step._metadata_accumulator.per_output_metadata)  # noqa: SLF001 (see the module's docstring)
    for key, meta in by_partition.items():
        handle = AssetMetadataHandle(asset_key=asset_key, partition_key=key)
        current[handle] = {**current.get(handle, {}), **meta}
    step._metadata_accumulator = OutputMetadataAccumulator(per_output_metadata=current)  # noqa: SLF001
