"""The stream job's work in plain Python: materialize exactly the days that newly landed batches fed.

Batches commit in batch-id order (landing holds a lock), so a watermark per consumer in the ledger
(landing_applied) says how far the warehouse is applied. A run takes the committed batches after
it (bounded, see take_batches), writes every table of the days they fed through the IO managers'
PartitionStore side (any set of days, contiguous or not), then moves the watermark. A crash
before the move only means the next run writes those days again: every write replaces or upserts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from amzn_assets import tables
from amzn_assets.checks.warehouse import Evaluation, evaluate_days
from amzn_assets.chunks import TableChunks, summary_of
from amzn_assets.landing.kinds import CLIMATE, PRODUCTS, REVIEWS, STATIONS
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.readers import LandedReader
from amzn_assets.storage.contract import PartitionStore, StorageSpec
from amzn_assets.transforms import reviews as reviews_transform
from amzn_assets.warehouse import star
from amzn_assets.stream.read_through import KIND_OF_REFERENCE_TABLE

STREAM_WATERMARK = "warehouse"  # the ledger row of the stream's watermark (the consumer it applies for; stored: the value stays)
MAX_BATCHES_PER_RUN = 500
# A run stops taking batches once they feed this many days (a batch is never split), unless the
# next batch adds few days to those taken (NEW_DAYS_SHARE): batches of a category's history, each
# spanning nearly all of it, are applied together, each day once, instead of one run per batch
# re-applying the same thousands of days. A day costs ~5 ms of Dagster's bookkeeping and I/O
# (docs/benchmarks.md, "History at scale").
MAX_DAYS_PER_RUN = 5_000
NEW_DAYS_SHARE = 0.05


@dataclass(frozen=True)
class Written:
    table: str
    rows_by_day: dict[str, int]
    summary: dict
    checks: tuple[Evaluation, ...] = ()  # the table's warehouse checks on the days written (amzn_assets.checks)


def days_fed(reader: LandedReader, batches: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Days to (re)materialize per group: "reviews" and "climate" (every table of those days),
    "products" and "stations" (that dimension alone: metadata or a station list arrived for
    entities already seen on those days)."""
    by_kind: dict[str, list[str]] = {}
    for batch_id, kind in batches:
        by_kind.setdefault(kind, []).append(batch_id)
    days: dict[str, set[str]] = {
        "reviews": reader.ledger.partitions_of_batches(by_kind.get("reviews", [])),
        "climate": reader.ledger.partitions_of_batches(by_kind.get("climate", [])),
        "products": set(),
        "stations": set(),
    }
    if "products" in by_kind:
        asins = {a for b in by_kind["products"] for a in reader.batch_values(PRODUCTS, b, "asin")}
        days["products"] = reader.days_with(REVIEWS, "asin", sorted(asins)) - days["reviews"] if asins else set()
    if "stations" in by_kind:
        ids = {s for b in by_kind["stations"] for s in reader.batch_values(STATIONS, b, "station_id")}
        days["stations"] = reader.days_with(CLIMATE, "station_id", sorted(ids)) - days["climate"] if ids else set()
    return days


# The reference table (every landed entity, replaced whole) that a batch of each kind changes.
REFERENCE_TABLE_OF_KIND = {kind: table for table, kind in KIND_OF_REFERENCE_TABLE.items()}
_BUILD_REFERENCE = {"station_list": star.station_list, "product_catalog": star.product_catalog}


def reference_tables_fed(batches: list[tuple[str, str]]) -> list[str]:
    """The reference tables the batches change: a station list or product metadata landed."""
    kinds = {kind for _, kind in batches}
    return [table for kind, table in REFERENCE_TABLE_OF_KIND.items() if kind in kinds]


def write_reference_tables(
    reader: LandedReader, store_for: Callable[[str], PartitionStore], names: Sequence[str]
) -> Iterator[tuple[str, int]]:
    """Replace each named reference table with everything landed of its kind; yield (table, rows)."""
    for name in names:
        spec = tables.TABLES_BY_NAME[name]
        storage = StorageSpec(spec.partition_column, spec.primary_key, spec.mode)
        yield name, store_for(name).write_whole(name, storage, _BUILD_REFERENCE[name](reader))


def take_batches(ledger: Ledger, reader: LandedReader) -> tuple[list[tuple[str, str]], dict[str, set[str]]]:
    """The committed batches after the watermark that one run applies, and the days they fed."""
    candidates = ledger.committed_after(ledger.applied_through(STREAM_WATERMARK), limit=MAX_BATCHES_PER_RUN)
    taken: list[tuple[str, str]] = []
    days: dict[str, set[str]] = {}
    for batch in candidates:
        more = days_fed(reader, [batch])
        merged = {group: days.get(group, set()) | more[group] for group in more}
        before, after = sum(len(d) for d in days.values()), sum(len(d) for d in merged.values())
        if taken and after > MAX_DAYS_PER_RUN and after - before > NEW_DAYS_SHARE * before:
            break
        taken.append(batch)
        days = merged
    # A products (stations) day that now also has reviews (climate) is written with them.
    if days:
        days["products"] -= days["reviews"]
        days["stations"] -= days["climate"]
    return taken, days


def apply_days(
    reader: LandedReader, store_for: Callable[[str], PartitionStore], days: dict[str, set[str]]
) -> Iterator[Written]:
    """Write every table of the days fed, in dependency order (dimensions before the facts that
    reference them), yielding what each write did; a fact table's write comes with its checks
    evaluated on the days written."""
    review_days, climate_days = sorted(days.get("reviews", ())), sorted(days.get("climate", ()))
    product_days, station_days = sorted(days.get("products", ())), sorted(days.get("stations", ()))

    def write(name: str, keys: list[str], chunks: TableChunks) -> Written:
        spec = tables.TABLES_BY_NAME[name]
        rows = store_for(name).write_partitions(name, StorageSpec(spec.partition_column, spec.primary_key, spec.mode), keys, chunks)
        return Written(name, rows, summary_of(chunks))

    def landed(name: str, keys: list[str], columns: Sequence[str] | None = None) -> TableChunks:
        spec = tables.TABLES_BY_NAME[name]
        return store_for(name).read_partitions(name, StorageSpec(spec.partition_column, spec.primary_key, spec.mode), keys, columns)

    if review_days:
        yield write("landed_reviews", review_days, star.landed_reviews(reader, review_days))
        yield write("users", review_days, star.users(landed("landed_reviews", review_days, reviews_transform.USERS_FROM)))
        products = star.products(landed("landed_reviews", review_days, reviews_transform.PRODUCTS_FROM), reader.product_metadata())
        yield write("products", review_days, products)
    if product_days:  # metadata arrived for products reviewed on these days
        yield write("products", product_days, star.products(star.landed_reviews(reader, product_days), reader.product_metadata()))
    if climate_days:
        yield write("landed_climate", climate_days, star.landed_climate(reader, climate_days))
        yield write("stations", climate_days, star.stations(landed("landed_climate", climate_days), reader.station_list()))
    if station_days:  # a station list arrived for stations reporting on these days
        yield write("stations", station_days, star.stations(star.landed_climate(reader, station_days), reader.station_list()))
    calendar = sorted(set(review_days) | set(climate_days))
    if calendar:
        yield write("datetime", calendar, star.datetime(calendar))

    def checked(written: Written) -> Written:
        return replace(written, checks=tuple(evaluate_days(written.table, list(written.rows_by_day), store_for, reader)))

    if review_days:
        yield checked(write("reviews_fact", review_days, star.reviews_fact(landed("landed_reviews", review_days), len(review_days))))
    if climate_days:
        yield checked(write("climate", climate_days, star.climate(landed("landed_climate", climate_days))))
