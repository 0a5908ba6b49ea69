"""Materialization metadata shared by the assets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc
from dagster import MetadataValue

from amzn_assets.chunks import TableChunks


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1) if seconds > 0 else 0.0


def map_counting_unmatched(
    chunks: TableChunks, transform: Callable[[pa.Table], pa.Table], schema: pa.Schema, matched_column: str, unmatched_stat: str
) -> TableChunks:
    """chunks.map(transform), with summary metadata `rows` and `unmatched_stat`: the rows whose
    boolean `matched_column` (found in a lookup: product metadata, the station list) is false."""
    stats = Counter()

    def one(chunk: pa.Table) -> pa.Table:
        result = transform(chunk)
        stats["rows"] += result.num_rows
        stats[unmatched_stat] += result.num_rows - (pc.sum(result[matched_column]).as_py() or 0)
        return result

    return chunks.map(one, schema, summary=lambda: dict(stats))


def landing_metadata(report) -> dict:
    """What a landing (amzn_assets.landing.intake.LandingReport) did, as materialization metadata."""
    return {
        "files_landed_this_run": report.files_landed,
        "files_quarantined_this_run": report.files_quarantined,
        "files_duplicate_this_run": report.files_duplicate,
        "records_quarantined_this_run": report.rejected_records,
        "landing_rows_per_s": rate(report.rows, report.seconds),
    }


def histogram_markdown(counts: dict[int, int]) -> MetadataValue:
    total = sum(counts.values()) or 1
    lines = ["| rating | reviews | share |", "|---|---:|---|"]
    for rating in sorted(counts, reverse=True):
        share = counts[rating] / total
        lines.append(f"| {'★' * rating} | {counts[rating]} | {'█' * round(share * 20)} {share:.0%} |")
    return MetadataValue.md("\n".join(lines))
