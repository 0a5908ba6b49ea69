"""The warehouse checks (amzn_assets.checks) in Dagster.

- Specs: declared on reviews_fact and climate (check_specs), one evaluation per check and day
  (partitioned checks; freshness: one per run). The asset yields its Output, the IO manager writes
  it, then the asset evaluates its checks on the written days (checked_output). A failed blocking
  check fails the step after the write, so the run's downstream steps do not run.
- The stream job logs the same AssetCheckEvaluations for the days it wrote (evaluation_event).
- Each domain's checks.py declares its checks with these (domains/reviews, climate, rating_model);
  read back: execution_status here, `amzn-assets summary` in cli/check_summary.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from datetime import datetime, timezone

from dagster import (
    AssetCheckEvaluation,
    AssetCheckKey,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    Output,
    PreviewWarning,
)

from amzn_assets.checks.warehouse import Evaluation, WarehouseCheck, checks_of, evaluate_days
from amzn_assets.checks.warehouse import FRESH as FRESH_CHECK
from amzn_assets.wiring.events import log_batch
from amzn_assets.wiring.partitions import daily_partitions


def check_specs(table: str) -> list[AssetCheckSpec]:
    with warnings.catch_warnings():  # a partitions_def on an AssetCheckSpec is a preview in Dagster 1.13
        warnings.simplefilter("ignore", PreviewWarning)
        return [
            AssetCheckSpec(
                c.name, asset=table, description=c.description, blocking=c.blocking,
                partitions_def=daily_partitions if c.per_day else None,
            )
            for c in checks_of(table)
        ]


def check_key(check: WarehouseCheck) -> AssetCheckKey:
    return AssetCheckKey(AssetKey(check.table), check.name)


def evaluation_event(evaluation: Evaluation) -> AssetCheckEvaluation:
    check = evaluation.check
    return AssetCheckEvaluation(
        asset_key=AssetKey(check.table),
        check_name=check.name,
        passed=evaluation.outcome.passed,
        metadata=evaluation.outcome.metadata,
        severity=AssetCheckSeverity.WARN if check.warn else AssetCheckSeverity.ERROR,
        description=evaluation.outcome.description,
        blocking=check.blocking,
        partition=evaluation.partition,
    )


def checked_output(context: AssetExecutionContext, table: str, output: Output, freshness: Callable | None = None) -> Iterator:
    """Yield the asset's output (the IO manager writes it before the generator resumes), then the
    evaluations of the table's selected checks on the days written, and each check's output.

    The asset declares required_resource_keys {"io_manager", "landing"}: the checks read the star
    tables back through the IO manager that wrote them (any backend), the landed reviews and the
    ledger through the landing zone. freshness: the table's freshness evaluation, when it has the
    `fresh` check (reviews_fact: domains/reviews/checks.py)."""
    read_at = datetime.now(timezone.utc)  # the landed rows these days are built from were read before now
    yield output
    selected = {key.name for key in context.selected_asset_check_keys if key.asset_key == AssetKey(table)}
    if not selected:
        return
    reader = context.resources.landing.reader()
    store_for = lambda _name: context.resources.io_manager  # noqa: E731 (every checked table is a star table)
    evaluations = [e for e in evaluate_days(table, context.partition_keys, store_for, reader) if e.check.name in selected]
    if FRESH_CHECK in selected and freshness is not None:
        evaluations.append(freshness(reader.ledger, context.instance, context.partition_keys, read_at))
    for spec in context.assets_def.check_specs:
        if spec.name in selected:
            yield Output(None, output_name=spec.get_python_identifier())
    failed = [e for e in evaluations if not e.outcome.passed]
    if failed:
        context.log.warning(f"{table}: {len(failed)} check evaluations failed, e.g. {failed[0].outcome.description}")
    # Recorded as one batch (thousands of days: wiring.events); a failed blocking evaluation is
    # yielded, so that Dagster fails the step after the write and its downstream steps do not run.
    stops = [e for e in failed if e.check.blocking and not e.check.warn]
    stopping = {id(e) for e in stops}
    log_batch(context, [evaluation_event(e) for e in evaluations if id(e) not in stopping])
    yield from (evaluation_event(e) for e in stops)


# Execution statuses by value: their enum lives in a private Dagster module. PLANNED is an
# evaluation not (yet) recorded: a check step in flight, or one whose run died.
PLANNED, FAILED = "PLANNED", "FAILED"


def execution_status(record_or_info) -> str:
    """A check execution record's or partition info's status, by value."""
    status = getattr(record_or_info, "status", None) or record_or_info.latest_execution_status
    return status.value
