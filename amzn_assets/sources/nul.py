"""NUL characters in text: PostgreSQL text (and Redshift VARCHAR) cannot hold them, so a record
carrying one (JSON "\\u0000", a raw NUL in a CSV or the station list) is refused at landing instead
of failing a warehouse load later."""

from __future__ import annotations

import ctypes
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def nul_rows(table: pa.Table | pa.RecordBatch, names: Sequence[str]) -> list[tuple[str, np.ndarray]]:
    """(column, rows holding a NUL) for each of these string columns that has one; usually empty.

    The value bytes of each column are searched with memchr first (about 15 ns a review); only a
    column holding a zero byte is matched row by row.
    """
    found = []
    for name in names:
        column = table.column(name)
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        if any(_has_zero_byte(chunk.buffers()[2]) for chunk in chunks if len(chunk)):
            rows = pc.fill_null(pc.match_substring(column, "\x00"), False)
            found.append((name, np.asarray(rows.to_numpy(zero_copy_only=False), bool)))
    return found


def _libc_memchr() -> Any:
    try:
        memchr = ctypes.CDLL(None).memchr
    except (OSError, AttributeError, TypeError):
        return None
    memchr.restype = ctypes.c_void_p
    memchr.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
    return memchr


_MEMCHR = _libc_memchr()


def _has_zero_byte(buffer: pa.Buffer | None) -> bool:
    """Whether a buffer holds a zero byte (a sliced array's buffer may hold other rows' bytes too:
    the row-by-row match that follows decides)."""
    if buffer is None or buffer.size == 0:
        return False
    if _MEMCHR is not None:
        return bool(_MEMCHR(buffer.address, 0, buffer.size))
    return not np.frombuffer(buffer, np.uint8).all()
