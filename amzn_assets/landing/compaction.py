"""Compaction of landed span segments: a day's read opens a few files, however many batches landed.

A batch of historical one-review files spans most of a category's history, so its one span
segment reaches nearly every day: after 1,000 such batches a reader of one day opened 1,000
files. Compaction rewrites span segments into **pieces** of one compaction,

    data/landed/reviews/compacted/<compaction_id>.<first>.<last>.parquet

of disjoint day ranges (about PIECE_ROWS rows each, cut between days), sorted by day and then by
source batch, each row carrying its batch in a `landing_batch` column. A reader of a day opens the
one piece of each live compaction that holds the day, plus the spans not yet compacted, and puts
the rows back in batch order (segments.read), so "the last landed copy wins" holds unchanged.

**When.** `compact_due()` runs at the end of every `Lander.land_pending()`, under the landing
lock: when SPANS_REACHING_A_DAY_MAX loose (not yet compacted) spans reach one day, they are
merged into a new compaction, together with every live compaction no larger than RUN_RATIO times
the rows gathered so far (smallest first). Live compactions therefore differ in size by more than
RUN_RATIO each, so at most 1 + log_RUN_RATIO(rows landed / rows of the loose spans) of them live,
and a row is rewritten about once per level (over 1,000 equal batches: 9 files per day's read at
most, 4.7 on average, each row written 5.8 times; a ratio of 4 gives 7 and 4.0 files for 8.2
writes). Spans that do not overlap (a backlog of a few weeks each) never trigger one.

**The swap.** The ledger holds it (ledger_schema: landing_compactions, landing_compacted):

1. a compaction row, status `open`, is committed;
2. its pieces are written (temporary name, fsync, rename, folder fsync: segments._write_durably);
3. one transaction maps every batch it holds to it (landing_compacted; the batches of the
   compactions it merges are moved to it), marks those compactions `superseded` and itself `live`;
4. the superseded files (the loose spans, the merged compactions' pieces) and rows are deleted.

Readers ask `readable_segments()` in one statement: committed batches without a mapping, plus
live compactions; so they see the old set or the new one, never both or neither. A crash before
3 leaves an open row, whose pieces the next compaction call deletes (the spans were never
superseded); after 3, it deletes what 4 had not. A reader that took the old set just before 4
finds a file gone and reads again with the new set (readers.LandedReader). Landing batches keep
their ledger rows (status, files, partitions), so `partitions_of_batches`, the stream watermark
and exactly-once detection are untouched: compaction moves rows between files, nothing else.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from sqlalchemy import exists, insert, select, union_all, update

from amzn_assets.landing.kinds import KINDS_BY_NAME
from amzn_assets.landing.ledger import Ledger, utcnow
from amzn_assets.landing.ledger_schema import landing_batches, landing_compacted, landing_compactions
from amzn_assets.landing.pieces import by_day_and_batch, cut_between_days, day_number, day_numbers, most_reaching_a_day, with_batch
from amzn_assets.landing.segments import (
    COMPACTED_FOLDER,
    SPAN_FOLDER,
    SegmentStore,
    _write_durably,
    with_batch_column,
)

log = logging.getLogger(__name__)

COMPACTED_KINDS = ("reviews",)  # climate spans could follow (checks/stations.py reads committed_batches)
SPANS_REACHING_A_DAY_MAX = 4  # loose spans reaching one day that trigger a compaction
RUN_RATIO = 2  # a live compaction is merged when no larger than this times the rows gathered
PIECE_ROWS = 65_536  # rows of a piece: a day's read parses a small footer
PIECE_ROW_GROUP = 2048  # a day's read decodes ~1 row group (best of 40: 2.5 ms vs 3.1 ms at 4096)


@dataclass
class CompactionReport:
    kind: str
    compaction_id: str
    spans: int  # loose span segments rewritten
    compactions_merged: int
    batches: int  # landing batches whose rows the new compaction holds
    rows: int
    pieces: int
    seconds: float


def readable_segments(ledger: Ledger, kind: str) -> set[str]:
    """The names (batch or compaction ids) whose segments a reader of this kind takes: committed
    batches not held by a compaction, and live compactions. One statement: one snapshot."""
    own = select(landing_batches.c.batch_id).where(
        landing_batches.c.kind == kind,
        landing_batches.c.status == "committed",
        ~exists().where(landing_compacted.c.batch_id == landing_batches.c.batch_id),
    )
    compactions = select(landing_compactions.c.compaction_id).where(
        landing_compactions.c.kind == kind, landing_compactions.c.status == "live"
    )
    with ledger.engine.connect() as conn:
        return {name for (name,) in conn.execute(union_all(own, compactions))}


def new_compaction_id() -> str:
    """Sortable by creation time; 'c' keeps it apart from batch ids (segments.batch_of reads both)."""
    return f"c{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"


class Compactor:
    """Compacts the span segments of a landing zone. Callers hold the landing lock
    (Ledger.exclusive()), as Lander.land_pending does: one compactor (and lander) at a time."""

    def __init__(
        self,
        ledger: Ledger,
        segments: SegmentStore,
        *,
        spans_max: int | None = None,
        ratio: float | None = None,
        piece_rows: int | None = None,
        on_stage: Callable[[str], None] | None = None,
    ):
        self.ledger = ledger
        self.segments = segments
        self.spans_max = spans_max or SPANS_REACHING_A_DAY_MAX
        self.ratio = ratio or RUN_RATIO
        self.piece_rows = piece_rows or PIECE_ROWS
        # Test hook: called with "pieces_written" and "committed" to inject crashes.
        self.on_stage = on_stage or (lambda stage: None)

    def compact_due(self) -> list[CompactionReport]:
        """Finish what a crash left, then compact each kind whose loose spans reach a day
        spans_max times or more."""
        reports = []
        for kind in COMPACTED_KINDS:
            self.recover(kind)
            loose = self.loose_spans(kind)
            if most_reaching_a_day([(first, last) for _, first, last, _ in loose]) >= self.spans_max:
                report = self.compact(kind, loose)
                if report:
                    reports.append(report)
        return reports

    def loose_spans(self, kind: str) -> list[tuple[str, str, str, Path]]:
        """(batch, first day, last day, path) of the committed span segments no compaction holds."""
        readable = readable_segments(self.ledger, kind)
        return sorted(s for s in self.segments.ranged(kind, SPAN_FOLDER) if s[0] in readable)

    def compact(
        self, kind: str, loose: Sequence[tuple[str, str, str, Path]] | None = None, everything: bool = False
    ) -> CompactionReport | None:
        """Merge these loose spans (default: all) with the live compactions the size rule picks
        (everything: all of them, leaving one compaction) into a new compaction."""
        started = time.perf_counter()
        loose = list(self.loose_spans(kind) if loose is None else loose)
        gathered = sum(pq.ParquetFile(path).metadata.num_rows for *_, path in loose)
        merged: list[tuple[str, int]] = []
        for compaction_id, rows in self._live(kind):  # smallest first
            if not everything and rows > self.ratio * gathered:
                break
            merged.append((compaction_id, rows))
            gathered += rows
        if not loose and len(merged) < 2:
            return None
        compaction_id = new_compaction_id()
        with self.ledger.engine.begin() as conn:
            conn.execute(insert(landing_compactions).values(compaction_id=compaction_id, kind=kind, status="open", created_at=utcnow()))
        rows, pieces = self._write_pieces(kind, compaction_id, loose, [c for c, _ in merged])
        self.on_stage("pieces_written")
        merged_ids = [c for c, _ in merged]
        with self.ledger.engine.begin() as conn:
            if loose:
                conn.execute(insert(landing_compacted), [{"batch_id": b, "compaction_id": compaction_id} for b, *_ in loose])
            if merged_ids:
                conn.execute(update(landing_compacted).where(landing_compacted.c.compaction_id.in_(merged_ids)).values(compaction_id=compaction_id))
                conn.execute(update(landing_compactions).where(landing_compactions.c.compaction_id.in_(merged_ids)).values(status="superseded"))
            batches = conn.execute(
                select(landing_compacted.c.batch_id).where(landing_compacted.c.compaction_id == compaction_id)
            ).all()
            conn.execute(
                update(landing_compactions)
                .where(landing_compactions.c.compaction_id == compaction_id)
                .values(status="live", committed_at=utcnow(), batch_count=len(batches), row_count=rows, piece_count=pieces)
            )
        self.on_stage("committed")
        self.recover(kind)  # the superseded spans and pieces go
        return CompactionReport(kind, compaction_id, len(loose), len(merged_ids), len(batches), rows, pieces, time.perf_counter() - started)

    def recover(self, kind: str) -> None:
        """Delete what no reader takes any more: pieces of open (crashed) and superseded
        compactions, then their rows, and span segments of batches a live compaction holds."""
        with self.ledger.engine.connect() as conn:
            gone = {
                c for (c,) in conn.execute(
                    select(landing_compactions.c.compaction_id).where(
                        landing_compactions.c.kind == kind, landing_compactions.c.status.in_(("open", "superseded"))
                    )
                )
            }
            held = {b for (b,) in conn.execute(select(landing_compacted.c.batch_id))}
        for folder, dead in ((COMPACTED_FOLDER, gone), (SPAN_FOLDER, held)):
            path = self.segments.root / kind / folder
            if not dead or not path.is_dir():
                continue
            for segment in path.iterdir():  # temporary names of a crashed write start with "."
                if segment.name.lstrip(".").split(".", 1)[0] in dead:
                    segment.unlink(missing_ok=True)
        if gone:
            with self.ledger.engine.begin() as conn:
                conn.execute(landing_compactions.delete().where(landing_compactions.c.compaction_id.in_(sorted(gone))))

    def _live(self, kind: str) -> list[tuple[str, int]]:
        with self.ledger.engine.connect() as conn:
            rows = conn.execute(
                select(landing_compactions.c.compaction_id, landing_compactions.c.row_count).where(
                    landing_compactions.c.kind == kind, landing_compactions.c.status == "live"
                )
            )
            return sorted(((c, n) for c, n in rows), key=lambda r: (r[1], r[0]))

    def _write_pieces(
        self, kind: str, compaction_id: str, loose: Sequence[tuple[str, str, str, Path]], merged: Sequence[str]
    ) -> tuple[int, int]:
        """Write the compaction's pieces, window by window of days (the piece boundaries of the
        largest compaction merged, so each window holds about a piece of it): memory stays bounded
        by a window, not the history. Returns (rows, pieces)."""
        source = KINDS_BY_NAME[kind]
        column, schema = source.partition_column, with_batch_column(source.schema)
        folder = self.segments.root / kind / COMPACTED_FOLDER

        spans = [with_batch(pq.read_table(path, schema=source.schema), batch) for batch, _, _, path in loose]
        spans_table = by_day_and_batch(pa.concat_tables(spans) if spans else schema.empty_table(), column)
        span_days = day_numbers(spans_table[column])

        pieces_of = {c: [] for c in merged}
        for owner, first, last, path in self.segments.ranged(kind, COMPACTED_FOLDER):
            if owner in pieces_of:
                pieces_of[owner].append((first, last, path))
        largest = max(pieces_of.values(), key=len, default=[])
        starts = sorted(date.fromisoformat(first) for first, _, _ in largest)[1:]
        bounds = [None, *starts, None]  # windows [bounds[i], bounds[i + 1]) of days

        rows = pieces = 0
        for lo, hi in zip(bounds, bounds[1:]):
            parts = []
            a = 0 if lo is None else int(np.searchsorted(span_days, day_number(lo), "left"))
            b = len(span_days) if hi is None else int(np.searchsorted(span_days, day_number(hi), "left"))
            if b > a:
                parts.append(spans_table.slice(a, b - a))
            for owner_pieces in pieces_of.values():
                for first, last, path in owner_pieces:
                    if (hi is not None and first >= hi.isoformat()) or (lo is not None and last < lo.isoformat()):
                        continue
                    filters = [f for f in ((column, ">=", lo), (column, "<", hi)) if f[2] is not None]
                    parts.append(pq.read_table(path, schema=schema, filters=filters or None))
            window = by_day_and_batch(pa.concat_tables(parts), column) if parts else None
            if window is None or window.num_rows == 0:
                continue
            written = []
            for piece in cut_between_days(window, column, self.piece_rows):
                first, last = pc.min_max(piece[column]).values()
                name = f"{compaction_id}.{first.as_py().isoformat()}.{last.as_py().isoformat()}.parquet"
                written.append((piece, folder / name, PIECE_ROW_GROUP))
            _write_durably(written)
            rows += window.num_rows
            pieces += len(written)
        return rows, pieces


def compact_landed(ledger: Ledger, segments: SegmentStore) -> list[CompactionReport]:
    """What Lander.land_pending calls last, under its lock: compact what is due. A failure is
    logged, not raised: the batches are committed, and reads stay right (only slower) until a
    later landing's compaction succeeds (its recovery first deletes what this one left)."""
    try:
        reports = Compactor(ledger, segments).compact_due()
    except Exception:  # noqa: BLE001 - landing must not fail for an optimization
        log.exception("compaction of landed segments failed; the next landing tries again")
        return []
    for r in reports:
        log.info(
            f"compacted {r.kind}: {r.spans} spans + {r.compactions_merged} compactions -> {r.compaction_id}, "
            f"{r.batches} batches, {r.rows} rows in {r.pieces} pieces, {r.seconds:.2f}s"
        )
    return reports
