"""Split a review dump into one-review files: the older Airflow project's `load_data`.

A 5-core dump (gzip JSON lines, Amazon 2018 format, up to tens of millions of lines) is read as a
stream, line by line. Each non-blank line becomes `<out>/<category>-<line_no:09d>.json.gz`: the
line's bytes exactly (plus a final newline), gzipped with mtime=0, so a rerun writes identical
files. Lines are not validated here; landing does that. Each file is written under a hidden temp
name and renamed, so a reader (the uploader) never sees half a file.
"""

from __future__ import annotations

import gzip
import os
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from amzn_assets.upload_simulator.progress import Progress

# Folders of the data directory that a category folder <data_dir>/<category> must not shadow.
RESERVED_NAMES = frozenset({"uploaded", "landed", "raw", "quarantine", "warehouse"})
_CATEGORY = re.compile(r"[a-z0-9][a-z0-9_-]*")
GZIP_LEVEL = 6


class SplitError(Exception):
    """The dump cannot be read to its end (truncated or corrupt gzip); the message says where."""


@dataclass(frozen=True)
class SplitSummary:
    dump: Path
    out_dir: Path
    files: int  # files written
    lines: int  # lines read, blank ones included
    blank: int  # blank lines skipped
    seconds: float

    @property
    def files_per_s(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


def check_category(name: str) -> str:
    """Return name if it can be a category folder, else raise ValueError saying why."""
    if not _CATEGORY.fullmatch(name):
        raise ValueError(
            f"invalid category {name!r}: use lower-case letters, digits, '_' and '-', "
            "starting with a letter or digit (e.g. home_and_kitchen)"
        )
    if name in RESERVED_NAMES:
        raise ValueError(f"category {name!r} would collide with the pipeline folder <data_dir>/{name}/")
    return name


def file_name(category: str, line_no: int) -> str:
    """Deterministic and sortable: the dump's 1-based line number, zero-padded."""
    return f"{category}-{line_no:09d}.json.gz"


def gz(data: bytes) -> bytes:
    """Gzip with mtime=0 and no file name, so the bytes depend only on the content."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def write_atomic(path: str, data: bytes, *, fsync: bool = False) -> None:
    """Write via `.<name>.tmp` in the same (existing) directory, then rename; no temp file survives an error."""
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            if fsync:
                os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def split_dump(
    dump: str | os.PathLike[str],
    category: str,
    out_dir: str | os.PathLike[str],
    *,
    limit: int | None = None,
    progress: bool = True,
) -> SplitSummary:
    """Write each non-blank line of the gzip dump to its own file under out_dir (created if missing).

    Stops after `limit` files if given. Raises SplitError, naming the line reached, if the gzip
    stream ends early or is corrupt; every file written before that is whole.
    """
    check_category(category)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    folder = str(out)
    started = time.monotonic()
    files = blank = line_no = 0
    with open(dump, "rb") as raw:
        size = max(os.fstat(raw.fileno()).st_size, 1)
        with (
            gzip.GzipFile(fileobj=raw, mode="rb") as lines,
            Progress(f"split {category}", total=limit, fraction=lambda: raw.tell() / size, enabled=progress) as bar,
        ):
            stream = iter(lines)
            while limit is None or files < limit:
                try:
                    line = next(stream, None)
                except (EOFError, OSError, zlib.error) as exc:
                    # Lines come out only once their newline was decompressed, so all before are whole.
                    raise SplitError(
                        f"{dump}: gzip stream truncated or corrupt while reading line {line_no + 1} ({exc}); "
                        f"stopped with {files} whole files written, up to line {line_no}"
                    ) from exc
                if line is None:
                    break
                line_no += 1
                if not line.strip():
                    blank += 1
                    continue
                data = line if line.endswith(b"\n") else line + b"\n"
                write_atomic(os.path.join(folder, file_name(category, line_no)), gz(data))
                files += 1
                bar.update()
    return SplitSummary(Path(dump), out, files, line_no, blank, time.monotonic() - started)
