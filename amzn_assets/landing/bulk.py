"""Bulk import: land a whole dump (millions of reviews) straight into segments and the ledger.

The dump is one ledger file and one batch: it commits whole or not at all. Rows stream through in
bounded memory: parsed batches are buffered up to `flush_bytes`, then written as month segments
(one part per flush), so a fifteen-year dump makes a few hundred files, not millions.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import pyarrow as pa

from amzn_assets.landing.intake import Lander, new_batch_id
from amzn_assets.landing.kinds import KINDS_BY_NAME
from amzn_assets.sources.common import ParseResult, SourceFileError
from amzn_assets.sources.inflate import BoundedGzip

DEFAULT_FLUSH_BYTES = 128 * 1024 * 1024


class ImportFailed(Exception):
    """The dump could not be imported; nothing of it was kept."""


@dataclass
class ImportReport:
    path: str
    batch_id: str | None = None
    duplicate_of: str | None = None  # the ledger path of the same content, already imported
    rows: int = 0
    rejected: int = 0
    parts: int = 0
    days: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def import_dump(
    lander: Lander,
    path: str | os.PathLike,
    *,
    kind: str = "reviews",
    category: str | None = None,
    flush_bytes: int = DEFAULT_FLUSH_BYTES,
    today: date | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import a reviews or products dump; a second import of the same content is a recorded no-op.

    on_progress(rows so far) is called after each parsed batch.
    """
    source_kind = KINDS_BY_NAME[kind]
    path = Path(path).resolve()
    started = time.perf_counter()
    report = ImportReport(str(path))
    sha256, size, mtime_ns = _fingerprint(path)
    ledger = lander.ledger
    with ledger.exclusive():
        lander.recover()
        batch_id = new_batch_id()
        row = {
            "path": str(path), "size_bytes": size, "mtime_ns": mtime_ns, "sha256": sha256,
            "kind": kind, "category": category, "archived_path": None,
        }
        known = ledger.live_files(kind, [sha256]).get(sha256)
        if known is not None:
            ledger.open_batch(batch_id, kind)
            ledger.commit_batch(batch_id, [dict(row, status="duplicate", partitions=None, error=f"same content as {known.path}")], [], 0)
            report.batch_id, report.duplicate_of = batch_id, known.path
            report.seconds = time.perf_counter() - started
            return report

        ledger.open_batch(batch_id, kind)
        rejected: list[dict] = []
        days: set[str] = set()
        buffered: list[pa.Table] = []
        buffered_bytes = 0
        # Segments are written on a second thread while parsing goes on (both release the GIL);
        # one write in flight at a time keeps memory bounded.
        writer = ThreadPoolExecutor(max_workers=1)
        pending: Future | None = None

        def write(table: pa.Table, part: int) -> None:
            days.update(lander.segments.write(kind, table, source_kind.partition_column, batch_id, part=part, by_month=True))

        def flush() -> None:
            nonlocal buffered, buffered_bytes, pending
            if pending is not None:
                pending.result()
                pending = None
            if buffered:
                pending = writer.submit(write, pa.concat_tables(buffered), report.parts)
                report.parts += 1
            buffered, buffered_bytes = [], 0

        try:
            for result in _batches(kind, path, category, today):
                table = result.table.select(source_kind.schema.names).cast(source_kind.schema)
                report.rows += table.num_rows
                rejected.extend(
                    {"kind": kind, "source": str(path), "line": r.line, "reason": r.reason, "record": r.record}
                    for r in result.rejected
                )
                buffered.append(table)
                buffered_bytes += table.nbytes
                if buffered_bytes >= flush_bytes:
                    flush()
                if on_progress:
                    on_progress(report.rows)
            flush()
            flush()  # wait for the last write
        except (SourceFileError, OSError, EOFError) as exc:
            _abandon(writer, pending, lander, kind, batch_id)
            raise ImportFailed(f"{path}: {exc} (nothing imported)") from exc
        except BaseException:
            _abandon(writer, pending, lander, kind, batch_id)
            raise
        writer.shutdown()
        status = "landed" if report.rows else "quarantined"
        ledger.commit_batch(
            batch_id,
            [dict(row, status=status, partitions=json.dumps(sorted(days)) if days else None, error=None if report.rows else "no valid record")],
            rejected,
            report.rows,
        )
    report.batch_id, report.rejected, report.days = batch_id, len(rejected), sorted(days)
    report.seconds = time.perf_counter() - started
    return report


def _abandon(writer: ThreadPoolExecutor, pending: Future | None, lander: Lander, kind: str, batch_id: str) -> None:
    """Roll a failed import back: no segment and no ledger row of it remain."""
    if pending is not None:
        pending.exception()  # let the write finish (or fail) before deleting what it wrote
    writer.shutdown()
    lander.segments.delete_batch(kind, batch_id)
    lander.ledger.forget_batch(batch_id)


def _batches(kind: str, path: Path, category: str | None, today: date | None) -> Iterator[ParseResult]:
    if kind == "reviews":
        from amzn_assets.sources.dumps import iter_review_dump

        yield from iter_review_dump(path, category=category, source=str(path), today=today)
    elif kind == "products":
        yield from _product_batches(path)
    else:
        raise ValueError(f"bulk import takes reviews or products dumps, not {kind!r}")


def _product_batches(path: Path, lines_per_batch: int = 50_000) -> Iterator[ParseResult]:
    """Metadata dumps: JSON lines in chunks, line numbers kept file-wide (or one JSON array, read whole)."""
    from amzn_assets.sources.products import parse_products

    with open(path, "rb") as raw:
        dump = BoundedGzip(raw)
        if dump.peek(4096).removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"[":  # after a BOM and blanks
            yield parse_products(dump.read_whole(), str(path))
            return
        chunk: list[bytes] = []
        done = 0
        for line in dump.lines():
            chunk.append(line)
            if len(chunk) >= lines_per_batch:
                yield _shifted(parse_products(b"".join(chunk), str(path)), done)
                done += len(chunk)
                chunk = []
        if chunk:
            yield _shifted(parse_products(b"".join(chunk), str(path)), done)


def _shifted(result: ParseResult, lines_before: int) -> ParseResult:
    result.rejected = [replace(r, line=r.line + lines_before if r.line else r.line) for r in result.rejected]
    return result


def _fingerprint(path: Path) -> tuple[str, int, int]:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * 1024 * 1024), b""):
            digest.update(block)
        stat = os.fstat(handle.fileno())
    return digest.hexdigest(), stat.st_size, stat.st_mtime_ns
