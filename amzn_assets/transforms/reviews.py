"""Review-side star tables: reviews_fact, users, products, datetime."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables
from amzn_assets.transforms.dedupe import keep_last


def reviews_fact(landed: pa.Table) -> pa.Table:
    return landed.select(tables.REVIEWS_FACT_SCHEMA.names).cast(tables.REVIEWS_FACT_SCHEMA)


USERS_FROM = ("reviewer_id", "reviewer_name", "review_date")  # the landed columns users() reads
PRODUCTS_FROM = ("asin", "review_date")  # and products()


def users(landed: pa.Table) -> pa.Table:
    """One row per reviewer and day seen; the reviewer's latest name that day."""
    rows = pa.table(
        {
            "reviewer_id": landed["reviewer_id"],
            "reviewer_name": landed["reviewer_name"],
            "seen_date": landed["review_date"],
        }
    )
    return keep_last(rows, ("reviewer_id", "seen_date")).cast(tables.USERS_SCHEMA)


def products(landed: pa.Table, metadata: pa.Table) -> pa.Table:
    """One row per product and day reviewed, with its metadata where any has landed."""
    seen = pa.table({"asin": landed["asin"], "seen_date": landed["review_date"]})
    seen = seen.group_by(["asin", "seen_date"], use_threads=False).aggregate([])
    meta = metadata.append_column("has_metadata", pa.array([True] * metadata.num_rows, pa.bool_()))
    joined = seen.join(meta, keys="asin", join_type="left outer", use_threads=False)
    joined = joined.set_column(
        joined.schema.get_field_index("has_metadata"),
        "has_metadata",
        pc.fill_null(joined["has_metadata"], False),
    )
    ordered = joined.select(tables.PRODUCTS_SCHEMA.names).cast(tables.PRODUCTS_SCHEMA)
    return ordered.sort_by([("seen_date", "ascending"), ("asin", "ascending")])


def datetime_rows(days: Sequence[date]) -> pa.Table:
    """The calendar dimension: one row per day."""
    iso = [d.isocalendar() for d in days]
    return pa.table(
        {
            "date": pa.array(days, pa.date32()),
            "year": pa.array([d.year for d in days], pa.int16()),
            "month": pa.array([d.month for d in days], pa.int8()),
            "day": pa.array([d.day for d in days], pa.int8()),
            "day_of_week": pa.array([i.weekday for i in iso], pa.int8()),
            "week": pa.array([i.week for i in iso], pa.int8()),
            "day_of_year": pa.array([d.timetuple().tm_yday for d in days], pa.int16()),
        },
        schema=tables.DATETIME_SCHEMA,
    )


def rating_histogram(fact: pa.Table) -> dict[int, int]:
    counts = {r: 0 for r in range(1, 6)}
    if fact.num_rows:
        for item in pc.value_counts(fact["rating"]).to_pylist():
            counts[int(item["values"])] = item["counts"]
    return counts
