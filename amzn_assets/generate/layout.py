"""Where the generator writes (the seed project's upload layout) and how it writes.

Every file is written to a hidden temp name ('.' + name + '.tmp') in its final directory and
then os.replace()d into place, so a sensor that skips dot-files never sees a partial file.
Gzip members carry mtime=0 and no file name, so the bytes depend only on the content.
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Iterable

REVIEWS_DIR = "uploaded/reviews"  # <category>/<category>-<index:07d>.json.gz, one review each
PRODUCTS_DIR = "uploaded/metadata/products"  # <category>.json.gz, JSON lines
STATION_LIST = "uploaded/metadata/climate/ghcnd-stations.txt"  # NOAA fixed width
CLIMATE_DIR = "uploaded/climate"  # <station_id>.csv, NOAA CDO daily export

GZIP_LEVEL = 6


def review_dir(data_dir: Path, category: str) -> Path:
    return data_dir / REVIEWS_DIR / category


def review_name(category: str, index: int) -> str:
    return f"{category}-{index:07d}.json.gz"


def review_path(data_dir: Path, category: str, index: int) -> Path:
    return review_dir(data_dir, category) / review_name(category, index)


def products_path(data_dir: Path, category: str) -> Path:
    return data_dir / PRODUCTS_DIR / f"{category}.json.gz"


def station_list_path(data_dir: Path) -> Path:
    return data_dir / STATION_LIST


def climate_path(data_dir: Path, station_id: str) -> Path:
    return data_dir / CLIMATE_DIR / f"{station_id}.csv"


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def write_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write data to path via a hidden temp file in the same directory (directory must exist)."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_gz_files(items: Iterable[tuple[str, bytes]]) -> int:
    """Gzip and atomically write many (path, raw bytes) pairs; parent directories must exist.

    Serial on purpose: creating the files dominates, and writing from several threads was
    slower here (the creates and renames contend on the directory).
    """
    count = 0
    for path, data in items:
        write_atomic(path, gz(data))
        count += 1
    return count
