"""The warehouse checks' evaluations read back from the Dagster instance: the days a blocking check
failed on (the rating model refuses them) and each check's state for `amzn-assets summary` (or the
checks run there and then, without an instance)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from dagster import DagsterInstance, build_resources

from amzn_assets.wiring.checks import check_key
from amzn_assets.checks.freshness import batches_after_watermark, reviews_freshness
from amzn_assets.checks.summary import CheckSummary, summarize
from amzn_assets.checks.warehouse import CHECKS, FRESH, Evaluation, check_named, checks_of, evaluate_days

BLOCKING_REVIEW_CHECKS = [c for c in checks_of("reviews_fact") if c.blocking]
# Execution statuses by value: their enum lives in a private Dagster module. PLANNED is an
# evaluation not (yet) recorded: a check step in flight, or one whose run died.
PLANNED, FAILED = "PLANNED", "FAILED"
HISTORY_SCANNED = 200  # latest executions scanned for the latest completed and the latest failed one


def _status(record_or_info) -> str:
    status = getattr(record_or_info, "status", None) or record_or_info.latest_execution_status
    return status.value


def failed_blocking_days(instance: DagsterInstance, days: Iterable[str]) -> dict[str, list[str]]:
    """{day: blocking reviews_fact checks whose latest evaluation on that day failed}."""
    keys = [check_key(c) for c in BLOCKING_REVIEW_CHECKS]
    failed: dict[str, list[str]] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(keys, partition_keys=sorted(set(days))):
        if _status(info) == FAILED:
            failed.setdefault(info.partition_key, []).append(info.check_key.name)
    return dict(sorted(failed.items()))


def describe_failed_days(failed: dict[str, list[str]], shown: int = 5) -> str:
    items = [f"{day} ({', '.join(sorted(names))})" for day, names in list(failed.items())[:shown]]
    return ", ".join(items) + (f" and {len(failed) - shown} more days" if len(failed) > shown else "")


def latest_evaluations(instance: DagsterInstance) -> list[CheckSummary]:
    """Per check, from the instance: the latest evaluation of each day, and the latest of all."""
    storage = instance.event_log_storage
    out = []
    for check in CHECKS:
        key = check_key(check)
        history = storage.get_asset_check_execution_history(key, limit=HISTORY_SCANNED)  # newest first
        completed = [r for r in history if _status(r) != PLANNED and r.evaluation is not None]
        summary = CheckSummary(check)
        if completed:
            summary.shown, summary.latest_passed = completed[0].evaluation.description or "", completed[0].evaluation.passed
        if check.per_day:
            for info in storage.get_asset_check_partition_info([key]):
                if info.partition_key is None or _status(info) == PLANNED:
                    continue
                if _status(info) == FAILED:
                    summary.days_failed += 1
                    summary.failed_days.append(info.partition_key)
                else:
                    summary.days_passed += 1
            failure = next((r for r in completed if _status(r) == FAILED), None)
            if failure is None and summary.failed_days:  # failed longer ago than the newest executions
                deeper = storage.get_asset_check_execution_history(key, limit=HISTORY_SCANNED * 50)
                failure = next((r for r in deeper if _status(r) == FAILED and r.evaluation is not None), None)
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
    from amzn_assets.warehouse.apply import WAREHOUSE

    wanted = {key: resources[key] for key in ("io_manager", "landing")}
    with build_resources(wanted) as built:
        reader = built.landing.reader()
        evaluations = [
            e for table, days in days_by_table.items() for e in evaluate_days(table, days, lambda _name: built.io_manager, reader)
        ]
        watermark, after = batches_after_watermark(reader.ledger, WAREHOUSE)
    fresh = reviews_freshness(watermark, after, {}, datetime.now(timezone.utc))
    return summarize([*evaluations, Evaluation(check_named("reviews_fact", FRESH), None, fresh)])
