"""The rules: offending rows of a chunk of whole days (vectorized), counted per day into Outcomes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from amzn_assets.slicing import slices_by_value
from amzn_assets.day_stats import count_by_key

EXAMPLES_PER_DAY = 3


@dataclass(frozen=True)
class Outcome:
    passed: bool
    description: str
    metadata: dict = field(default_factory=dict)  # counts, and a few offending keys as "examples"


@dataclass(frozen=True)
class Fault:
    key: str  # metadata key of its count, e.g. "rows_with_missing_user"
    phrase: str  # what its count counts, e.g. "rows whose reviewer_id is not in users"


class DayTally:
    """Rows looked at per day, offending rows per fault and day, and a few examples, gathered chunk
    by chunk; then one Outcome per day."""

    def __init__(self, partition_column: str, faults: Sequence[Fault], rows_label: str = "rows"):
        self.column = partition_column
        self.faults = list(faults)
        self.rows_label = rows_label
        self.rows: dict[str, int] = {}
        self.counts: dict[str, dict[str, int]] = {f.key: {} for f in faults}
        self.examples: dict[str, list[str]] = {}

    def add_rows(self, table: pa.Table) -> None:
        count_by_key(table, self.column, self.rows)

    def add_faults(self, fault: Fault, offending: pa.Table, shown: Sequence[str]) -> None:
        """Count the offending rows per day; keep the first few per day, described by `shown` columns."""
        count_by_key(offending, self.column, self.counts[fault.key])
        if offending.num_rows == 0:
            return
        for day, rows in slices_by_value(offending.select(list(dict.fromkeys([self.column, *shown]))), self.column):
            kept = self.examples.setdefault(_key(day), [])
            room = EXAMPLES_PER_DAY - len(kept)
            kept += [f"{fault.key}: " + ", ".join(f"{c}={r[c]}" for c in shown) for r in rows.slice(0, max(room, 0)).to_pylist()]

    def outcomes(self, days: Sequence[str], ok: str) -> dict[str, Outcome]:
        out = {}
        for day in days:
            rows = self.rows.get(day, 0)
            counts = {f.key: self.counts[f.key].get(day, 0) for f in self.faults}
            bad = [f"{counts[f.key]} {f.phrase}" for f in self.faults if counts[f.key]]
            metadata = {self.rows_label: rows, **counts}
            if day in self.examples:
                metadata["examples"] = "; ".join(self.examples[day])
            description = f"{day}: " + ("; ".join(bad) + f" (of {rows} {self.rows_label})" if bad else f"{rows} {self.rows_label}, {ok}")
            out[day] = Outcome(not bad, description, metadata)
        return out


def _key(value) -> str:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# -- the rules: each returns the offending rows ------------------------------------------------------


def ratings_out_of_range(fact: pa.Table) -> pa.Table:
    rating = fact["rating"]
    bad = pc.or_kleene(pc.is_null(rating), pc.or_(pc.less(rating, 1), pc.greater(rating, 5)))
    return fact.filter(pc.fill_null(bad, True))


def duplicated_keys(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """One row per key held by more than one row, with its row count as `copies`."""
    if table.num_rows == 0:
        return table.select(list(key)).append_column("copies", pa.array([], pa.int64()))
    counted = table.group_by(list(key), use_threads=False).aggregate([([], "count_all")]).rename_columns([*key, "copies"])
    return counted.filter(pc.greater(counted["copies"], 1))


def not_in(table: pa.Table, column: str, present: pa.Array) -> pa.Table:
    """Rows whose column value is not among present (a null never is)."""
    found = pc.is_in(table[column], value_set=present.cast(table.schema.field(column).type))
    return table.filter(pc.invert(pc.fill_null(found, False)))


def anti_join(left: pa.Table, right: pa.Table, key: Sequence[str]) -> pa.Table:
    """Rows of left whose key is not in right."""
    return left.join(right.select(list(key)), keys=list(key), join_type="left anti", use_threads=False)


def inverted_temperatures(climate: pa.Table) -> pa.Table:
    return climate.filter(pc.fill_null(pc.less(climate["tmax"], climate["tmin"]), False))
