"""The warehouse checks and their evaluation over any set of days, through the stores.

Rows are read through the PartitionStore of the IO manager that holds each table (store_for), a
month of days at a time, and every check of a table is evaluated on the same read: the same code
after an asset run's write and after the stream job's, on every backend. Each check gives one
Outcome per day.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import pyarrow as pa

from amzn_assets import tables
from amzn_assets.chunks import DAYS_PER_CHUNK
from amzn_assets.checks.rules import (
    DayTally,
    Fault,
    Outcome,
    anti_join,
    duplicated_keys,
    inverted_temperatures,
    not_in,
    ratings_out_of_range,
)
from amzn_assets.landing.readers import LandedReader
from amzn_assets.storage.contract import PartitionStore, StorageSpec

StoreFor = Callable[[str], PartitionStore]


@dataclass(frozen=True)
class WarehouseCheck:
    table: str
    name: str
    description: str
    blocking: bool  # a failed day must not feed downstream steps (nor the rating model)
    warn: bool = False  # a failure is a warning (severity WARN), never an error
    per_day: bool = True  # one evaluation per day; else one per run for the whole table


REFERENCES = "references_exist"
MATCHES_LANDED = "matches_landed_reviews"
RATINGS = "ratings_in_range"
UNIQUE_KEYS = "unique_review_keys"
FRESH = "fresh"
TEMPERATURES = "tmax_not_below_tmin"

CHECKS = (
    WarehouseCheck("reviews_fact", REFERENCES, "Every row's reviewer_id is in users, asin in products and review_date in datetime.", blocking=True),
    WarehouseCheck(
        "reviews_fact", MATCHES_LANDED,
        "The day's review_ids are exactly the landed reviews of the day (the committed segments of the ledger): none missing, none extra.",
        blocking=True,
    ),
    WarehouseCheck("reviews_fact", RATINGS, "Every rating is 1..5 stars.", blocking=True),
    WarehouseCheck("reviews_fact", UNIQUE_KEYS, "No two rows share a key (review_date, review_id).", blocking=True),
    WarehouseCheck(
        "reviews_fact", FRESH,
        "Every committed landed review batch is in reviews_fact: applied by the stream (its ledger watermark) or its days "
        "materialized since it committed. Warns, never blocks.",
        blocking=False, warn=True, per_day=False,
    ),
    WarehouseCheck("climate", TEMPERATURES, "tmax >= tmin wherever both are reported.", blocking=False),
    WarehouseCheck("climate", REFERENCES, "Every row's station_id is in stations and its date in datetime.", blocking=False),
)


def checks_of(table: str) -> list[WarehouseCheck]:
    return [c for c in CHECKS if c.table == table]


def check_named(table: str, name: str) -> WarehouseCheck:
    return next(c for c in CHECKS if c.table == table and c.name == name)


@dataclass(frozen=True)
class Evaluation:
    check: WarehouseCheck
    partition: str | None  # None: the whole table (per_day False)
    outcome: Outcome


def spec_of(name: str) -> StorageSpec:
    table = tables.TABLES_BY_NAME[name]
    return StorageSpec(table.partition_column, table.primary_key, table.mode)


def evaluate_days(table: str, days: Sequence[str], store_for: StoreFor, reader: LandedReader) -> list[Evaluation]:
    """The per-day checks of `table` on these days (reviews_fact and climate have checks)."""
    days = sorted(set(days))
    if not days or table not in ("reviews_fact", "climate"):
        return []
    evaluate = _reviews_fact if table == "reviews_fact" else _climate
    outcomes = evaluate(days, store_for, reader)
    return [Evaluation(check_named(table, name), day, outcome) for name, by_day in outcomes.items() for day, outcome in by_day.items()]


def _slices(days: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(days), DAYS_PER_CHUNK):
        yield list(days[start : start + DAYS_PER_CHUNK])


def _read(store_for: StoreFor, name: str, days: list[str], columns: list[str]) -> pa.Table:
    """Only the columns the checks look at: a fact's texts stay in the store."""
    return store_for(name).read_partitions(name, spec_of(name), days, columns).read_all()


class _References:
    """Rows whose references (tables.TableSpec.references) miss their dimension row, per day."""

    def __init__(self, spec: tables.TableSpec):
        self.spec = spec
        self.faults = {ref: Fault(f"rows_missing_{ref[1]}", f"rows whose {ref[0]} is not in {ref[1]}.{ref[2]}") for ref in spec.references}
        self.tally = DayTally(spec.partition_column, list(self.faults.values()))
        self.columns = [spec.partition_column] + [ref[0] for ref in spec.references]

    def add(self, rows: pa.Table, days: list[str], store_for: StoreFor) -> None:
        self.tally.add_rows(rows)
        for (column, other, key), fault in self.faults.items():
            values = rows[column].unique()
            present = store_for(other).existing_keys(other, spec_of(other), key, values, near=days) if len(values) else values
            self.tally.add_faults(fault, not_in(rows, column, present), [column])


def _reviews_fact(days: list[str], store_for: StoreFor, reader: LandedReader) -> dict[str, dict[str, Outcome]]:
    key = list(tables.REVIEWS_FACT.primary_key)
    references = _References(tables.REVIEWS_FACT)
    missing = Fault("landed_reviews_missing", "landed reviews missing from reviews_fact")
    extra = Fault("rows_not_landed", "rows that are no landed review")
    matches = DayTally("review_date", [missing, extra], rows_label="landed_reviews")
    ratings = DayTally("review_date", [Fault("ratings_out_of_range", "ratings outside 1..5")])
    duplicates = DayTally("review_date", [Fault("duplicated_keys", "keys held by more than one row")])
    for chunk_days in _slices(days):
        fact = _read(store_for, "reviews_fact", chunk_days, references.columns + key + ["rating"])
        references.add(fact, chunk_days, store_for)
        landed = reader.review_keys(chunk_days)
        matches.add_rows(landed)
        matches.add_faults(missing, anti_join(landed, fact, key), ["review_id"])
        matches.add_faults(extra, anti_join(fact, landed, key), ["review_id"])
        ratings.add_rows(fact)
        ratings.add_faults(ratings.faults[0], ratings_out_of_range(fact), ["review_id", "rating"])
        duplicates.add_rows(fact)
        duplicates.add_faults(duplicates.faults[0], duplicated_keys(fact, key), ["review_id", "copies"])
    return {
        REFERENCES: references.tally.outcomes(days, "every user, product and day found"),
        MATCHES_LANDED: matches.outcomes(days, "all in reviews_fact, and nothing else"),
        RATINGS: ratings.outcomes(days, "all ratings in 1..5"),
        UNIQUE_KEYS: duplicates.outcomes(days, "every (review_date, review_id) once"),
    }


def _climate(days: list[str], store_for: StoreFor, reader: LandedReader) -> dict[str, dict[str, Outcome]]:
    references = _References(tables.CLIMATE)
    temperatures = DayTally("date", [Fault("rows_tmax_below_tmin", "rows with tmax < tmin")])
    for chunk_days in _slices(days):
        rows = _read(store_for, "climate", chunk_days, references.columns + ["station_id", "tmax", "tmin"])
        references.add(rows, chunk_days, store_for)
        temperatures.add_rows(rows)
        temperatures.add_faults(temperatures.faults[0], inverted_temperatures(rows), ["station_id", "tmax", "tmin"])
    return {
        TEMPERATURES: temperatures.outcomes(days, "tmax >= tmin on every row"),
        REFERENCES: references.tally.outcomes(days, "every station and day found"),
    }
