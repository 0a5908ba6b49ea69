"""Every table of the star schema: its Arrow schema, key and how a partition is written.

This module is the contract shared by the parsers, the transforms, the IO managers and the SQL
DDL in sql/<dialect>/ (a test checks the DDL columns against these schemas).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

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
ALL_TABLES = (LANDED_REVIEWS, LANDED_CLIMATE) + STAR_TABLES + REFERENCE_TABLES
TABLES_BY_NAME = {t.name: t for t in ALL_TABLES}


# What each column holds, written once: TableColumn(description=...) in the asset metadata and
# COMMENT ON COLUMN in sql/<dialect>/comments.sql (generated: comment_statements; a test keeps them equal).
# Keyed by column name, or by (table, column) where a table means something else by it.
WEATHER_TYPES = {
    "wt01": "fog, ice fog, or freezing fog (may include heavy fog)", "wt02": "heavy fog or heavy freezing fog",
    "wt03": "thunder", "wt04": "ice pellets, sleet, snow pellets, or small hail", "wt05": "hail (may include small hail)",
    "wt06": "glaze or rime", "wt07": "dust, volcanic ash, blowing dust, blowing sand, or blowing obstruction",
    "wt08": "smoke or haze", "wt09": "blowing or drifting snow", "wt10": "tornado, waterspout, or funnel cloud",
    "wt11": "high or damaging winds", "wt13": "mist", "wt14": "drizzle", "wt15": "freezing drizzle",
    "wt16": "rain (may include freezing rain, drizzle, and freezing drizzle)", "wt17": "freezing rain",
    "wt18": "snow, snow pellets, snow grains, or ice crystals", "wt19": "unknown source of precipitation",
    "wt21": "ground fog", "wt22": "ice fog or freezing fog",
}
COLUMN_DESCRIPTIONS: dict[str | tuple[str, str], str] = {
    "review_date": "Day of the review (UTC); partition column; references datetime.date",
    "review_time": "Review timestamp, UTC, whole seconds (the source's unixReviewTime)",
    "asin": "Amazon Standard Identification Number of the product",
    "reviewer_id": "Amazon reviewer id",
    "reviewer_name": "Reviewer's display name at the latest sighting (free text, not unique)",
    "category": "Category of the source file the review came from (e.g. all_beauty)",
    "rating": "Star rating, 1 to 5 (the source's overall)",
    "verified": "Verified purchase",
    "vote": "Helpful votes; null when absent",
    "total_votes": "2014 records: all votes, helpful or not (helpful[1]); null for 2018 records",
    "style": "Product variant as JSON object text, keys sorted; null when none",
    "summary": "Review title",
    "review_text": "Review body",
    "image_count": "Number of images attached to the review",
    "review_id": "The review's content key: md5 of reviewer, product, time, style, rating, summary and text (docs/data-model.md)",
    "seen_date": "Day of the partition that last wrote the row (the latest day the entity was seen)",
    "title": "Product title",
    "brand": "Brand",
    "price": "Price in USD; null when missing or not a number",
    "main_cat": "Main category of the product metadata",
    ("products", "category"): "Most specific category of the category path",
    ("product_catalog", "category"): "Most specific category of the category path",
    "category_path": "Full category path, A > B > C",
    "sales_rank": "Sales rank",
    "rank_category": "Category in which sales_rank holds",
    "features": "Feature bullet points, one per line",
    "description": "Product description",
    "has_metadata": "True when the product appears in a metadata file; false when known only from reviews",
    "date": "Calendar day",
    ("climate", "date"): "Day of the observation; partition column; references datetime.date",
    ("landed_climate", "date"): "Day of the observation; partition column",
    "year": "Year",
    "month": "Month, 1 to 12",
    "day": "Day of month, 1 to 31",
    "day_of_week": "ISO day of week, 1 = Monday ... 7 = Sunday",
    "week": "ISO week number, 1 to 53",
    "day_of_year": "Day of year, 1 to 366",
    "station_id": "GHCN-Daily station id, e.g. USW00025333",
    "station_name": "Station name as the NOAA CSV gives it",
    "latitude": "Latitude, decimal degrees",
    "longitude": "Longitude, decimal degrees",
    "elevation": "Elevation in metres; null when missing",
    "state": "U.S. state or Canadian province code, where applicable",
    "name": "Station name",
    "gsn_flag": "GSN for a GCOS Surface Network station",
    "hcn_crn_flag": "HCN (U.S. Historical Climatology Network) or CRN (U.S. Climate Reference Network)",
    "wmo_id": "World Meteorological Organization id",
    "in_station_list": "True when the station is in the station list; false when known only from climate records",
    "awnd": "Average daily wind speed, mph",
    "prcp": "Precipitation, inches",
    "snow": "Snowfall, inches",
    "snwd": "Snow depth, inches",
    "tavg": "Average temperature, degrees F",
    "tmax": "Maximum temperature, degrees F",
    "tmin": "Minimum temperature, degrees F",
    **{code: f"NOAA {code.upper()}: {kind}; true when it occurred that day, null when not reported" for code, kind in WEATHER_TYPES.items()},
}


def comment_statements(dialect: str) -> str:
    """sql/<dialect>/comments.sql: COMMENT ON COLUMN for every column of the star and reference
    tables, from COLUMN_DESCRIPTIONS (the DDL quotes "datetime" and "date")."""
    def ident(name: str) -> str:
        return f'"{name}"' if name in ("datetime", "date") else name

    lines = [f"-- Generated from amzn_assets/tables.py (COLUMN_DESCRIPTIONS); do not edit: {dialect} column comments.",
             "-- Regenerate: AMZN_UPDATE_SNAPSHOTS=1 pytest amzn_assets_tests/backends/test_sql_comments.py"]
    for spec in STAR_TABLES + REFERENCE_TABLES:
        for field in spec.schema:
            text = spec.column_description(field.name).replace("'", "''")
            lines.append(f"COMMENT ON COLUMN {ident(spec.name)}.{ident(field.name)} IS '{text}';")
    return "\n".join(lines) + "\n"
