"""Gunzip a source file with bounded memory: limits on the inflated size, the compression ratio
and the longest line, checked while inflating, so a gzip bomb is refused after a few MiB.

Real Amazon and NOAA files compress 3-12x (the whole All Beauty dump 9x); a run of one byte
compresses ~1,000x, which is what a bomb is made of.
"""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass

import numpy as np

from amzn_assets.sources.common import SourceFileError

MiB = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_STEP = MiB  # most bytes one zlib call inflates: the ratio and the line length are judged between calls


@dataclass(frozen=True)
class ReadLimits:
    """What one uploaded file may hold (AMZN_UPLOAD_MAX_* settings; docs/reliability.md)."""

    # A review file's landing holds ~8x its inflated size at its peak (parse, Arrow, segment write):
    # 12 MiB keeps one file's growth under 100 MB and passes ghcnd-stations.txt (10.6 MB), the
    # largest real file the upload area takes; dumps go through `amzn-assets import` (DUMP_LIMITS).
    max_file_bytes: int = 12 * MiB  # as stored (compressed); a bigger file is not read
    max_inflated_bytes: int = 12 * MiB  # after gunzip
    max_ratio: float = 100.0  # inflated / compressed, judged once ratio_floor bytes are inflated
    max_line_bytes: int = 16 * MiB  # review records over 1 MiB are refused one by one before this (sources/reviews.py)
    ratio_floor: int = 4 * MiB  # a small file may compress well (a short run of one review's text)
    partial_grace_s: float = 120.0  # a truncated gzip younger than this is still being written: wait


DUMP_LIMITS = ReadLimits(max_file_bytes=1 << 62, max_inflated_bytes=1 << 62)  # `import`: no size limit
MAX_JSON_ARRAY_BYTES = 1 << 30  # a metadata dump written as one JSON array is parsed whole


class TruncatedGzip(SourceFileError):
    """The gzip stream ends early: a file still being written, or cut short for good."""


class TooBig(SourceFileError):
    """The file breaks one of the limits; it was not (wholly) inflated."""


def inflate(raw: bytes, limits: ReadLimits = ReadLimits()) -> bytes:
    """The file's content: gunzipped when it starts with the gzip magic, else as it is.

    Raises SourceFileError (TruncatedGzip, TooBig) for an empty, corrupt, truncated or oversized file.
    """
    if not raw:
        raise SourceFileError("empty file")
    if len(raw) > limits.max_file_bytes:
        raise TooBig(f"{len(raw):,} bytes, over the limit of {limits.max_file_bytes:,} per file")
    data = _gunzip(raw, limits) if raw[:2] == _GZIP_MAGIC else raw
    if not data.strip():
        raise SourceFileError("empty file (gzip holds no data)" if data is not raw else "empty file")
    if len(data) > limits.max_line_bytes:
        _check_lines(data, limits.max_line_bytes)
    return data


def _gunzip(raw: bytes, limits: ReadLimits) -> bytes:
    inflater = zlib.decompressobj(31)
    try:
        first = inflater.decompress(raw, _STEP)
    except zlib.error as exc:
        raise SourceFileError(f"corrupt gzip: {exc}") from None
    if inflater.eof and not inflater.unused_data:  # the usual one-member file, inflated in one call
        return first
    pieces, total, tail_line, newlines = [first], len(first), line_tail(first, 0), first.count(b"\n")
    pending = inflater.unconsumed_tail
    while True:
        while not inflater.eof:
            try:
                piece = inflater.decompress(pending, _STEP)
            except zlib.error as exc:
                raise SourceFileError(f"corrupt gzip after {total:,} inflated bytes: {exc}") from None
            pending = inflater.unconsumed_tail
            if not piece and not pending and not inflater.eof:
                raise TruncatedGzip("truncated gzip: the file ends inside its gzip stream")
            pieces.append(piece)
            total += len(piece)
            tail_line = line_tail(piece, tail_line)
            newlines += piece.count(b"\n")
            _check_growth(total, len(raw) - len(pending) - len(inflater.unused_data), limits)
            if tail_line > limits.max_line_bytes:
                raise TooBig(long_line(newlines + 1, limits.max_line_bytes))
        rest = inflater.unused_data.lstrip(b"\x00")  # members may be padded with zeros, as gzip allows
        if not rest:
            return b"".join(pieces)
        if rest[:2] != _GZIP_MAGIC:
            raise SourceFileError("corrupt gzip: trailing garbage after the gzip data")
        inflater, pending = zlib.decompressobj(31), rest  # the next member


def line_tail(piece: bytes, tail: int) -> int:
    """Bytes since the last newline, after piece."""
    cut = piece.rfind(b"\n")
    return tail + len(piece) if cut < 0 else len(piece) - cut - 1


def long_line(number: int, limit: int) -> str:
    return f"line {number:,} is longer than the limit of {limit:,} bytes (refused there)"


def _check_growth(total: int, consumed: int, limits: ReadLimits) -> None:
    if total > limits.max_inflated_bytes:
        raise TooBig(f"inflates past the limit of {limits.max_inflated_bytes:,} bytes (refused there)")
    check_ratio(total, consumed, limits)


def check_ratio(inflated: int, consumed: int, limits: ReadLimits) -> None:
    """TooBig once more than ratio_floor bytes came out of a gzip more than max_ratio times the
    compressed bytes they came from (uploads, and `import`'s streaming readers)."""
    if inflated > limits.ratio_floor and inflated > limits.max_ratio * max(consumed, 1):
        raise TooBig(
            f"a gzip bomb: {consumed:,} compressed bytes inflated to {inflated:,} "
            f"(over {limits.max_ratio:g}x; refused there)"
        )


def _check_lines(data: bytes, max_line: int) -> None:
    ends = np.flatnonzero(np.frombuffer(data, np.uint8) == ord("\n"))
    starts = np.concatenate(([0], ends + 1))
    lengths = np.concatenate((ends, [len(data)])) - starts
    longest = int(np.argmax(lengths))
    if lengths[longest] > max_line:
        raise TooBig(long_line(longest + 1, max_line))


class BoundedGzip:
    """A dump's lines (gunzipped when it is a gzip) with the ratio and line limits checked as they
    are read: `import` streams a whole dump through this, so only the size of a dump is unlimited."""

    def __init__(self, raw, limits: ReadLimits = DUMP_LIMITS):
        self.raw, self.limits, self.inflated, self.lines_read = raw, limits, 0, 0
        self.stream = gzip.GzipFile(fileobj=raw) if raw.peek(2)[:2] == _GZIP_MAGIC else raw

    def peek(self, size: int) -> bytes:
        return self.stream.peek(size)

    def read_whole(self, limit: int = MAX_JSON_ARRAY_BYTES) -> bytes:
        data = self.stream.read(limit + 1)
        if len(data) > limit:
            raise TooBig(f"a JSON array dump over {limit:,} bytes: write it as JSON lines")
        self.inflated = len(data)
        self._check_ratio()
        return data

    def lines(self):
        while line := self.stream.readline(self.limits.max_line_bytes + 1):
            if len(line) > self.limits.max_line_bytes and not line.endswith(b"\n"):
                raise TooBig(long_line(self.lines_read + 1, self.limits.max_line_bytes))
            self.lines_read += 1
            self.inflated += len(line)
            if self.inflated > self.limits.ratio_floor:  # raw.tell() costs a system call
                self._check_ratio()
            yield line

    def _check_ratio(self) -> None:
        if self.stream is not self.raw:  # a plain dump has no ratio
            check_ratio(self.inflated, self.raw.tell(), self.limits)
