"""Read a review dump in a background thread: gunzip it (zlib releases the GIL) and cut the stream
into chunks of whole lines, a few per batch, handing over one ready chunk at a time.

A corrupt or truncated gzip ends the chunks early: `error` says how, and the last chunk holds only
the complete lines before the damage (`partial_line`: the data stopped inside a line).
"""

from __future__ import annotations

import queue
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from amzn_assets.sources.inflate import DUMP_LIMITS, ReadLimits, TooBig, check_ratio, line_tail, long_line

_GZIP_MAGIC = b"\x1f\x8b"
_READ_BYTES = 1 << 20  # compressed bytes per read
_PIECE_BYTES = 4 << 20  # most decompressed bytes per zlib call (bounds memory for any gzip ratio)
_CHUNK_LINES = 65_536  # lines per chunk handed from the reader thread to the parser
_NL = ord("\n")


@dataclass
class DumpChunk:
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


class _Refused(_Corrupt):
    """The dump breaks a limit (a gzip bomb, a line too long); the message says which."""


_END = object()


class DumpReader:
    """Reads, gunzips and splits the dump into chunks in a background thread."""

    def __init__(self, file: Any, batch_lines: int, limits: ReadLimits = DUMP_LIMITS) -> None:
        self._file = file
        self._limits = limits
        self._consumed = 0  # compressed bytes read
        self._inflated = 0
        self._line_bytes = 0  # bytes since the last newline
        self._lines_before = 0  # newlines before the piece being split
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
        self.refused = False  # error says which limit the dump broke (not a damaged gzip)
        self.partial_line = False  # the bad gzip stopped inside a line

    def start(self) -> bool:
        """Start reading; False for an empty file."""
        self._first = self._file.read(_READ_BYTES)
        self._consumed = len(self._first)
        if not self._first:
            return False
        self.gzip = self._first[:2] == _GZIP_MAGIC
        self._thread.start()
        return True

    def chunks(self) -> Iterator[DumpChunk]:
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
            data = self._read(self._piece_bytes)

    def _gunzip(self) -> Iterator[bytes]:
        """Decompressed pieces of every gzip member (zero padding between members allowed, like
        gzip.decompress); raises _Corrupt at the point where the stream goes bad."""
        data = self._first
        read = self._read
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
                    self._inflated += len(out)
                    try:
                        check_ratio(self._inflated, self._consumed, self._limits)
                    except TooBig as exc:
                        raise _Refused(str(exc)) from None
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

    def _read(self, size: int) -> bytes:
        data = self._file.read(size)
        self._consumed += len(data)
        return data

    def _check_line(self, piece: bytes, newlines: int) -> None:
        self._line_bytes = line_tail(piece, self._line_bytes)
        if self._line_bytes > self._limits.max_line_bytes:
            raise _Refused(long_line(self._lines_before + newlines + 1, self._limits.max_line_bytes))
        self._lines_before += newlines

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
                self._check_line(piece, newlines)
                while True:
                    target = min(self._chunk_lines, self._batch_lines - in_batch)
                    if count + newlines < target:
                        break
                    end = _nth_newline(piece, start, target - count) + 1
                    parts.append((piece, start, end))
                    newlines -= target - count
                    in_batch += target
                    chunk = DumpChunk(parts, target, in_batch == self._batch_lines)
                    in_batch = 0 if chunk.ends_batch else in_batch
                    self._put(chunk)
                    parts, count, start = [], 0, end
                if start < len(piece):
                    parts.append((piece, start, len(piece)))
                    count += newlines
        except _Corrupt as exc:
            self.error = str(exc)
            self.refused = isinstance(exc, _Refused)
            while parts:  # keep the complete lines only
                piece, start, end = parts[-1]
                cut = piece.rfind(b"\n", start, end) + 1
                self.partial_line = self.partial_line or cut < end
                if cut:
                    parts[-1] = (piece, start, cut)
                    break
                parts.pop()
            if count or in_batch:  # (an empty chunk just ends the batch)
                self._put(DumpChunk(parts, count, True))
            return
        if parts or in_batch:
            piece, _, end = parts[-1] if parts else (b"\n", 0, 1)
            last_line = piece[end - 1 : end] != b"\n"  # a last line without a newline
            self._put(DumpChunk(parts, count + last_line, True))



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

