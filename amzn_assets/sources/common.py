"""Types shared by the parsers and the helpers that read raw files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import pyarrow as pa

MAX_RECORD_BYTES = 1024  # how much of a refused record the quarantine keeps (an excerpt, never a whole file)


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
    """The first MAX_RECORD_BYTES bytes of a record, as text (a character cut in two is replaced)."""
    if data is None:
        return None
    if isinstance(data, str):
        if len(data) <= MAX_RECORD_BYTES // 4:  # short enough in any encoding
            return data
        data = data.encode("utf-8", errors="surrogatepass")
    return data[:MAX_RECORD_BYTES].decode("utf-8", errors="replace")


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
