"""`amzn-assets summary`'s checks: each warehouse check's state read back from the Dagster instance,
or the checks run there and then, without an instance."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone

from dagster import DagsterInstance, build_resources

from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets.wiring.checks import FAILED, PLANNED, check_key, execution_status
from amzn_assets.checks.freshness import batches_after_watermark, reviews_freshness
from amzn_assets.checks.summary import CheckSummary, summarize
from amzn_assets.checks.warehouse import CHECKS, FRESH, Evaluation, check_named, evaluate_days

HISTORY_SCANNED = 200  # latest executions scanned for the latest completed and the latest failed one


def latest_evaluations(instance: DagsterInstance) -> list[CheckSummary]:
    """Per check, from the instance: the latest evaluation of each day, and the latest of all."""
    storage = instance.event_log_storage
    out = []
    for check in CHECKS:
        key = check_key(check)
        history = storage.get_asset_check_execution_history(key, limit=HISTORY_SCANNED)  # newest first
        completed = [r for r in history if execution_status(r) != PLANNED and r.evaluation is not None]
        summary = CheckSummary(check)
        if completed:
            summary.shown, summary.latest_passed = completed[0].evaluation.description or "", completed[0].evaluation.passed
        if check.per_day:
            for info in storage.get_asset_check_partition_info([key]):
                if info.partition_key is None or execution_status(info) == PLANNED:
                    continue
                if execution_status(info) == FAILED:
                    summary.days_failed += 1
                    summary.failed_days.append(info.partition_key)
                else:
                    summary.days_passed += 1
            failure = next((r for r in completed if execution_status(r) == FAILED), None)
            if failure is None and summary.failed_days:  # failed longer ago than the newest executions
                deeper = storage.get_asset_check_execution_history(key, limit=HISTORY_SCANNED * 50)
                failure = next((r for r in deeper if execution_status(r) == FAILED and r.evaluation is not None), None)
            if failure is not None and failure.partition in summary.failed_days:
                summary.shown = failure.evaluation.description or ""
        elif summary.latest_passed is not None:
            summary.days_passed, summary.days_failed = int(summary.latest_passed), int(not summary.latest_passed)
        out.append(summary)
    return out


def evaluate_now(resources: dict, days_by_table: dict[str, Sequence[str]]) -> list[CheckSummary]:
    """Run the checks over the warehouse without a Dagster instance (`amzn-assets summary` when
    DAGSTER_HOME is not set), through the code location's resources. Freshness then knows only the
    stream's watermark: days written by asset runs since a batch landed do not count."""
    wanted = {key: resources[key] for key in ("io_manager", "landing")}
    with build_resources(wanted) as built:
        reader = built.landing.reader()
        evaluations = [
            e for table, days in days_by_table.items() for e in evaluate_days(table, days, lambda _name: built.io_manager, reader)
        ]
        watermark, after = batches_after_watermark(reader.ledger, STREAM_WATERMARK)
    fresh = reviews_freshness(watermark, after, {}, datetime.now(timezone.utc))
    return summarize([*evaluations, Evaluation(check_named("reviews_fact", FRESH), None, fresh)])
