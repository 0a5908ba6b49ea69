"""Materialization metadata shared by the assets."""

from __future__ import annotations

from dataclasses import replace

from dagster import MetadataValue

from amzn_assets.chunks import TableChunks


def rate(rows: int, seconds: float) -> float:
    return round(rows / seconds, 1) if seconds > 0 else 0.0


def summary_metadata(summary: dict) -> dict:
    """A builder's summary (amzn_assets.transforms.star) as materialization metadata."""
    out = dict(summary)
    if "ratings" in out:
        out["rating_histogram"] = histogram_markdown(out.pop("ratings"))
    return out


def with_metadata_summary(chunks: TableChunks) -> TableChunks:
    return replace(chunks, summary=lambda: summary_metadata(chunks.summary()))


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
