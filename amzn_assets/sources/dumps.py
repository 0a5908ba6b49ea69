"""Stream a whole Amazon review dump (2018 per-category files such as Home_and_Kitchen_5.json.gz,
or 2014 files) into PARSED_REVIEW_SCHEMA batches, in memory bounded by the batch size.

    for result in iter_review_dump(path, category="Home_and_Kitchen", source="Home_and_Kitchen_5.json.gz"):
        write(result.table); quarantine(result.rejected)

Every batch gives exactly what `parse_reviews` gives for its lines (same rows, types, reject
reasons), with reject line numbers counted over the whole decompressed dump. How it gets there:

* A background thread reads and gunzips the file (zlib releases the GIL) and cuts the stream into
  chunks of whole lines (a quarter of a batch, at most 65,536 lines), handing over one ready chunk
  at a time (sources/dump_reader.py).
* Two worker threads take the chunks: they find the lines, set aside those pyarrow must not see,
  have pyarrow's JSON reader parse the rest (without the GIL) and check its columns with
  vectorized tests (sources/review_arrow.py; the fields are sources/review_fields.py's table). Only rows that are provably what the orjson path of `reviews.py` would give
  (the ground truth) are taken from pyarrow. When pyarrow refuses a chunk (say "vote": 12 where
  the other lines hold strings), the lines its error points at are set aside and it tries again;
  failing that, the chunk is halved, down to 2,048 lines.
* The calling thread finishes the chunks in order: every line set aside (a reject candidate, or
  anything unusual: explicit nulls, NaN/Infinity literals, odd line shapes, invalid UTF-8, a type
  pyarrow refuses...) is parsed by that orjson path, and the rows are put back in line order. A
  batch's table is its chunks' tables, concatenated (so it has several record batches).

Where pyarrow is more lenient than orjson, the line never reaches it or its row is not trusted:
pyarrow does not check UTF-8, has no nesting limit (and crashes on very deep nesting), reads two
objects on one line or one object over two lines, crashes on some top-level `null`s, and accepts
NaN/Infinity (harmless in the typed columns, which then refuse the block or give an untrusted
value; rows with any field outside the known ones are not trusted). See `_odd_lines` and
review_arrow.ReviewValidator.
"""

from __future__ import annotations

from __future__ import annotations

import collections
import datetime as dt
import itertools
import os
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from amzn_assets.sources.common import ParseResult, RawLine, Rejected, SourceFileError
from amzn_assets.sources.dump_json import culprits, find_all, in_line_order, line_ends, read_json, utf8_ok
from amzn_assets.sources.dump_reader import DumpChunk, DumpReader
from amzn_assets.sources.review_arrow import ReviewValidator
from amzn_assets.sources.review_fields import DAY_SECONDS, MAX_REVIEW_BYTES
from amzn_assets.sources.reviews import parse_review_batch
from amzn_assets.tables import PARSED_REVIEW_SCHEMA

_WORKERS = 2  # threads preparing and parsing chunks
_PENDING = 3  # chunks submitted to them and not finished yet
_RETRIES = 4  # pyarrow tries again after its error names the lines to blame (then: halving)
_MIN_SPLIT = 2048  # a block pyarrow refuses is halved down to this many lines, then parsed by orjson
_ORJSON_GROUP = 1024  # lines per parse_review_batch call on the orjson path
_DEEP_LINE = 2048  # a line this long may nest past orjson's limit (1024): its brackets are counted
_LBRACE, _RBRACE, _CR, _NL, _SPACE = ord("{"), ord("}"), ord("\r"), ord("\n"), ord(" ")




def iter_review_dump(
    path: str | os.PathLike,
    *,
    category: str | None,
    source: str,
    batch_lines: int = 262_144,
    today: dt.date | None = None,
) -> Iterator[ParseResult]:
    """Parse a gzip (or plain) JSON-lines review dump, one ParseResult per `batch_lines` lines.

    Rows, types and reject reasons are those of `parse_reviews` over the same lines (`source` and
    whole-dump 1-based line numbers in the rejects; blank lines skipped silently). A record dated
    after `today` (default: today's UTC date) is refused. Memory stays O(batch_lines).

    Raises SourceFileError for an empty dump, and for a corrupt or truncated gzip: after yielding
    every line that was complete, with the last complete line number in the message.
    """
    if batch_lines < 1:
        raise ValueError(f"batch_lines must be positive, got {batch_lines}")
    today = today or dt.datetime.now(dt.timezone.utc).date()
    parser = _BatchParser(source, category, ((today - dt.date(1970, 1, 1)).days + 1) * DAY_SECONDS)
    # While the reader thread gunzips, _WORKERS threads prepare chunks and have pyarrow parse them
    # (mostly without the GIL), and this thread finishes them in order.
    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="review-dump-parse")
    file = open(path, "rb", buffering=0)
    reader = DumpReader(file, batch_lines)
    try:
        if not reader.start():
            raise SourceFileError(f"{source}: empty file")
        done = 0  # lines before the next chunk
        tables: list[pa.Table] = []
        rejected: list[Rejected] = []
        pending: collections.deque[Future] = collections.deque()
        for chunk in itertools.chain(reader.chunks(), [None]):
            if chunk is not None:
                pending.append(pool.submit(parser.prepare, chunk, done))
                done += chunk.n_lines
            # finish chunks in order: those already parsed, or to keep at most _PENDING in flight
            while pending and (chunk is None or len(pending) > _PENDING or pending[0].done()):
                job = pending.popleft().result()
                result = parser.finish(job)
                tables.append(result.table)
                rejected += result.rejected
                if job.ends_batch:
                    yield ParseResult(tables[0] if len(tables) == 1 else pa.concat_tables(tables), rejected)
                    tables, rejected = [], []
        if reader.refused:
            raise SourceFileError(f"{source}: {reader.error}")
        if reader.error is not None:
            raise SourceFileError(
                f"{source}: corrupt or truncated gzip ({reader.error}); the last complete line is "
                f"line {done:,}{' (the data stops inside the next one)' if reader.partial_line else ''}"
            )
        if not parser.records_seen:
            raise SourceFileError(f"{source}: empty file (no records{' in the gzip' if reader.gzip else ''})")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        reader.close()
        file.close()



# --- parsing ----------------------------------------------------------------------------------------


@dataclass
class _Job:
    """One chunk between prepare() and finish()."""

    data: bytearray
    first: int  # lines of the dump before this chunk
    ends_batch: bool
    starts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # exclusive, no newline
    fallback: dict[int, bytes] = field(default_factory=dict)  # line index -> raw line, for orjson
    trusted: list[tuple[pa.Table, np.ndarray]] = field(default_factory=list)  # (rows, line indices)


class _BatchParser:
    def __init__(self, source: str, category: str | None, end_ts: int) -> None:
        self.source = source
        self.category = category
        self.end_ts = end_ts  # first second after `today`
        self.style_cache: dict[Any, str | None] = {}
        self.validator = ReviewValidator(category, end_ts, self.style_cache)
        self.records_seen = False  # any non-blank line so far

    def prepare(self, chunk: DumpChunk, first: int) -> _Job:
        """Join a chunk and sort its lines: blank, for the orjson path (`job.fallback`), or parsed
        by pyarrow and trusted after the checks (`job.trusted`). Runs in a worker thread."""
        data, n = chunk.join(), chunk.n_lines
        job = _Job(data, first, chunk.ends_batch)
        if n == 0:
            return job
        arr = np.frombuffer(data, np.uint8)
        newlines = line_ends(arr)
        starts = np.empty(n, np.int64)
        starts[0] = 0
        starts[1:] = newlines[: n - 1] + 1
        ends = np.empty(n, np.int64)  # exclusive, the newline not included
        ends[: len(newlines)] = newlines[:n]
        if n > len(newlines):
            ends[-1] = len(data)

        nonempty = ends > starts
        odd = self._odd_lines(data, arr, starts, ends, nonempty)
        fallback: dict[int, bytes] = {}  # line index -> raw bytes, for the orjson path
        for i in np.flatnonzero(odd).tolist():
            line = bytes(data[starts[i] : ends[i]])
            if line.strip():  # whitespace-only lines are blank lines: skipped like split_lines does
                fallback[i] = line
            arr[starts[i] : ends[i]] = _SPACE  # pyarrow skips blank lines
        good = np.flatnonzero(nonempty & ~odd)
        self.records_seen = self.records_seen or bool(len(good) or fallback)
        job.starts, job.ends, job.fallback = starts, ends, fallback
        if len(good):
            self._arrow(job, good, _RETRIES)
        return job

    def finish(self, job: _Job) -> ParseResult:
        """The chunk's rows (pyarrow's trusted rows and the orjson path's) in line order."""
        rejected: list[Rejected] = []
        if job.fallback:
            job.trusted.append(self._orjson(job.fallback, job.first, rejected))
        return ParseResult(in_line_order(job.trusted), rejected)

    def _odd_lines(
        self, data: bytearray, arr: np.ndarray, starts: np.ndarray, ends: np.ndarray, nonempty: np.ndarray
    ) -> np.ndarray:
        """Lines that must not reach pyarrow: the orjson path parses them.

        A line goes to pyarrow only if it starts with "{" and ends with "}" (or "}\\r"): a valid
        JSON text made of such lines holds no object spread over two lines, so pyarrow's rows match
        the lines one to one once each line gives exactly one row (checked after parsing). Also
        left out: lines with "null" anywhere (pyarrow cannot tell {"k": null} from a missing key
        in a struct, and crashes on some top-level nulls), invalid UTF-8 (pyarrow does not check
        it), long lines that could nest deeper than orjson allows, and lines over the size limit.
        """
        last = np.where(nonempty, ends - 1, 0)
        last_byte = arr[last]
        crlf = (last_byte == _CR) & (ends - starts >= 2)
        last_byte = np.where(crlf, arr[np.maximum(last - 1, 0)], last_byte)
        odd = nonempty & ~((arr[np.where(nonempty, starts, 0)] == _LBRACE) & (last_byte == _RBRACE))

        suspects = find_all(data, b"null")
        if suspects:
            odd[np.searchsorted(ends, np.array(suspects, np.int64), side="left")] = True
        odd |= ends - starts > MAX_REVIEW_BYTES
        for i in np.flatnonzero(nonempty & (ends - starts >= _DEEP_LINE)).tolist():
            s, e = int(starts[i]), int(ends[i])
            if data.count(b"[", s, e) + data.count(b"{", s, e) >= 1000:
                odd[i] = True
        if not data.isascii() and not utf8_ok(data):
            for i in np.flatnonzero(nonempty & ~odd).tolist():
                try:
                    data[starts[i] : ends[i]].decode("utf-8")
                except UnicodeDecodeError:
                    odd[i] = True
        return odd

    def _arrow(self, job: _Job, lines: np.ndarray, retries: int) -> None:
        """Have pyarrow parse `lines` (indices of non-blank lines, in order) and check its columns:
        the trusted rows go to `job.trusted`, the other lines to `job.fallback` (orjson)."""
        parsed, error = read_json(job.data, job.starts, job.ends, lines)
        if parsed is not None and parsed.num_rows == len(lines):
            table, clean = self.validator.validate(parsed)
            if not clean.all():
                self._set_aside(job, lines[~clean])
                table = table.filter(pa.array(clean))
                lines = lines[clean]
            if table.num_rows:
                job.trusted.append((table, lines))
            return
        if parsed is None and retries:  # refused: the error may say which lines are to blame
            blamed = culprits(job.data, job.ends, lines, error)
            if blamed is not None and blamed.any() and not blamed.all():
                self._set_aside(job, lines[blamed], blank=True)
                self._arrow(job, lines[~blamed], retries - 1)
                return
        if len(lines) <= _MIN_SPLIT:  # (also: not one row per line)
            self._set_aside(job, lines)
        else:  # find the lines pyarrow refuses: halve, so most of the chunk stays fast
            self._arrow(job, lines[: len(lines) // 2], retries)
            self._arrow(job, lines[len(lines) // 2 :], retries)

    @staticmethod
    def _set_aside(job: _Job, lines: np.ndarray, blank: bool = False) -> None:
        """Lines for the orjson path; blanked for pyarrow's next try when `blank`."""
        arr = np.frombuffer(job.data, np.uint8)
        for i in lines.tolist():
            start, end = job.starts[i], job.ends[i]
            job.fallback[i] = bytes(job.data[start:end])
            if blank:
                arr[start:end] = _SPACE

    def _orjson(
        self, lines: dict[int, bytes], first: int, rejected: list[Rejected]
    ) -> tuple[pa.Table, np.ndarray]:
        """The ground truth: reviews.py's orjson path, for the lines pyarrow was not trusted with."""
        order = sorted(lines)
        raws = [RawLine(lines[i], self.source, first + i + 1, self.category) for i in order]
        before = len(rejected)
        batches = [
            parse_review_batch(raws[k : k + _ORJSON_GROUP], self.end_ts, self.style_cache, rejected)
            for k in range(0, len(raws), _ORJSON_GROUP)
        ]
        refused = {r.line for r in rejected[before:]}
        accepted = np.array([i for i in order if first + i + 1 not in refused], np.int64)
        return pa.Table.from_batches(batches, PARSED_REVIEW_SCHEMA), accepted
