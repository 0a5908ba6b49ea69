"""Which landed records are the same review, and the review's content key, review_id.

Two records are the same review only when reviewer, product, review time, variant (style), rating,
summary and text are all equal: 5-core dumps hold different reviews by one reviewer of one product
on one day (two colours, two ratings, two texts), which a key of (asin, reviewer, time) merged.

review_id is the md5 of those seven fields in that order, each written as `<length>:<text>`
(length in characters) or `-` when null, concatenated. REVIEW_ID_SQL is the definition: DuckDB
runs it here over the Arrow table, and PostgreSQL runs the same text over reviews_fact
(docs/data-model.md, the migration in sql/postgres/schema.sql).
"""

from __future__ import annotations

import threading

import duckdb
import pyarrow as pa

from amzn_assets import tables
from amzn_assets.transforms.dedupe import keep_last

REVIEW_ID_FIELDS = ("reviewer_id", "asin", "review_time", "style", "rating", "summary", "review_text")

_AS_TEXT = {
    "review_time": "CAST(CAST(EXTRACT(EPOCH FROM review_time) AS BIGINT) AS VARCHAR)",  # epoch seconds
    "rating": "CAST(rating AS VARCHAR)",
}


def _encoded(field: str) -> str:
    text = _AS_TEXT.get(field, field)
    return f"COALESCE(CAST(LENGTH({text}) AS VARCHAR) || ':' || {text}, '-')"


REVIEW_ID_SQL = "MD5(\n    " + "\n    || ".join(_encoded(f) for f in REVIEW_ID_FIELDS) + "\n)"


_local = threading.local()


def _connection() -> duckdb.DuckDBPyConnection:
    """This thread's DuckDB connection (opening one costs 15-60 ms; a backfill asks once a month of days).
    The result's row order is the table's: DuckDB keeps insertion order for a plain projection."""
    if getattr(_local, "con", None) is None:
        _local.con = duckdb.connect(config={"preserve_insertion_order": True})
    return _local.con


def review_ids(records: pa.Table) -> pa.ChunkedArray:
    """The review_id of every row, in row order (vectorized: one DuckDB query over the table)."""
    if records.num_rows == 0:
        return pa.chunked_array([], pa.string())
    con = _connection()
    try:
        con.register("records", records.select(list(REVIEW_ID_FIELDS)))
        ids = con.sql(f"SELECT {REVIEW_ID_SQL} AS review_id FROM records").to_arrow_table()
    finally:
        con.unregister("records")
    assert ids.num_rows == records.num_rows
    return ids["review_id"].cast(pa.string())


def distinct_reviews(records: pa.Table) -> pa.Table:
    """Parsed review records in landing order -> one row per review, with its review_id.

    A repeat of a review (same review_id) takes the later record's other fields (vote, verified,
    image_count, reviewer_name, category): a later landing corrects an earlier one.
    """
    records = records.select(tables.PARSED_REVIEW_SCHEMA.names)
    landed = records.append_column("review_id", review_ids(records)).cast(tables.LANDED_REVIEW_SCHEMA)
    return keep_last(landed, tables.LANDED_REVIEWS.primary_key)
