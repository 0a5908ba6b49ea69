"""reviews_fact's checks: the warehouse rules (amzn_assets.checks.warehouse) declared on the asset,
its freshness (evaluated after each write, by the asset and by the stream job), and the days a
blocking check failed on, read back (the rating model refuses to train over them)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from dagster import AssetCheckSpec, DagsterInstance

from amzn_assets.checks.freshness import batches_after_watermark, reviews_freshness
from amzn_assets.checks.warehouse import FRESH as FRESH_CHECK
from amzn_assets.checks.warehouse import Evaluation, check_named, checks_of
from amzn_assets.landing.ledger import Ledger
from amzn_assets.stream.apply import STREAM_WATERMARK
from amzn_assets.wiring.checks import FAILED, check_key, check_specs, execution_status
from amzn_assets.wiring.instance import latest_materializations

BLOCKING_REVIEW_CHECKS = [c for c in checks_of("reviews_fact") if c.blocking]


def reviews_fact_check_specs() -> list[AssetCheckSpec]:
    return check_specs("reviews_fact")


def freshness_evaluation(ledger: Ledger, instance: DagsterInstance, written_now: Sequence[str], read_at: datetime) -> Evaluation:
    """Freshness of reviews_fact: days written now count as written at read_at (when their landed
    rows were read at the latest); other days at their latest materialization in the instance."""
    watermark, after = batches_after_watermark(ledger, STREAM_WATERMARK)
    now_days = set(written_now)
    earlier = sorted({d for b in after for d in b.days} - now_days)
    latest = latest_materializations(instance, "reviews_fact", earlier)
    written_at = {d: datetime.fromtimestamp(r.timestamp, timezone.utc) for d, r in latest.items()} | {d: read_at for d in now_days}
    outcome = reviews_freshness(watermark, after, written_at, datetime.now(timezone.utc))
    return Evaluation(check_named("reviews_fact", FRESH_CHECK), None, outcome)


def failed_blocking_days(instance: DagsterInstance, days: Iterable[str]) -> dict[str, list[str]]:
    """{day: blocking reviews_fact checks whose latest evaluation on that day failed}."""
    keys = [check_key(c) for c in BLOCKING_REVIEW_CHECKS]
    failed: dict[str, list[str]] = {}
    for info in instance.event_log_storage.get_asset_check_partition_info(keys, partition_keys=sorted(set(days))):
        if execution_status(info) == FAILED:
            failed.setdefault(info.partition_key, []).append(info.check_key.name)
    return dict(sorted(failed.items()))


def describe_failed_days(failed: dict[str, list[str]], shown: int = 5) -> str:
    items = [f"{day} ({', '.join(sorted(names))})" for day, names in list(failed.items())[:shown]]
    return ", ".join(items) + (f" and {len(failed) - shown} more days" if len(failed) > shown else "")
