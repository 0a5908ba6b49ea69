"""What an IO manager records about a partition range it wrote: one materialization per partition
that describes that partition (amzn_assets.wiring.reporting.partition_metadata).

Dagster logs one materialization per partition of an output; metadata added with
context.add_output_metadata goes on every one of them, so only what is true of each partition
(where the table lives) goes there. The per-partition part goes through the step's
add_asset_metadata(partition_key=...), which Dagster merges into that partition's event
(dagster/_core/execution/plan/execute_step.py, _get_output_asset_events): still one event per
partition.
"""

from __future__ import annotations

from dagster import DagsterInvariantViolationError, OutputContext

from amzn_assets.wiring.reporting import partition_metadata
from amzn_assets.chunks import summary_of


def record_partition_metadata(context: OutputContext, rows: dict[str, int], obj, constant: dict) -> None:
    context.add_output_metadata(constant)
    try:
        step = context.step_context
    except DagsterInvariantViolationError:  # a context built outside a run: no materialization to describe
        return
    for key, meta in partition_metadata(rows, summary_of(obj)).items():
        step.add_asset_metadata(meta, asset_key=context.asset_key, partition_key=key)
