"""What users query as `stations` and `products`: every landed entity, flagged when facts name it.

The daily dimension (`stations`, `products`: the upsert of the entities seen each day, latest
partition winning) holds exactly the entities the facts reference. The reference table
(`station_list`, `product_catalog`: every entity of the landed list or metadata, replaced whole
when one lands) holds every landed entity. What `amzn-assets query` shows under the dimension's
name is their union: the seen rows (flag true), then the reference rows no seen row has (flag
false, seen_date null, the "found in the reference data" column true). The flag is computed at
query time from the seen rows, so it never goes stale when facts arrive for a listed entity.

One SQL text for DuckDB (parquet), PostgreSQL and Redshift; identifiers are quoted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from amzn_assets import tables


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass(frozen=True)
class WholeDimension:
    seen: tables.TableSpec  # the daily dimension; users query the union under its name
    reference: tables.TableSpec  # every landed entity
    matched: str  # the seen table's boolean "found in the reference data"
    flag: str  # the union's boolean "a fact references it"

    @property
    def name(self) -> str:
        return self.seen.name

    @property
    def columns(self) -> list[str]:
        return self.seen.schema.names + [self.flag]

    def mentioned_in(self, sql: str) -> bool:
        return re.search(rf"\b{re.escape(self.name)}\b", sql, re.IGNORECASE) is not None


WHOLE_DIMENSIONS = (
    WholeDimension(tables.STATIONS, tables.STATION_LIST, "in_station_list", "has_climate"),
    WholeDimension(tables.PRODUCTS, tables.PRODUCT_CATALOG, "has_metadata", "has_reviews"),
)
BY_NAME = {d.name: d for d in WHOLE_DIMENSIONS}

for _d in WHOLE_DIMENSIONS:  # the union lines the reference columns up with the seen table's
    assert _d.seen.schema.names == _d.reference.schema.names + [_d.matched, _d.seen.partition_column], _d.name


def union_sql(dimension: WholeDimension, seen: str | None, reference: str | None) -> str:
    """A SELECT of the dimension's columns and its flag. seen / reference: a quoted table name or a
    parenthesized query, or None where that table does not exist (not materialized yet)."""
    if seen is None and reference is None:
        raise ValueError(f"{dimension.name}: neither {dimension.seen.name} nor {dimension.reference.name} exists")
    key = dimension.reference.primary_key
    parts = []
    if seen is not None:
        listed = ", ".join(f"s.{quote(c)}" for c in dimension.seen.schema.names)
        parts.append(f"SELECT {listed}, TRUE AS {quote(dimension.flag)} FROM {seen} AS s")
    if reference is not None:
        listed = ", ".join(f"r.{quote(c)}" for c in dimension.reference.schema.names)
        select = (
            f"SELECT {listed}, TRUE AS {quote(dimension.matched)}, "
            f"CAST(NULL AS DATE) AS {quote(dimension.seen.partition_column)}, FALSE AS {quote(dimension.flag)} "
            f"FROM {reference} AS r"
        )
        if seen is not None:
            on = " AND ".join(f"s2.{quote(k)} = r.{quote(k)}" for k in key)
            select += f" WHERE NOT EXISTS (SELECT 1 FROM {seen} AS s2 WHERE {on})"
        parts.append(select)
    return "\nUNION ALL\n".join(parts)
