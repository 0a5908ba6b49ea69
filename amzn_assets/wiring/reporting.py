"""Materialization metadata shared by the assets, the IO managers and the stream job.

Each partition's materialization describes that partition: its row count and the builder's
counts of that day (amzn_assets.day_stats). What only the run knows (its rate, how many
partitions it wrote, what its landing did) is recorded once, on the first partition it wrote,
under names that say so (run_*, *_this_run).
"""

from __future__ import annotations

from amzn_assets.day_stats import RATING_STATS, per_day_of, run_level_of
from amzn_assets.stream.read_through import READ_THROUGH_TAG


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1) if seconds > 0 else 0.0


def summary_metadata(summary: dict) -> dict:
    """A builder's summary (amzn_assets.warehouse.star) in a log line: the run's totals."""
    per_day = per_day_of(summary)
    return {s: per_day.totals(s) for s in per_day.stats if s not in RATING_STATS} | run_level_of(summary)


def landing_metadata(report) -> dict:
    """What a landing (amzn_assets.landing.intake.LandingReport) did, as materialization metadata."""
    return {
        "files_landed_this_run": report.files_landed,
        "files_quarantined_this_run": report.files_quarantined,
        "files_duplicate_this_run": report.files_duplicate,
        "records_quarantined_this_run": report.rejected_records,
        "landing_rows_per_s": rate(report.rows, report.seconds),
    }


def record_landing(context, landing) -> None:
    """Land what waits in the upload area; what the landing did is the run's, recorded once (on
    the run's first partition)."""
    report = landing.lander().land_pending()
    context.add_asset_metadata(landing_metadata(report), partition_key=min(context.partition_keys))


def reader_through(context, landing, kind: str):
    """The landing zone's reader, once the run is tagged with the newest committed batch of this kind
    (taken before the asset reads: amzn_assets.stream.read_through, the stream does not write
    these days again)."""
    reader = landing.reader()
    committed = reader.ledger.committed_batches(kind)
    if committed:
        context.instance.add_run_tags(context.run.run_id, {READ_THROUGH_TAG + kind: max(committed)})
    return reader
