"""What an IO manager records about a partition range it wrote: one materialization per partition
that describes that partition (partition_metadata).

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

from dagster import AssetKey, DagsterInvariantViolationError, MetadataValue, OutputContext
from dagster._core.execution.context.metadata_logging import AssetMetadataHandle, OutputMetadataAccumulator

from amzn_assets.chunks import summary_of
from amzn_assets.day_stats import RATING_STATS, per_day_of, run_level_of


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


def partition_metadata(rows: dict[str, int], summary: dict) -> dict[str, dict]:
    """Materialization metadata per partition written: `dagster/row_count` (the rows the write
    stored for the day) and the builder's counts of that day; the run-level figures (run_*) on the
    first partition only."""
    per_day = per_day_of(summary)
    out: dict[str, dict] = {}
    for key, count in rows.items():
        counts = per_day.of_day(key)
        meta: dict = {"dagster/row_count": count}
        if any(s in counts for s in RATING_STATS):
            meta["rating_histogram"] = histogram_markdown({r: counts.pop(s) for r, s in enumerate(RATING_STATS, 1)})
        out[key] = meta | counts
    if rows:
        first = min(rows)
        out[first] |= {"run_partitions_written": len(rows), "run_rows_written": sum(rows.values())}
        out[first] |= {f"run_{k}": v for k, v in run_level_of(summary).items()}
    return out


def histogram_markdown(counts: dict[int, int]) -> MetadataValue:
    total = sum(counts.values()) or 1
    lines = ["| rating | reviews | share |", "|---|---:|---|"]
    for rating in sorted(counts, reverse=True):
        share = counts[rating] / total
        lines.append(f"| {'★' * rating} | {counts[rating]} | {'█' * round(share * 20)} {share:.0%} |")
    return MetadataValue.md("\n".join(lines))
