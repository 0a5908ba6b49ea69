"""Every table of the star schema: its Arrow schema, key and how a partition is written.

This module is the contract shared by the parsers, the transforms, the IO managers and the SQL
DDL in sql/<dialect>/ (a test checks the DDL columns against these schemas).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from amzn_assets.column_descriptions import COLUMN_DESCRIPTIONS

UTC_SECONDS = pa.timestamp("s", tz="UTC")

# NOAA weather-type codes kept as boolean columns (WT12 and WT20 are not issued by NOAA).
WEATHER_TYPE_CODES = (
    "wt01", "wt02", "wt03", "wt04", "wt05", "wt06", "wt07", "wt08", "wt09", "wt10",
    "wt11", "wt13", "wt14", "wt15", "wt16", "wt17", "wt18", "wt19", "wt21", "wt22",
)
CLIMATE_MEASURES = ("awnd", "prcp", "snow", "snwd", "tavg", "tmax", "tmin")

# Parsed, validated review records: what the parsers return and the landed segments store.
PARSED_REVIEW_SCHEMA = pa.schema(
    [
        ("review_date", pa.date32()),
        ("review_time", UTC_SECONDS),
        ("asin", pa.string()),
        ("reviewer_id", pa.string()),
        ("reviewer_name", pa.string()),
        ("category", pa.string()),
        ("rating", pa.int8()),
        ("verified", pa.bool_()),
        ("vote", pa.int32()),  # helpful votes
        ("total_votes", pa.int32()),  # 2014 records: all votes, helpful or not (helpful[1]); 2018: null
        ("style", pa.string()),  # JSON object text, keys without the trailing colon
        ("summary", pa.string()),
        ("review_text", pa.string()),
        ("image_count", pa.int16()),
    ]
)
# Landed reviews as LandedReader.reviews() returns them: one row per review, keyed by review_id,
# the 32-hex md5 of (reviewer_id, asin, review_time, style, rating, summary, review_text)
# (amzn_assets/transforms/review_identity.py, docs/data-model.md).
LANDED_REVIEW_SCHEMA = pa.schema(list(PARSED_REVIEW_SCHEMA) + [("review_id", pa.string())])

LANDED_PRODUCT_SCHEMA = pa.schema(
    [
        ("asin", pa.string()),
        ("title", pa.string()),
        ("brand", pa.string()),
        ("price", pa.float64()),
        ("main_cat", pa.string()),
        ("category", pa.string()),  # most specific category of the path
        ("category_path", pa.string()),  # "A > B > C"
        ("sales_rank", pa.int64()),
        ("rank_category", pa.string()),
        ("features", pa.string()),  # one feature per line
        ("description", pa.string()),
    ]
)

LANDED_STATION_SCHEMA = pa.schema(
    [
        ("station_id", pa.string()),
        ("latitude", pa.float64()),
        ("longitude", pa.float64()),
        ("elevation", pa.float64()),  # metres; -999.9 in the source means missing -> null
        ("state", pa.string()),
        ("name", pa.string()),
        ("gsn_flag", pa.string()),
        ("hcn_crn_flag", pa.string()),
        ("wmo_id", pa.string()),
    ]
)

LANDED_CLIMATE_SCHEMA = pa.schema(
    [("station_id", pa.string()), ("date", pa.date32()), ("station_name", pa.string())]
    + [(m, pa.float64()) for m in CLIMATE_MEASURES]
    + [(wt, pa.bool_()) for wt in WEATHER_TYPE_CODES]
)

# Star schema tables (the asset outputs).
REVIEWS_FACT_SCHEMA = pa.schema(
    [f for f in LANDED_REVIEW_SCHEMA if f.name != "reviewer_name"]
)
USERS_SCHEMA = pa.schema(
    [("reviewer_id", pa.string()), ("reviewer_name", pa.string()), ("seen_date", pa.date32())]
)
PRODUCTS_SCHEMA = pa.schema(
    list(LANDED_PRODUCT_SCHEMA) + [("has_metadata", pa.bool_()), ("seen_date", pa.date32())]
)
DATETIME_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("year", pa.int16()),
        ("month", pa.int8()),
        ("day", pa.int8()),
        ("day_of_week", pa.int8()),  # ISO: 1 = Monday
        ("week", pa.int8()),  # ISO week number
        ("day_of_year", pa.int16()),
    ]
)
STATIONS_SCHEMA = pa.schema(
    list(LANDED_STATION_SCHEMA) + [("in_station_list", pa.bool_()), ("seen_date", pa.date32())]
)
CLIMATE_SCHEMA = pa.schema([f for f in LANDED_CLIMATE_SCHEMA if f.name != "station_name"])


@dataclass(frozen=True)
class TableSpec:
    """How a table asset is stored.

    mode "replace": a partition is replaced whole (facts).
    mode "upsert": a partition holds the entities seen that day; the table is their upsert by key,
    the latest partition winning (dimensions).
    mode "whole": not partitioned (partition_column ""); the table is replaced whole (reference data).
    """

    name: str
    schema: pa.Schema
    partition_column: str
    primary_key: tuple[str, ...]
    mode: str
    # (column, referenced table, referenced column): the loaders check these set-wise per load
    references: tuple[tuple[str, str, str], ...] = ()

    def column_description(self, column: str) -> str:
        """The column's description (the UI's column table, COMMENT ON COLUMN in sql/<dialect>/comments.sql)."""
        return COLUMN_DESCRIPTIONS.get((self.name, column)) or COLUMN_DESCRIPTIONS[column]



LANDED_REVIEWS = TableSpec("landed_reviews", LANDED_REVIEW_SCHEMA, "review_date", ("review_id",), "replace")
LANDED_CLIMATE = TableSpec(
    "landed_climate", LANDED_CLIMATE_SCHEMA, "date", ("station_id", "date"), "replace"
)
REVIEWS_FACT = TableSpec(
    "reviews_fact",
    REVIEWS_FACT_SCHEMA,
    "review_date",
    # A review is its content key; the day (derived from review_time, itself part of review_id)
    # leads the key, so loads of day-sorted partitions append to the index.
    ("review_date", "review_id"),
    "replace",
    references=(("reviewer_id", "users", "reviewer_id"), ("asin", "products", "asin"), ("review_date", "datetime", "date")),
)
USERS = TableSpec("users", USERS_SCHEMA, "seen_date", ("reviewer_id",), "upsert")
PRODUCTS = TableSpec("products", PRODUCTS_SCHEMA, "seen_date", ("asin",), "upsert")
DATETIME = TableSpec("datetime", DATETIME_SCHEMA, "date", ("date",), "upsert")
STATIONS = TableSpec("stations", STATIONS_SCHEMA, "seen_date", ("station_id",), "upsert")
CLIMATE = TableSpec(
    "climate",
    CLIMATE_SCHEMA,
    "date",
    ("date", "station_id"),
    "replace",
    references=(("station_id", "stations", "station_id"), ("date", "datetime", "date")),
)

# Reference data: every entity of the landed station list and product metadata, whether or not a
# fact names it; what users query as `stations` / `products` adds these to the seen entities
# (amzn_assets/warehouse/whole_dimensions.py, docs/data-model.md).
STATION_LIST = TableSpec("station_list", LANDED_STATION_SCHEMA, "", ("station_id",), "whole")
PRODUCT_CATALOG = TableSpec("product_catalog", LANDED_PRODUCT_SCHEMA, "", ("asin",), "whole")

STAR_TABLES = (REVIEWS_FACT, USERS, PRODUCTS, DATETIME, STATIONS, CLIMATE)
REFERENCE_TABLES = (STATION_LIST, PRODUCT_CATALOG)

# Analysis tables (amzn_assets/analysis, docs/data-model.md): monthly partitions, the partition column
# `month` holding the month's first day (the partition key, YYYY-MM-01).
_MONTH = [("month", pa.date32())]
_STARS = [(f"stars_{n}", pa.int32()) for n in range(1, 6)]
PRODUCT_POPULARITY = TableSpec("product_popularity", pa.schema(_MONTH + [
    ("category", pa.string()), ("asin", pa.string()), ("title", pa.string()), ("reviews", pa.int32()),
    ("mean_rating", pa.float64()), ("positive_share", pa.float64()), ("wilson_lower", pa.float64()),
    ("category_rank", pa.int32()), ("previous_reviews", pa.int32()), ("reviews_change", pa.int32()),
    ("previous_rank", pa.int32()), ("rank_change", pa.int32()),
]), "month", ("month", "category", "asin"), "replace")
CATEGORY_TRENDS = TableSpec("category_trends", pa.schema(_MONTH + [
    ("review_date", pa.date32()), ("category", pa.string()), ("reviews", pa.int32()), ("mean_rating", pa.float64()),
] + _STARS), "month", ("month", "review_date", "category"), "replace")
WEATHER_EFFECT = TableSpec("weather_effect", pa.schema(_MONTH + [
    ("review_date", pa.date32()), ("category", pa.string()), ("reviews", pa.int32()), ("stations", pa.int32()),
    ("tmax_mean", pa.float64()), ("tmin_mean", pa.float64()), ("prcp_mean", pa.float64()),
]), "month", ("month", "review_date", "category"), "replace")
WEATHER_CORRELATION = TableSpec("weather_correlation", pa.schema(_MONTH + [
    ("category", pa.string()), ("days", pa.int32()),
    ("tmax_days", pa.int32()), ("reviews_tmax_corr", pa.float64()),
    ("tmin_days", pa.int32()), ("reviews_tmin_corr", pa.float64()),
    ("prcp_days", pa.int32()), ("reviews_prcp_corr", pa.float64()),
]), "month", ("month", "category"), "replace")
ANALYSIS_TABLES = (PRODUCT_POPULARITY, CATEGORY_TRENDS, WEATHER_EFFECT, WEATHER_CORRELATION)

ALL_TABLES = (LANDED_REVIEWS, LANDED_CLIMATE) + STAR_TABLES + REFERENCE_TABLES + ANALYSIS_TABLES
TABLES_BY_NAME = {t.name: t for t in ALL_TABLES}


def comment_statements(dialect: str) -> str:
    """sql/<dialect>/comments.sql: COMMENT ON COLUMN for every column of the star, reference and
    analysis tables, from COLUMN_DESCRIPTIONS (the DDL quotes "datetime" and "date")."""
    def ident(name: str) -> str:
        return f'"{name}"' if name in ("datetime", "date") else name

    lines = [f"-- Generated from amzn_assets/tables.py (COLUMN_DESCRIPTIONS); do not edit: {dialect} column comments.",
             "-- Regenerate: AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/backends/test_sql_comments.py"]
    for spec in STAR_TABLES + REFERENCE_TABLES + ANALYSIS_TABLES:
        for field in spec.schema:
            text = spec.column_description(field.name).replace("'", "''")
            lines.append(f"COMMENT ON COLUMN {ident(spec.name)}.{ident(field.name)} IS '{text}';")
    return "\n".join(lines) + "\n"
