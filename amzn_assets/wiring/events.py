"""Recording many asset events from one step as one batch.

`context.log_event` stores each AssetMaterialization or AssetCheckEvaluation on its own (a
transaction or three per event). A run that writes thousands of days records one event per table,
day and check, so log_batch builds the same DagsterEvents with batch metadata: with
DAGSTER_EVENT_BATCH_SIZE > 0 (set by the instance storage, wiring/sqlite_instance.py) the instance
buffers them and stores each batch at once. Without it they are stored one by one, as
log_event would.

Dagster batches the per-partition materializations of a range output itself; the only public
way to record events from a step is one at a time, so this reaches into the context's event list
exactly as OpExecutionContext.log_event does (pinned Dagster; test_event_batching holds it).
"""

from __future__ import annotations

from collections.abc import Sequence

from dagster import AssetCheckEvaluation, AssetMaterialization, OpExecutionContext
from dagster._core.events import DagsterEvent, DagsterEventBatchMetadata, DagsterEventType, generate_event_batch_id

EVENTS_PER_BATCH = 2_000  # bounds what one transaction (and the buffer) holds


def log_batch(context: OpExecutionContext, events: Sequence[AssetMaterialization | AssetCheckEvaluation]) -> None:
    """Record the events of this step as batches of at most EVENTS_PER_BATCH: the materializations
    in one series, the check evaluations in another (batched only where the instance's storage
    stores them in batches: Dagster's PostgreSQL storage batches materializations alone)."""
    context = getattr(context, "op_execution_context", context)  # an AssetExecutionContext wraps one
    step = context.get_step_execution_context()
    checks_batched = getattr(context.instance.event_log_storage, "stores_check_batches", False)
    materializations = [e for e in events if isinstance(e, AssetMaterialization)]
    checks = [e for e in events if not isinstance(e, AssetMaterialization)]
    for series, batched in ((materializations, True), (checks, checks_batched)):
        for start in range(0, len(series), EVENTS_PER_BATCH):
            chunk = series[start : start + EVENTS_PER_BATCH]
            batch_id = generate_event_batch_id()
            for index, event in enumerate(chunk):
                metadata = DagsterEventBatchMetadata(batch_id, index == len(chunk) - 1) if batched else None
                context._events.append(_dagster_event(step, event, metadata))  # noqa: SLF001 (as log_event does)


def _dagster_event(step, event, metadata: DagsterEventBatchMetadata | None) -> DagsterEvent:
    if isinstance(event, AssetMaterialization):
        return DagsterEvent.asset_materialization(step, event, metadata)
    return DagsterEvent.from_step(
        DagsterEventType.ASSET_CHECK_EVALUATION,
        step,
        event,
        f"Asset check '{event.check_name}' on '{event.asset_key.to_user_string()}' " + ("passed." if event.passed else "did not pass.")
        + ("" if event.description is None else f" Description: '{event.description}'"),
        metadata,
    )
