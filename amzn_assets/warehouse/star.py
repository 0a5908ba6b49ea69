"""Each table's rows for a list of days, as TableChunks (a chunk of days at a time).

Shared by the assets (a run's partition range) and the stream job (the scattered days a landing
fed), so both paths build the same rows. Plain Python: no Dagster here. Each builder's summary()
gives the counts gathered while its chunks were produced, per day (amzn_assets.day_stats), plus a
few run-level figures (a rate).
"""

from __future__ import annotations

import time
from datetime import date
from collections.abc import Sequence

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables
from amzn_assets.chunks import TableChunks
from amzn_assets.day_stats import PER_DAY, RATING_STATS, DayStats, counts_by_day
from amzn_assets.landing.readers import LandedReader
from amzn_assets.transforms import climate as climate_transform
from amzn_assets.transforms import reviews as reviews_transform



def landed_reviews(reader: LandedReader, days: Sequence[str]) -> TableChunks:
    stats = DayStats("rows", "duplicate_reviews_merged")

    def read(chunk_days: list[str]) -> pa.Table:
        rows, duplicates = reader.reviews_by_day(chunk_days)
        stats.count("rows", rows, "review_date")
        stats.add("duplicate_reviews_merged", duplicates)
        return rows

    return TableChunks.by_days(days, tables.LANDED_REVIEW_SCHEMA, read, summary=lambda: {PER_DAY: stats})


def users(landed: TableChunks) -> TableChunks:
    return counting(landed, reviews_transform.users, tables.USERS_SCHEMA, tables.USERS.partition_column)


def products(landed: TableChunks, metadata: pa.Table) -> TableChunks:
    return counting_unmatched(
        landed, lambda chunk: reviews_transform.products(chunk, metadata), tables.PRODUCTS_SCHEMA,
        "has_metadata", "products_without_metadata",
    )


def datetime(days: Sequence[str]) -> TableChunks:
    return TableChunks.by_days(days, tables.DATETIME_SCHEMA, lambda chunk: reviews_transform.datetime_rows([date.fromisoformat(k) for k in chunk]))


def reviews_fact(landed: TableChunks, partitions: int) -> TableChunks:
    started = time.perf_counter()
    stats = DayStats("rows", *RATING_STATS)

    def fact(chunk: pa.Table) -> pa.Table:
        result = reviews_transform.reviews_fact(chunk)
        stats.count("rows", result, "review_date")
        for rating, stat in zip(range(1, 6), RATING_STATS):
            stats.count(stat, result, "review_date", pc.equal(result["rating"], rating))
        return result

    def summary() -> dict:
        seconds = time.perf_counter() - started
        return {PER_DAY: stats, "rows_per_s": round(stats.totals("rows") / seconds, 1) if seconds > 0 else 0.0}

    return landed.map(fact, tables.REVIEWS_FACT_SCHEMA, summary=summary)


def landed_climate(reader: LandedReader, days: Sequence[str]) -> TableChunks:
    stats = DayStats("rows")

    def read(chunk_days: list[str]) -> pa.Table:
        rows = reader.climate(chunk_days)
        stats.count("rows", rows, "date")
        return rows

    return TableChunks.by_days(days, tables.LANDED_CLIMATE_SCHEMA, read, summary=lambda: {PER_DAY: stats})


def stations(landed: TableChunks, station_list: pa.Table) -> TableChunks:
    return counting_unmatched(
        landed, lambda chunk: climate_transform.stations(chunk, station_list), tables.STATIONS_SCHEMA,
        "in_station_list", "stations_not_in_list",
    )


def climate(landed: TableChunks) -> TableChunks:
    return counting(landed, climate_transform.climate, tables.CLIMATE_SCHEMA, tables.CLIMATE.partition_column)


def station_list(reader: LandedReader) -> pa.Table:
    """Every station of the landed station list (the later landed row of a station wins), by id."""
    return _whole(reader.station_list(), tables.STATION_LIST)


def product_catalog(reader: LandedReader) -> pa.Table:
    """Every product of the landed metadata (the later landed row of a product wins), by asin."""
    return _whole(reader.product_metadata(), tables.PRODUCT_CATALOG)


def _whole(rows: pa.Table, spec: tables.TableSpec) -> pa.Table:
    ordered = rows.select(spec.schema.names).cast(spec.schema)
    return ordered.sort_by([(k, "ascending") for k in spec.primary_key])


def counting(chunks: TableChunks, transform, schema: pa.Schema, column: str) -> TableChunks:
    """chunks.map(transform), with summary per day (of `column`) `rows`."""
    stats = DayStats("rows")

    def one(chunk: pa.Table) -> pa.Table:
        result = transform(chunk)
        stats.add("rows", counts_by_day(result[column]))
        return result

    return chunks.map(one, schema, summary=lambda: {PER_DAY: stats})


def counting_unmatched(
    chunks: TableChunks, transform, schema: pa.Schema, matched_column: str, unmatched_stat: str, column: str = "seen_date"
) -> TableChunks:
    """chunks.map(transform), with summary per day (of `column`) `rows` and `unmatched_stat`: the
    rows whose boolean `matched_column` (found in a lookup: product metadata, the station list) is false."""
    stats = DayStats("rows", unmatched_stat)

    def one(chunk: pa.Table) -> pa.Table:
        result = transform(chunk)
        stats.count("rows", result, column)
        stats.count(unmatched_stat, result, column, pc.invert(pc.fill_null(result[matched_column], False)))
        return result

    return chunks.map(one, schema, summary=lambda: {PER_DAY: stats})

