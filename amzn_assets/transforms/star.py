"""Each table's rows for a list of days, as TableChunks (a chunk of days at a time).

Shared by the assets (a run's partition range) and the stream job (the scattered days a landing
fed), so both paths build the same rows. Plain Python: no Dagster here. Each builder's summary()
gives the metadata gathered while its chunks were produced.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables
from amzn_assets.chunks import TableChunks
from amzn_assets.landing.readers import LandedReader
from amzn_assets.partitions import partition_days
from amzn_assets.transforms import climate as climate_transform
from amzn_assets.transforms import reviews as reviews_transform


def landed_reviews(reader: LandedReader, days: Sequence[str]) -> TableChunks:
    stats = Counter()

    def read(chunk_days: list[str]) -> pa.Table:
        rows, duplicates = reader.reviews(chunk_days)
        stats["rows"] += rows.num_rows
        stats["duplicate_reviews_merged"] += duplicates
        return rows

    return TableChunks.by_days(days, tables.LANDED_REVIEW_SCHEMA, read, summary=lambda: dict(stats))


def users(landed: TableChunks) -> TableChunks:
    return landed.map(reviews_transform.users, tables.USERS_SCHEMA)


def products(landed: TableChunks, metadata: pa.Table) -> TableChunks:
    return counting_unmatched(
        landed, lambda chunk: reviews_transform.products(chunk, metadata), tables.PRODUCTS_SCHEMA,
        "has_metadata", "products_without_metadata",
    )


def datetime(days: Sequence[str]) -> TableChunks:
    return TableChunks.by_days(days, tables.DATETIME_SCHEMA, lambda chunk: reviews_transform.datetime_rows(partition_days(chunk)))


def reviews_fact(landed: TableChunks, partitions: int) -> TableChunks:
    started = time.perf_counter()
    ratings: Counter = Counter()

    def fact(chunk: pa.Table) -> pa.Table:
        result = reviews_transform.reviews_fact(chunk)
        for rating, count in reviews_transform.rating_histogram(result).items():
            ratings[rating] += count
        return result

    def summary() -> dict:
        rows = sum(ratings.values())
        seconds = time.perf_counter() - started
        return {
            "rows": rows,
            "partitions": partitions,
            "ratings": {r: ratings[r] for r in range(1, 6)},
            "rows_per_s": round(rows / seconds, 1) if seconds > 0 else 0.0,
        }

    return landed.map(fact, tables.REVIEWS_FACT_SCHEMA, summary=summary)


def landed_climate(reader: LandedReader, days: Sequence[str]) -> TableChunks:
    stats = Counter()

    def read(chunk_days: list[str]) -> pa.Table:
        rows = reader.climate(chunk_days)
        stats["rows"] += rows.num_rows
        return rows

    return TableChunks.by_days(days, tables.LANDED_CLIMATE_SCHEMA, read, summary=lambda: dict(stats))


def stations(landed: TableChunks, station_list: pa.Table) -> TableChunks:
    return counting_unmatched(
        landed, lambda chunk: climate_transform.stations(chunk, station_list), tables.STATIONS_SCHEMA,
        "in_station_list", "stations_not_in_list",
    )


def climate(landed: TableChunks) -> TableChunks:
    stats = Counter()

    def facts(chunk: pa.Table) -> pa.Table:
        result = climate_transform.climate(chunk)
        stats["rows"] += result.num_rows
        return result

    return landed.map(facts, tables.CLIMATE_SCHEMA, summary=lambda: dict(stats))


def counting_unmatched(
    chunks: TableChunks, transform, schema: pa.Schema, matched_column: str, unmatched_stat: str
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
