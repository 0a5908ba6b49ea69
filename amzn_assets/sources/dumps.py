"""Stream a whole Amazon review dump (2018 per-category files such as Home_and_Kitchen_5.json.gz,
or 2014 files) into PARSED_REVIEW_SCHEMA batches, in memory bounded by the batch size.

    for result in iter_review_dump(path, category="Home_and_Kitchen", source="Home_and_Kitchen_5.json.gz"):
        write(result.table); quarantine(result.rejected)

Every batch gives exactly what `parse_reviews` gives for its lines (same rows, types, reject
reasons), with reject line numbers counted over the whole decompressed dump. How it gets there:

* A background thread reads and gunzips the file (zlib releases the GIL) and cuts the stream into
  chunks of whole lines (a quarter of a batch, at most 65,536 lines), handing over one ready chunk
  at a time.
* Two worker threads take the chunks: they find the lines, set aside those pyarrow must not see,
  have pyarrow's JSON reader parse the rest (without the GIL) and check its columns with
  vectorized tests. Only rows that are provably what the orjson path of `reviews.py` would give
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
value; rows with any field outside the known ones are not trusted). See `_odd_lines`, `_landed`.
"""

from __future__ import annotations

import collections
import ctypes
import datetime as dt
import itertools
import os
import queue
import re
import threading
import zlib
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from amzn_assets.sources.common import ParseResult, RawLine, Rejected, SourceFileError
from amzn_assets.sources.nul import nul_rows
from amzn_assets.sources.reviews import MAX_REVIEW_BYTES, _parse_batch, _style
from amzn_assets.tables import PARSED_REVIEW_SCHEMA, UTC_SECONDS

_DAY = 86_400
_INT32_MAX = 2**31 - 1
_INT16_MAX = 2**15 - 1
_GZIP_MAGIC = b"\x1f\x8b"
_READ_BYTES = 1 << 20  # compressed bytes per read
_PIECE_BYTES = 4 << 20  # most decompressed bytes per zlib call (bounds memory for any gzip ratio)
_BLOCK_BYTES = 4 << 20  # pyarrow JSON block size (raised to hold the longest line of a batch)
_CHUNK_LINES = 65_536  # lines per chunk handed from the reader thread to the parser
_WORKERS = 2  # threads preparing and parsing chunks
_PENDING = 3  # chunks submitted to them and not finished yet
_ARROW_THREADS = True  # pyarrow's own threads too, within one parse
_RETRIES = 4  # pyarrow tries again after its error names the lines to blame (then: halving)
_MIN_SPLIT = 2048  # a block pyarrow refuses is halved down to this many lines, then parsed by orjson
_ORJSON_GROUP = 1024  # lines per _parse_batch call on the orjson path
_DEEP_LINE = 2048  # a line this long may nest past orjson's limit (1024): its brackets are counted
_LBRACE, _RBRACE, _CR, _NL, _SPACE = ord("{"), ord("}"), ord("\r"), ord("\n"), ord(" ")

# The fields read by the orjson path, with the JSON types it takes on its fast path. A value of
# another type makes pyarrow refuse the block (the orjson path then decides). "style" (an object
# with arbitrary keys) is inferred as a struct, like any other field not listed here.
_JSON_SCHEMA = pa.schema(
    [
        ("asin", pa.string()),
        ("reviewerID", pa.string()),
        ("reviewerName", pa.string()),
        ("overall", pa.float64()),
        ("unixReviewTime", pa.int64()),
        ("reviewTime", pa.string()),
        ("verified", pa.bool_()),
        ("vote", pa.string()),
        ("helpful", pa.list_(pa.int64())),
        ("summary", pa.string()),
        ("reviewText", pa.string()),
        ("image", pa.list_(pa.string())),
    ]
)
_KNOWN_FIELDS = frozenset(_JSON_SCHEMA.names) | {"style"}
_PARSE_OPTIONS = pj.ParseOptions(explicit_schema=_JSON_SCHEMA, unexpected_field_behavior="infer")


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
    parser = _BatchParser(source, category, ((today - dt.date(1970, 1, 1)).days + 1) * _DAY)
    # While the reader thread gunzips, _WORKERS threads prepare chunks and have pyarrow parse them
    # (mostly without the GIL), and this thread finishes them in order.
    pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="review-dump-parse")
    file = open(path, "rb", buffering=0)
    reader = _DumpReader(file, batch_lines)
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


# --- reading: a background thread turns the file into chunks of whole lines ----------------------


@dataclass
class _Chunk:
    """Whole lines (only the last chunk of a dump may end without a newline), as slices of the
    decompressed pieces: (piece, start, end)."""

    parts: list[tuple[bytes, int, int]]
    n_lines: int
    ends_batch: bool = False

    def join(self) -> bytearray:
        """The chunk's bytes, in one buffer; the pieces are let go."""
        data = bytearray().join([memoryview(piece)[start:end] for piece, start, end in self.parts])
        self.parts = []
        return data


class _Stopped(Exception):
    """The consumer went away: the reader thread ends."""


class _Corrupt(Exception):
    """The gzip stream is corrupt or truncated; the message says how."""


_END = object()


class _DumpReader:
    """Reads, gunzips and splits the dump into chunks in a background thread."""

    def __init__(self, file: Any, batch_lines: int) -> None:
        self._file = file
        self._batch_lines = batch_lines
        # a few chunks per batch: the pipeline fills early, and the chunks in flight (about six)
        # stay well under the batch size
        self._chunk_lines = min(_CHUNK_LINES, -(-batch_lines // 4))
        # pieces of about half a chunk (reviews run ~500 bytes a line), 256 KiB to 4 MiB
        self._piece_bytes = min(_PIECE_BYTES, max(256 << 10, self._chunk_lines * 256))
        self._queue: queue.Queue = queue.Queue(maxsize=1)  # a ready chunk, while others are parsed
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="review-dump-reader", daemon=True)
        self._first = b""
        self.gzip = False
        self.error: str | None = None  # set (before the end of chunks()) when the gzip is bad
        self.partial_line = False  # the bad gzip stopped inside a line

    def start(self) -> bool:
        """Start reading; False for an empty file."""
        self._first = self._file.read(_READ_BYTES)
        if not self._first:
            return False
        self.gzip = self._first[:2] == _GZIP_MAGIC
        self._thread.start()
        return True

    def chunks(self) -> Iterator[_Chunk]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started
            while self._thread.is_alive():
                try:  # unblock a put() waiting for room
                    self._queue.get(timeout=0.05)
                except queue.Empty:
                    pass
            self._thread.join()

    # thread side

    def _put(self, item: object) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return
            except queue.Full:
                pass
        raise _Stopped

    def _run(self) -> None:
        try:
            self._split(self._gunzip() if self.gzip else self._plain())
            self._put(_END)
        except _Stopped:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            try:
                self._put(exc)
            except _Stopped:
                pass

    def _plain(self) -> Iterator[bytes]:
        data = self._first
        while data:
            yield data
            data = self._file.read(self._piece_bytes)

    def _gunzip(self) -> Iterator[bytes]:
        """Decompressed pieces of every gzip member (zero padding between members allowed, like
        gzip.decompress); raises _Corrupt at the point where the stream goes bad."""
        read = self._file.read
        data = self._first
        while True:  # one gzip member
            inflater = zlib.decompressobj(31)  # gzip wrapper: header, CRC and size are checked
            while not inflater.eof:
                if not data:
                    data = read(_READ_BYTES)
                    if not data:  # end of file inside the member: flush what zlib still holds
                        out = _inflate(inflater, b"", self._piece_bytes)
                        while out:
                            yield out
                            out = _inflate(inflater, b"", self._piece_bytes) if not inflater.eof else b""
                        if inflater.eof:
                            break
                        raise _Corrupt("Compressed file ended before the end-of-stream marker was reached")
                out = _inflate(inflater, data, self._piece_bytes)
                data = inflater.unconsumed_tail
                if out:
                    yield out
            data = inflater.unused_data.lstrip(b"\x00")
            while len(data) < 2:
                more = read(_READ_BYTES)
                if not more:
                    if data:
                        raise _Corrupt("trailing garbage after the gzip data")
                    return
                data = (data + more).lstrip(b"\x00")
            if data[:2] != _GZIP_MAGIC:
                raise _Corrupt("trailing garbage after the gzip data")

    def _split(self, pieces: Iterator[bytes]) -> None:
        """Cut the stream into chunks of whole lines: batches of exactly batch_lines lines (the
        last one: the rest), each cut into chunks of at most _chunk_lines lines. Only counts
        newlines here; the parse workers join the pieces and find the lines."""
        parts: list[tuple[bytes, int, int]] = []
        count = 0  # newlines in parts
        in_batch = 0  # lines of the current batch in earlier chunks
        try:
            for piece in pieces:
                start = 0  # bytes of this piece already in a chunk
                newlines = piece.count(b"\n")
                while True:
                    target = min(self._chunk_lines, self._batch_lines - in_batch)
                    if count + newlines < target:
                        break
                    end = _nth_newline(piece, start, target - count) + 1
                    parts.append((piece, start, end))
                    newlines -= target - count
                    in_batch += target
                    chunk = _Chunk(parts, target, in_batch == self._batch_lines)
                    in_batch = 0 if chunk.ends_batch else in_batch
                    self._put(chunk)
                    parts, count, start = [], 0, end
                if start < len(piece):
                    parts.append((piece, start, len(piece)))
                    count += newlines
        except _Corrupt as exc:
            self.error = str(exc)
            while parts:  # keep the complete lines only
                piece, start, end = parts[-1]
                cut = piece.rfind(b"\n", start, end) + 1
                self.partial_line = self.partial_line or cut < end
                if cut:
                    parts[-1] = (piece, start, cut)
                    break
                parts.pop()
            if count or in_batch:  # (an empty chunk just ends the batch)
                self._put(_Chunk(parts, count, True))
            return
        if parts or in_batch:
            piece, _, end = parts[-1] if parts else (b"\n", 0, 1)
            last_line = piece[end - 1 : end] != b"\n"  # a last line without a newline
            self._put(_Chunk(parts, count + last_line, True))


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
        self.records_seen = False  # any non-blank line so far

    def prepare(self, chunk: _Chunk, first: int) -> _Job:
        """Join a chunk and sort its lines: blank, for the orjson path (`job.fallback`), or parsed
        by pyarrow and trusted after the checks (`job.trusted`). Runs in a worker thread."""
        data, n = chunk.join(), chunk.n_lines
        job = _Job(data, first, chunk.ends_batch)
        if n == 0:
            return job
        arr = np.frombuffer(data, np.uint8)
        newlines = _newlines(arr)
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
        return ParseResult(_in_line_order(job.trusted), rejected)

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

        suspects = _find_all(data, b"null")
        if suspects:
            odd[np.searchsorted(ends, np.array(suspects, np.int64), side="left")] = True
        odd |= ends - starts > MAX_REVIEW_BYTES
        for i in np.flatnonzero(nonempty & (ends - starts >= _DEEP_LINE)).tolist():
            s, e = int(starts[i]), int(ends[i])
            if data.count(b"[", s, e) + data.count(b"{", s, e) >= 1000:
                odd[i] = True
        if not data.isascii() and not _utf8_ok(data):
            for i in np.flatnonzero(nonempty & ~odd).tolist():
                try:
                    data[starts[i] : ends[i]].decode("utf-8")
                except UnicodeDecodeError:
                    odd[i] = True
        return odd

    def _arrow(self, job: _Job, lines: np.ndarray, retries: int) -> None:
        """Have pyarrow parse `lines` (indices of non-blank lines, in order) and check its columns:
        the trusted rows go to `job.trusted`, the other lines to `job.fallback` (orjson)."""
        parsed, error = _read_json(job.data, job.starts, job.ends, lines)
        if parsed is not None and parsed.num_rows == len(lines):
            table, clean = self._landed(parsed)
            if not clean.all():
                self._set_aside(job, lines[~clean])
                table = table.filter(pa.array(clean))
                lines = lines[clean]
            if table.num_rows:
                job.trusted.append((table, lines))
            return
        if parsed is None and retries:  # refused: the error may say which lines are to blame
            culprits = _culprits(job, lines, error)
            if culprits is not None and culprits.any() and not culprits.all():
                self._set_aside(job, lines[culprits], blank=True)
                self._arrow(job, lines[~culprits], retries - 1)
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

    def _landed(self, t: pa.Table) -> tuple[pa.Table, np.ndarray]:
        """PARSED_REVIEW_SCHEMA columns from pyarrow's parse, and which rows are trusted: those the
        orjson path would accept with exactly these values. Other rows hold placeholders."""
        n = t.num_rows
        clean = _key_ok(t["asin"]) & _key_ok(t["reviewerID"])

        overall = pc.fill_null(t["overall"], 0.0).to_numpy()
        clean &= (overall >= 1) & (overall <= 5) & (overall == np.floor(overall))
        rating = np.where(clean, overall, 0).astype(np.int8)

        ts = pc.fill_null(t["unixReviewTime"], -1).to_numpy()
        clean &= (ts >= 0) & (ts < self.end_ts)
        times = pa.array(np.where(clean, ts, 0), pa.int64()).cast(UTC_SECONDS)

        vote, vote_clean = _votes(t["vote"], t["helpful"], n)
        clean &= vote_clean

        images = pc.fill_null(pc.list_value_length(t["image"]), 0).to_numpy()
        image_count = np.minimum(images, _INT16_MAX).astype(np.int16)

        style, style_clean = self._styles(t["style"] if "style" in t.column_names else None, n)
        clean &= style_clean
        for _, rows in nul_rows(t, ("asin", "reviewerID", "reviewerName", "summary", "reviewText")):
            clean &= ~rows  # the orjson path refuses them
        for name in t.column_names:  # a field the parsers do not read: could hold a NaN literal
            if name not in _KNOWN_FIELDS and t[name].null_count < n:
                clean &= ~t[name].is_valid().to_numpy(zero_copy_only=False)

        if self.category is None:
            category = pa.nulls(n, pa.string())
        else:
            category = pa.repeat(pa.scalar(self.category, pa.string()), n)
        columns = [
            times.cast(pa.date32()),
            times,
            t["asin"],
            t["reviewerID"],
            t["reviewerName"],
            category,
            pa.array(rating, pa.int8()),
            t["verified"],
            vote,
            style,
            t["summary"],
            t["reviewText"],
            pa.array(image_count, pa.int16()),
        ]
        columns = [c if isinstance(c, pa.ChunkedArray) else pa.chunked_array([c]) for c in columns]
        return pa.Table.from_arrays(columns, schema=PARSED_REVIEW_SCHEMA), clean

    def _styles(self, column: pa.ChunkedArray | None, n: int) -> tuple[pa.Array, np.ndarray]:
        """The style text of every row (as reviews._style gives it) and which rows are trusted."""
        clean = np.ones(n, bool)
        if column is None or column.null_count == n:
            return pa.nulls(n, pa.string()), clean
        st = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
        if not pa.types.is_struct(st.type):  # cannot happen with a valid parse: trust nothing
            return pa.nulls(n, pa.string()), np.zeros(n, bool)
        present = st.is_valid().to_numpy(zero_copy_only=False)
        key = np.where(present, 0, -1).astype(np.int64)
        fields: list[tuple[str, np.ndarray, list[str]]] = []  # (raw key, codes, distinct values)
        by_clean_name: dict[str, list[np.ndarray]] = {}
        for i, key_field in enumerate(st.type):
            child = st.field(i)
            if pa.types.is_null(key_field.type):
                continue
            valid = present & child.is_valid().to_numpy(zero_copy_only=False)
            if not valid.any():
                continue
            by_clean_name.setdefault(key_field.name.strip().rstrip(":").rstrip(), []).append(valid)
            if not pa.types.is_string(key_field.type):  # a number, list or object value: orjson decides
                clean &= ~valid
                continue
            encoded = child.dictionary_encode()
            codes = np.where(valid, pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False) + 1, 0)
            fields.append((key_field.name, codes, encoded.dictionary.to_pylist()))
            # combine the codes into one key per distinct style, re-encoded so it stays small
            key = np.where(present, key * (len(encoded.dictionary) + 1) + codes, -1)
            key = pc.dictionary_encode(pa.array(key)).indices.to_numpy(zero_copy_only=False).astype(np.int64)
            key = np.where(present, key, -1)
        for valids in by_clean_name.values():  # keys such as "Size:" and "Size" in one object
            if len(valids) > 1:
                clean &= np.sum(valids, axis=0) <= 1
        encoded = pc.dictionary_encode(pa.array(key))
        index = encoded.indices.to_numpy(zero_copy_only=False)
        # dictionary_encode numbers the distinct keys in order of first appearance
        seen = np.maximum.accumulate(index)
        first_rows = np.flatnonzero(np.concatenate([[True], index[1:] > seen[:-1]]))
        assert len(first_rows) == len(encoded.dictionary)
        texts: list[str | None] = []
        for row in first_rows.tolist():
            if not present[row]:
                texts.append(None)
                continue
            style = {name: values[codes[row] - 1] for name, codes, values in fields if codes[row]}
            texts.append(_style(style, self.style_cache))
        return pa.array(texts, pa.string()).take(encoded.indices), clean

    def _orjson(
        self, lines: dict[int, bytes], first: int, rejected: list[Rejected]
    ) -> tuple[pa.Table, np.ndarray]:
        """The ground truth: reviews.py's orjson path, for the lines pyarrow was not trusted with."""
        order = sorted(lines)
        raws = [RawLine(lines[i], self.source, first + i + 1, self.category) for i in order]
        before = len(rejected)
        batches = [
            _parse_batch(raws[k : k + _ORJSON_GROUP], self.end_ts, self.style_cache, rejected)
            for k in range(0, len(raws), _ORJSON_GROUP)
        ]
        refused = {r.line for r in rejected[before:]}
        accepted = np.array([i for i in order if first + i + 1 not in refused], np.int64)
        return pa.Table.from_batches(batches, PARSED_REVIEW_SCHEMA), accepted


def _inflate(inflater: Any, data: bytes, limit: int) -> bytes:
    try:
        return inflater.decompress(data, limit)  # releases the GIL while inflating
    except zlib.error as exc:
        raise _Corrupt(str(exc)) from None


def _nth_newline(piece: bytes, start: int, k: int) -> int:
    """Offset of the k-th (1-based) newline in piece[start:]; the caller knows there are k."""
    if k <= 16:
        at = start - 1
        for _ in range(k):
            at = piece.find(b"\n", at + 1)
        return at
    return start + int(np.flatnonzero(np.frombuffer(piece, np.uint8, offset=start) == _NL)[k - 1])


def _newlines(arr: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """int64 offsets of every newline, a block at a time (the temporaries stay in cache)."""
    found = [np.flatnonzero(arr[at : at + block] == _NL) + at for at in range(0, len(arr), block)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def _read_json(
    data: bytearray, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray
) -> tuple[pa.Table | None, str]:
    """pyarrow's parse of the bytes from line lines[0] to line lines[-1] (other lines in between
    are blank), or None and pyarrow's error when it refuses them."""
    lo, hi = int(starts[lines[0]]), min(int(ends[lines[-1]]) + 1, len(data))
    block = max(_BLOCK_BYTES, int((ends[lines] - starts[lines]).max()) + 2)
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(memoryview(data)[lo:hi])),
            read_options=pj.ReadOptions(use_threads=_ARROW_THREADS, block_size=block),
            parse_options=_PARSE_OPTIONS,
        )
    except pa.ArrowException as exc:  # a type conflict, invalid JSON...: the orjson path decides
        return None, str(exc)
    return table, ""


_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from (\w+) to")
_UNCONVERTIBLE = re.compile(r"couldn't parse:(\S+)")
_FIRST_BYTES = {"string": b'"', "number": b"-0123456789", "boolean": b"tf", "array": b"[", "object": b"{"}


def _culprits(job: _Job, lines: np.ndarray, error: str) -> np.ndarray | None:
    """Which of `lines` pyarrow's error blames, as a mask (None: the error does not say).

    "Column(/vote) changed from string to number": the lines where a "vote" key holds anything
    but a string. "Failed to convert JSON to int64, couldn't parse:1.5e9": the lines holding
    that text. A guess is harmless: blamed lines go to the orjson path, and pyarrow tries again.
    """
    data = job.data
    blamed: list[int] = []
    if match := _CONFLICT.search(error):
        path = match.group(1).split("/")[1:]
        names = [name for name in path if name != "[]"]
        if not names:
            return None
        key = orjson.dumps(names[-1])
        expected = None if path[-1] == "[]" else _FIRST_BYTES.get(match.group(2))
        for at in _find_all(data, key):
            value = _skip_blanks(data, at + len(key))
            if value < len(data) and data[value] == ord(":"):
                value = _skip_blanks(data, value + 1)
                if expected is None or value >= len(data) or data[value] not in expected:
                    blamed.append(at)
    elif match := _UNCONVERTIBLE.search(error):
        blamed = _find_all(data, match.group(1).encode())
    else:
        return None
    if not blamed:
        return None
    return np.isin(lines, np.searchsorted(job.ends, np.array(blamed, np.int64), side="left"))


def _skip_blanks(data: bytearray, at: int) -> int:
    while at < len(data) and data[at] in b" \t\r":
        at += 1
    return at


def _in_line_order(tables: list[tuple[pa.Table, np.ndarray]]) -> pa.Table:
    tables = [(t, lines) for t, lines in tables if t.num_rows]
    if not tables:
        return PARSED_REVIEW_SCHEMA.empty_table()
    if len(tables) == 1:
        return tables[0][0]
    lines = np.concatenate([lines for _, lines in tables])
    table = pa.concat_tables([t for t, _ in tables])
    if np.all(lines[1:] > lines[:-1]):
        return table
    return table.take(pa.array(np.argsort(lines, kind="stable")))


def _votes(vote: pa.ChunkedArray, helpful: pa.ChunkedArray, n: int) -> tuple[pa.Array, np.ndarray]:
    """reviews._vote, vectorized for the plain cases: "vote" as digits with optional thousands
    commas ("1,341"), else 2014 "helpful"[0]; rows with anything else are not trusted."""
    values = np.zeros(n, np.int64)
    has = np.zeros(n, bool)
    clean = np.ones(n, bool)
    if vote.null_count < n:
        vote = vote.combine_chunks()
        has = vote.is_valid().to_numpy(zero_copy_only=False)
        digits = pc.replace_substring(vote, ",", "")
        length = pc.fill_null(pc.utf8_length(digits), 0).to_numpy(zero_copy_only=False)
        ok = pc.fill_null(pc.match_substring_regex(vote, "^[0-9,]+$"), False).to_numpy(zero_copy_only=False)
        ok &= (length >= 1) & (length <= 10)
        parsed = pc.cast(pc.if_else(pa.array(ok), digits, "0"), pa.int64()).to_numpy(zero_copy_only=False)
        ok &= parsed <= _INT32_MAX
        clean &= ~has | ok
        values = np.where(ok, parsed, 0)
    if helpful.null_count < n:
        given = helpful.is_valid().to_numpy(zero_copy_only=False) & ~has  # "vote" wins over "helpful"
        if given.any():
            first, pair = _first_of_pairs(helpful)
            ok = pair & (first >= 0) & (first <= _INT32_MAX)
            clean &= ~given | ok
            values = np.where(given & ok, first, values)
            has = has | given
    return pa.array(values, pa.int32(), mask=~has), clean


def _first_of_pairs(column: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """For a list<int64> column: element 0 of each list, and whether the list has exactly 2
    elements, the first one not null."""
    firsts, pairs = [], []
    for chunk in column.chunks:
        lengths = pc.fill_null(pc.list_value_length(chunk), 0).to_numpy(zero_copy_only=False)
        pair = chunk.is_valid().to_numpy(zero_copy_only=False) & (lengths == 2)
        offsets = chunk.offsets.to_numpy(zero_copy_only=False)[:-1]  # into chunk.values, all of it
        first = np.zeros(len(chunk), np.int64)
        if pair.any():
            values = chunk.values
            at = offsets[pair]
            if values.null_count:
                pair[pair] = values.is_valid().to_numpy(zero_copy_only=False)[at]
                at = offsets[pair]
            first[pair] = pc.fill_null(values, 0).to_numpy(zero_copy_only=False)[at]
        firsts.append(first)
        pairs.append(pair)
    if not firsts:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    return np.concatenate(firsts), np.concatenate(pairs)


def _key_ok(column: pa.ChunkedArray) -> np.ndarray:
    """asin/reviewerID values that the orjson path keeps unchanged: non-empty strings whose first
    and last characters are printable ASCII other than a space (so str.strip() is a no-op)."""
    parts = []
    for chunk in column.chunks:
        n = len(chunk)
        _, offsets_buffer, data_buffer = chunk.buffers()
        if n == 0:
            continue
        offsets = np.frombuffer(offsets_buffer, np.int32, count=n + 1, offset=chunk.offset * 4)
        offsets = offsets.astype(np.int64)
        ok = offsets[1:] > offsets[:-1]
        if chunk.null_count:
            ok &= chunk.is_valid().to_numpy(zero_copy_only=False)
        if ok.any():
            data = np.frombuffer(data_buffer, np.uint8)
            first = data[np.where(ok, offsets[:-1], 0)]
            last = data[np.where(ok, offsets[1:] - 1, 0)]
            ok &= (first > 32) & (first < 127) & (last > 32) & (last < 127)
        parts.append(ok)
    return np.concatenate(parts) if parts else np.zeros(0, bool)


def _libc_memmem() -> Any:
    try:
        memmem = ctypes.CDLL(None).memmem
    except (OSError, AttributeError, TypeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return memmem


_MEMMEM = _libc_memmem()


def _find_all(data: bytearray, token: bytes) -> list[int]:
    """Offsets of every occurrence of `token` in data: libc memmem (about twice as fast as
    bytearray.find, and it runs without the GIL), else bytearray.find."""
    found: list[int] = []
    if _MEMMEM is not None and data:
        buffer = (ctypes.c_char * len(data)).from_buffer(data)
        try:
            base, size = ctypes.addressof(buffer), len(data)
            at = _MEMMEM(base, size, token, len(token))
            while at:
                found.append(at - base)
                start = at - base + 1
                at = _MEMMEM(base + start, size - start, token, len(token))
        finally:
            del buffer
        return found
    at = data.find(token)
    while at != -1:
        found.append(at)
        at = data.find(token, at + 1)
    return found


def _utf8_ok(data: bytearray) -> bool:
    """Whole-buffer UTF-8 check in C++ (the same rules as Python's codec), without a str copy."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
