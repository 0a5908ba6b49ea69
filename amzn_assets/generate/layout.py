"""Where the generator writes (the seed project's upload layout) and how it writes.

Every file is written to a hidden temp name ('.' + name + '.tmp') in its final directory and
then os.replace()d into place, so a sensor that skips dot-files never sees a partial file.
Gzip members carry mtime=0 and no file name, so the bytes depend only on the content.
"""

from __future__ import annotations

import gzip
import os
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

REVIEWS_DIR = "uploaded/reviews"  # <category>/<category>-<index:07d>.json.gz, one review each
PRODUCTS_DIR = "uploaded/metadata/products"  # <category>.json.gz, JSON lines
STATION_LIST = "uploaded/metadata/climate/ghcnd-stations.txt"  # NOAA fixed width
CLIMATE_DIR = "uploaded/climate"  # <station_id>.csv, NOAA CDO daily export

GZIP_LEVEL = 6
_GZIP_THREADS = 2
_CHUNK = 500


def review_path(data_dir: Path, category: str, index: int) -> Path:
    return data_dir / REVIEWS_DIR / category / f"{category}-{index:07d}.json.gz"


def products_path(data_dir: Path, category: str) -> Path:
    return data_dir / PRODUCTS_DIR / f"{category}.json.gz"


def station_list_path(data_dir: Path) -> Path:
    return data_dir / STATION_LIST


def climate_path(data_dir: Path, station_id: str) -> Path:
    return data_dir / CLIMATE_DIR / f"{station_id}.csv"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def write_atomic(path: Path, data: bytes) -> None:
    """Write data to path via a hidden temp file in the same directory (directory must exist)."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _gz_chunk(chunk: list[tuple[Path, bytes]]) -> list[tuple[Path, bytes]]:
    return [(path, gz(data)) for path, data in chunk]


def write_gz_files(items: Iterable[tuple[Path, bytes]]) -> int:
    """Gzip and write many (path, raw bytes) pairs; parent directories must exist.

    zlib releases the GIL, so chunks are compressed on worker threads while this thread makes
    the next records and writes finished chunks, in order. (Writing from several threads is
    slower: the renames contend on the directory.) Output does not depend on scheduling.
    """
    count = 0
    pending: deque[Future] = deque()
    chunk: list[tuple[Path, bytes]] = []
    with ThreadPoolExecutor(_GZIP_THREADS) as pool:
        for item in items:
            chunk.append(item)
            if len(chunk) >= _CHUNK:
                pending.append(pool.submit(_gz_chunk, chunk))
                chunk = []
                while len(pending) > _GZIP_THREADS or (pending and pending[0].done()):
                    count += _write_chunk(pending.popleft().result())
        pending.append(pool.submit(_gz_chunk, chunk))
        while pending:
            count += _write_chunk(pending.popleft().result())
    return count


def _write_chunk(chunk: list[tuple[Path, bytes]]) -> int:
    for path, data in chunk:
        write_atomic(path, data)
    return len(chunk)
