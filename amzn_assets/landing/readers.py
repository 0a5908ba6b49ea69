"""Read what has landed: committed segments only, deduplicated by each table's key.

Which segments count is the ledger's answer (compaction.readable_segments: committed batches,
with the batches a live compaction holds read from its pieces). A compaction deletes the files it
superseded right after its commit, so a read that took the set just before may find a file gone,
or miss one: it asks for the set again after reading, and reads again with the new set when a
name of its set was superseded (at most READ_ATTEMPTS times).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets import tables
from amzn_assets.day_stats import counts_by_day
from amzn_assets.landing.compaction import readable_segments
from amzn_assets.landing.kinds import CLIMATE, PRODUCTS, REVIEWS, STATIONS, SourceKind
from amzn_assets.landing.ledger import Ledger
from amzn_assets.landing.segments import SegmentStore
from amzn_assets.transforms.dedupe import keep_last
from amzn_assets.transforms.review_identity import distinct_reviews


_KEY = ("review_date", "review_id")
READ_ATTEMPTS = 5  # reads of a set of segments that a compaction swapped away meanwhile, at most
T = TypeVar("T")  # a review's day and identity: the key reviews_fact has


class _KeyMemo:
    """The review keys of the latest reads, up to max_rows in all (oldest dropped first): memory
    stays bounded however long the range. An entry is keyed by the readable batches (and
    compactions) it was read from, so a batch landed since is never answered from memory."""

    def __init__(self, max_rows: int = 2_000_000):
        self.max_rows = max_rows
        self.entries: OrderedDict[tuple, pa.Table] = OrderedDict()

    def put(self, key: tuple, rows: pa.Table) -> None:
        self.entries[key] = rows.select(list(_KEY))
        self.entries.move_to_end(key)
        while sum(t.num_rows for t in self.entries.values()) > self.max_rows:
            self.entries.popitem(last=False)

    def get(self, key: tuple) -> pa.Table | None:
        return self.entries.get(key)


_review_keys = _KeyMemo()


class LandedReader:
    def __init__(self, ledger: Ledger, segments: SegmentStore):
        self.ledger = ledger
        self.segments = segments

    def readable(self, kind: str) -> set[str]:
        """The batches and compactions whose segments a read of this kind takes now."""
        return readable_segments(self.ledger, kind)

    def _consistent(self, kind: str, read: Callable[[set[str]], T]) -> tuple[T, set[str]]:
        """read(the readable set), again with a new set when a compaction superseded part of the
        old one meanwhile: its files may have gone before the listing (the read would miss them
        silently: the set is asked again after the read) or before the opening (FileNotFoundError)."""
        for attempt in range(READ_ATTEMPTS):
            readable = self.readable(kind)
            try:
                result = read(readable)
            except FileNotFoundError:
                if attempt == READ_ATTEMPTS - 1:
                    raise
                continue
            if not readable - self.readable(kind):  # batches leave the set only when compacted
                return result, readable
        raise RuntimeError(f"landed {kind}: compactions kept superseding the segments read, {READ_ATTEMPTS} times")

    def _read(self, kind: SourceKind, keys: Sequence[str] = ()) -> pa.Table:
        return self._consistent(
            kind.name, lambda readable: self.segments.read(kind.name, kind.schema, readable, kind.partition_column, keys)
        )[0]

    def reviews(self, keys: Sequence[str]) -> tuple[pa.Table, int]:
        """Reviews of these days, one row per review_id (every path reads reviews here); a later
        landed copy of a review wins. Returns (rows, duplicates merged)."""
        unique, merged = self.reviews_by_day(keys)
        return unique, sum(merged.values())

    def reviews_by_day(self, keys: Sequence[str]) -> tuple[pa.Table, dict[str, int]]:
        """reviews(), with the duplicates merged counted per review day."""
        records, readable = self._consistent(
            REVIEWS.name, lambda readable: self.segments.read(REVIEWS.name, REVIEWS.schema, readable, REVIEWS.partition_column, keys)
        )
        unique = distinct_reviews(records)
        _review_keys.put((str(self.segments.root), tuple(sorted(set(keys))), frozenset(readable)), unique)
        landed, kept = counts_by_day(records["review_date"]), counts_by_day(unique["review_date"])
        return unique, {day: n - kept.get(day, 0) for day, n in landed.items() if n > kept.get(day, 0)}

    def review_keys(self, keys: Sequence[str]) -> pa.Table:
        """(review_date, review_id) of the reviews of these days: what reviews() gives, without
        reading and hashing the landed rows again when this process just read the same days of the
        same committed batches (a run's checks after its write)."""
        memo_key = (str(self.segments.root), tuple(sorted(set(keys))), frozenset(self.readable(REVIEWS.name)))
        found = _review_keys.get(memo_key)
        return found if found is not None else self.reviews(keys)[0].select(list(_KEY))

    def climate(self, keys: Sequence[str]) -> pa.Table:
        """Observations of these days; a later landed file corrects an earlier one."""
        return keep_last(self._read(CLIMATE, keys), tables.LANDED_CLIMATE.primary_key)

    def days_with(self, kind: SourceKind, column: str, values: Sequence[str]) -> set[str]:
        """Partition days whose committed rows have one of these values in column."""
        rows = self._consistent(
            kind.name, lambda readable: self.segments.read_all_partitions(kind.name, kind.partition_column, [column], readable)
        )[0]
        if rows.num_rows == 0:
            return set()
        hits = rows.filter(pc.is_in(rows[column], pa.array(list(values), pa.string())))
        return {d.isoformat() for d in pc.unique(hits[kind.partition_column]).to_pylist()}

    def batch_values(self, kind: SourceKind, batch_id: str, column: str) -> list[str]:
        """Distinct values of a column in one committed batch of an unpartitioned kind."""
        rows = self.segments.read(kind.name, kind.schema, {batch_id})
        return pc.unique(rows[column]).to_pylist() if rows.num_rows else []

    def product_metadata(self) -> pa.Table:
        return keep_last(self._read(PRODUCTS), ("asin",))

    def station_list(self) -> pa.Table:
        return keep_last(self._read(STATIONS), ("station_id",))
