"""Types shared by the parsers and the helpers that read raw files."""

from __future__ import annotations

import gzip
import zlib
from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

MAX_RECORD_CHARS = 4000  # how much of a refused record the quarantine keeps


class SourceFileError(Exception):
    """A whole file cannot be read (corrupt gzip, empty, wrong format); the reason is the message."""


class RawLine(NamedTuple):
    """One raw record and where it came from."""

    data: bytes
    source: str  # file path, relative to the data directory where possible
    line: int  # 1-based line number in the (decompressed) file
    category: str | None = None


@dataclass(frozen=True)
class Rejected:
    source: str
    line: int | None
    reason: str
    record: str | None = None

    @staticmethod
    def of(raw: RawLine, reason: str) -> "Rejected":
        return Rejected(raw.source, raw.line, reason, excerpt(raw.data))


@dataclass
class ParseResult:
    table: pa.Table
    rejected: list[Rejected] = field(default_factory=list)


def excerpt(data: bytes | str | None) -> str | None:
    if data is None:
        return None
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    return data[:MAX_RECORD_CHARS]


def decompress(raw: bytes, source: str) -> bytes:
    """Gunzip a whole file (gzip magic detected; plain bytes pass through).

    Raises SourceFileError for an empty or truncated/corrupt file.
    """
    if not raw:
        raise SourceFileError("empty file")
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = _gunzip_whole(raw)
        except (EOFError, OSError, zlib.error) as exc:
            raise SourceFileError(f"corrupt or truncated gzip: {exc}") from exc
        if not raw.strip():
            raise SourceFileError("empty file (gzip holds no data)")
    elif not raw.strip():
        raise SourceFileError("empty file")
    return raw


def _gunzip_whole(raw: bytes) -> bytes:
    """One zlib call for the usual single-member file (gzip.decompress parses the header in Python);
    anything else (several members, trailing bytes, truncated, corrupt) goes through gzip, which
    reads or refuses it with its own message."""
    inflater = zlib.decompressobj(31)
    try:
        data = inflater.decompress(raw)
    except zlib.error:
        return gzip.decompress(raw)
    return data if inflater.eof and not inflater.unused_data else gzip.decompress(raw)


def split_lines(data: bytes, source: str, category: str | None = None) -> list[RawLine]:
    """Split JSON-lines bytes into RawLines, skipping blank lines."""
    end = len(data) - 1 if data.endswith(b"\n") else len(data)
    if data.find(b"\n", 0, end) < 0:  # one line (a one-review file): no list to build and filter
        line = data[:end]
        return [RawLine(line, source, 1, category)] if line.strip() else []
    return [
        RawLine(line, source, number, category)
        for number, line in enumerate(data.split(b"\n"), start=1)
        if line.strip()
    ]
