"""Freshness of reviews_fact against the landing ledger.

A committed landed review batch is in reviews_fact once the stream job has applied it (the ledger
watermark landing_applied of its consumer, "warehouse") or once every day it fed has been written
since it committed (an asset run or backfill, which reads all that has landed for its days). The
check looks at the batches after the watermark: those with a day not written since are waiting,
and it warns with how many, how old the oldest is and which days they feed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select

from amzn_assets.checks.rules import Outcome
from amzn_assets.landing.kinds import REVIEWS
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.ledger_schema import landing_batches, landing_files

MAX_BATCHES = 1_000  # looked at after the watermark; more are reported as "at least"
DAYS_SHOWN = 5


@dataclass(frozen=True)
class LandedBatch:
    batch_id: str
    committed_at: datetime
    days: frozenset[str]


def batches_after_watermark(ledger: Ledger, consumer: str, limit: int = MAX_BATCHES) -> tuple[str | None, list[LandedBatch]]:
    """(the consumer's watermark, the committed review batches after it, oldest first)."""
    watermark = ledger.applied_through(consumer)
    query = select(landing_batches.c.batch_id, landing_batches.c.committed_at).where(
        landing_batches.c.kind == REVIEWS.name, landing_batches.c.status == "committed"
    )
    if watermark:
        query = query.where(landing_batches.c.batch_id > watermark)
    with ledger.engine.connect() as conn:
        batches = conn.execute(query.order_by(landing_batches.c.batch_id).limit(limit)).all()
        days: dict[str, set[str]] = {b.batch_id: set() for b in batches}
        ids = list(days)
        for start in range(0, len(ids), 500):
            files = conn.execute(
                select(landing_files.c.batch_id, landing_files.c.partitions).where(
                    landing_files.c.batch_id.in_(ids[start : start + 500]), landing_files.c.partitions.is_not(None)
                )
            )
            for batch_id, partitions in files:
                days[batch_id].update(json.loads(partitions))
    return watermark, [LandedBatch(b.batch_id, _utc(b.committed_at), frozenset(days[b.batch_id])) for b in batches]


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)  # SQLite drops the zone


def reviews_freshness(
    watermark: str | None,
    after_watermark: list[LandedBatch],
    written_at: Mapping[str, datetime],
    now: datetime,
) -> Outcome:
    """written_at: when each day of reviews_fact was last written (days missing: never, or unknown)."""
    waiting = [b for b in after_watermark if any(d not in written_at or written_at[d] < b.committed_at for d in b.days)]
    days = sorted({d for b in waiting for d in b.days if d not in written_at or written_at[d] < b.committed_at})
    more = "at least " if len(after_watermark) >= MAX_BATCHES else ""
    metadata = {
        "stream_watermark": watermark or "none",
        "batches_after_watermark": len(after_watermark),
        "batches_waiting": len(waiting),
        "days_waiting": len(days),
        "lag_seconds": round((now - waiting[0].committed_at).total_seconds(), 1) if waiting else 0.0,
    }
    if not waiting:
        later = f"; the {len(after_watermark)} batches after it have all their days written since" if after_watermark else ""
        return Outcome(True, f"every committed landed review batch is in reviews_fact (stream watermark {watermark or 'none'}{later})", metadata)
    shown = ", ".join(days[:DAYS_SHOWN]) + (" ..." if len(days) > DAYS_SHOWN else "")
    metadata["days_waiting_first"] = shown
    return Outcome(
        False,
        f"{more}{len(waiting)} landed review batch{'es' if len(waiting) != 1 else ''} not in reviews_fact yet: the oldest committed "
        f"{metadata['lag_seconds']:.0f}s ago ({waiting[0].batch_id}); {len(days)} days wait: {shown}",
        metadata,
    )
