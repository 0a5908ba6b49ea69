"""The pyarrow side of a review dump's parse (sources/dumps.py): read a chunk's lines as JSON in
one call, and when pyarrow refuses a block, find the lines to blame from its error message."""

from __future__ import annotations

import re
import numpy as np
import orjson
import pyarrow as pa
import pyarrow.json as pj

from amzn_assets.sources.review_fields import FAST_PATH_JSON_SCHEMA
from amzn_assets.tables import PARSED_REVIEW_SCHEMA

BLOCK_BYTES = 4 << 20  # pyarrow JSON block size (raised to hold the longest line of a batch)
ARROW_THREADS = True  # pyarrow's own threads too, within one parse
_NL = ord("\n")
PARSE_OPTIONS = pj.ParseOptions(explicit_schema=FAST_PATH_JSON_SCHEMA, unexpected_field_behavior="infer")


def line_ends(arr: np.ndarray, block: int = 1 << 20) -> np.ndarray:
    """int64 offsets of every newline, a block at a time (the temporaries stay in cache)."""
    found = [np.flatnonzero(arr[at : at + block] == _NL) + at for at in range(0, len(arr), block)]
    return np.concatenate(found) if found else np.zeros(0, np.int64)


def read_json(
    data: bytearray, starts: np.ndarray, ends: np.ndarray, lines: np.ndarray
) -> tuple[pa.Table | None, str]:
    """pyarrow's parse of the bytes from line lines[0] to line lines[-1] (other lines in between
    are blank), or None and pyarrow's error when it refuses them."""
    lo, hi = int(starts[lines[0]]), min(int(ends[lines[-1]]) + 1, len(data))
    block = max(BLOCK_BYTES, int((ends[lines] - starts[lines]).max()) + 2)
    try:
        table = pj.read_json(
            pa.BufferReader(pa.py_buffer(memoryview(data)[lo:hi])),
            read_options=pj.ReadOptions(use_threads=ARROW_THREADS, block_size=block),
            parse_options=PARSE_OPTIONS,
        )
    except pa.ArrowException as exc:  # a type conflict, invalid JSON...: the orjson path decides
        return None, str(exc)
    return table, ""


_CONFLICT = re.compile(r"Column\((/[^)]*)\) changed from (\w+) to")
_UNCONVERTIBLE = re.compile(r"couldn't parse:(\S+)")
_FIRST_BYTES = {"string": b'"', "number": b"-0123456789", "boolean": b"tf", "array": b"[", "object": b"{"}


def culprits(data: bytearray, ends: np.ndarray, lines: np.ndarray, error: str) -> np.ndarray | None:
    """Which of `lines` pyarrow's error blames, as a mask (None: the error does not say).

    "Column(/vote) changed from string to number": the lines where a "vote" key holds anything
    but a string. "Failed to convert JSON to int64, couldn't parse:1.5e9": the lines holding
    that text. A guess is harmless: blamed lines go to the orjson path, and pyarrow tries again.
    """
    blamed: list[int] = []
    if match := _CONFLICT.search(error):
        path = match.group(1).split("/")[1:]
        names = [name for name in path if name != "[]"]
        if not names:
            return None
        key = orjson.dumps(names[-1])
        expected = None if path[-1] == "[]" else _FIRST_BYTES.get(match.group(2))
        for at in find_all(data, key):
            value = skip_blanks(data, at + len(key))
            if value < len(data) and data[value] == ord(":"):
                value = skip_blanks(data, value + 1)
                if expected is None or value >= len(data) or data[value] not in expected:
                    blamed.append(at)
    elif match := _UNCONVERTIBLE.search(error):
        blamed = find_all(data, match.group(1).encode())
    else:
        return None
    if not blamed:
        return None
    return np.isin(lines, np.searchsorted(ends, np.array(blamed, np.int64), side="left"))


def skip_blanks(data: bytearray, at: int) -> int:
    while at < len(data) and data[at] in b" \t\r":
        at += 1
    return at


def in_line_order(tables: list[tuple[pa.Table, np.ndarray]]) -> pa.Table:
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



def find_all(data: bytearray, token: bytes) -> list[int]:
    """Offsets of every occurrence of `token` in data."""
    found: list[int] = []
    at = data.find(token)
    while at != -1:
        found.append(at)
        at = data.find(token, at + 1)
    return found


def utf8_ok(data: bytearray) -> bool:
    """Whole-buffer UTF-8 check in C++ (the same rules as Python's codec), without a str copy."""
    offsets = pa.py_buffer(np.array([0, len(data)], np.int64))
    array = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, pa.py_buffer(data)])
    try:
        array.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True
