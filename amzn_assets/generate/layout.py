"""Where the generator writes (the seed project's upload layout) and how it writes.

Every file is written to a hidden temp name ('.' + name + '.tmp') in its final directory and
then os.replace()d into place, so a sensor that skips dot-files never sees a partial file.
Gzip members carry mtime=0 and no file name, so the bytes depend only on the content.
"""

from __future__ import annotations

import gzip
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable

REVIEWS_DIR = "uploaded/reviews"  # <category>/<category>-<index:07d>.json.gz, one review each
PRODUCTS_DIR = "uploaded/metadata/products"  # <category>.json.gz, JSON lines
STATION_LIST = "uploaded/metadata/climate/ghcnd-stations.txt"  # NOAA fixed width
CLIMATE_DIR = "uploaded/climate"  # <station_id>.csv, NOAA CDO daily export

GZIP_LEVEL = 6
_WRITE_THREADS = 8
_BATCH = 2000


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


def _gz_write(item: tuple[Path, bytes]) -> None:
    write_atomic(item[0], gz(item[1]))


def write_gz_files(items: Iterable[tuple[Path, bytes]]) -> int:
    """Gzip and write many (path, raw bytes) pairs; parent directories must exist.

    Compression and the syscalls release the GIL, so a small thread pool helps; every file's
    bytes are fixed before it is queued, so the output does not depend on scheduling.
    """
    count = 0
    batch: list[tuple[Path, bytes]] = []
    with ThreadPoolExecutor(_WRITE_THREADS) as pool:
        for item in items:
            batch.append(item)
            if len(batch) >= _BATCH:
                count += sum(1 for _ in pool.map(_gz_write, batch))
                batch = []
        count += sum(1 for _ in pool.map(_gz_write, batch))
    return count
