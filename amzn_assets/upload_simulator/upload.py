"""Feed split review files into the upload area at a steady rate: the seed project's uploader.

Files are taken from `<source_dir>/<category>/` in name order, round-robin across the categories,
and put at `<target>/reviews/<category>/<name>`: a local folder (written as `.<name>.tmp`, fsynced,
renamed) or `s3://bucket/prefix` (one put_object, atomic by nature). The source file is removed
after a successful upload unless `copy`. The first Ctrl-C stops after the current file.
"""

from __future__ import annotations

import gzip
import heapq
import os
import signal
import threading
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from amzn_assets.landing.discovery import is_complete
from amzn_assets.landing.kinds import REVIEWS
from amzn_assets.upload_simulator.progress import Progress
from amzn_assets.upload_simulator.split import check_category, gz, write_atomic

SCAN_BATCH = 10_000  # names held per category at a time, so a folder of millions is not listed whole
_PER_SECOND = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}


@dataclass
class UploadSummary:
    uploaded: int = 0
    bytes: int = 0
    seconds: float = 0.0
    per_category: dict[str, int] = field(default_factory=dict)
    stopped_early: bool = False  # interrupted (Ctrl-C, KeyboardInterrupt or the stop event)
    target: str = ""

    @property
    def files_per_s(self) -> float:
        return self.uploaded / self.seconds if self.seconds > 0 else 0.0


class UploadError(Exception):
    """An upload failed; `summary` says what was uploaded before it. The failed file stays in place."""

    def __init__(self, message: str, summary: UploadSummary):
        super().__init__(message)
        self.summary = summary


def parse_rate(text: str | float | None) -> float | None:
    """Files per second from "N/min", "N/s", "N/h" or a plain N (per minute); None (unthrottled) for 0 or "max"."""
    if text is None:
        return None
    spec = str(text).strip().lower()
    if spec in ("max", "0"):
        return None
    number_text, _, unit = spec.partition("/")
    unit = unit.strip() or "min"
    try:
        number = float(number_text)
    except ValueError:
        number = -1.0
    if unit not in _PER_SECOND or not number >= 0:  # also refuses nan
        raise ValueError(f"invalid rate {text!r}: use N/min, N/s, N/h, a plain N (per minute), 0 or max")
    return number / _PER_SECOND[unit] if number > 0 else None


def upload_files(
    categories: Sequence[str],
    *,
    source_dir: str | os.PathLike[str],
    target: str | os.PathLike[str],
    rate: str | float | None = None,
    limit: int | None = None,
    copy: bool = False,
    keep_review_time: bool = True,
    progress: bool = True,
    stop: threading.Event | None = None,
    after_each: Callable[[str, str], None] | None = None,
    s3_client: Any = None,
) -> UploadSummary:
    """Upload up to `limit` files from `<source_dir>/<category>/`, round-robin, at `rate` (as --rate:
    "N/min", "N/s", a bare number per minute, None/0/"max" unthrottled).

    `keep_review_time=False` stamps each review with the current time. `stop` (or Ctrl-C, or a
    KeyboardInterrupt raised by `after_each(category, name)`) ends the run after the current file
    with `stopped_early` set. Raises ValueError for bad arguments, UploadError if a file fails.
    """
    per_second = parse_rate(rate)
    folders = {check_category(c): os.path.join(source_dir, c) for c in categories}
    if not folders:
        raise ValueError("no category given")
    for folder in folders.values():
        if not os.path.isdir(folder):
            raise ValueError(f"no folder {folder} (split a dump into it first: amzn-assets split)")
    put = _s3_put(str(target), s3_client) if str(target).startswith("s3://") else _local_put(Path(target))
    summary = UploadSummary(per_category={c: 0 for c in folders}, target=str(target))
    stop = stop or threading.Event()
    total = sum(_count(f) for f in folders.values())
    total = min(total, limit) if limit is not None else total
    queues = {c: _names_in_order(f) for c, f in folders.items()}
    order = deque(folders)
    interval = 1.0 / per_second if per_second else 0.0
    started = next_at = time.monotonic()
    with _stop_on_sigint(stop), Progress("upload", total=total, enabled=progress) as bar:
        try:
            while order and (limit is None or summary.uploaded < limit) and not stop.is_set():
                category = order.popleft()
                name = next(queues[category], None)
                if name is None:
                    continue  # this category is done
                order.append(category)
                if interval:
                    # A fixed schedule on the monotonic clock: no drift, and after a stall no burst.
                    if stop.wait(max(next_at - time.monotonic(), 0.0)):
                        break
                    next_at = max(next_at + interval, time.monotonic())
                size = _upload_one(put, folders[category], category, name, copy, keep_review_time, summary)
                if size is None:
                    continue  # taken by someone else meanwhile
                summary.uploaded += 1
                summary.bytes += size
                summary.per_category[category] += 1
                bar.update()
                if after_each:
                    after_each(category, name)
        except KeyboardInterrupt:
            stop.set()
        finally:
            summary.stopped_early = stop.is_set()
            summary.seconds = time.monotonic() - started
    return summary


def restamp(data: bytes, when: float) -> bytes:
    """Set unixReviewTime to `when` and reviewTime to its UTC day ("MM D, YYYY") in each JSON line.

    Bytes that are not gzip/JSON objects are returned unchanged: landing quarantines them.
    """
    zipped = data[:2] == b"\x1f\x8b"
    try:
        text = gzip.decompress(data) if zipped else data
    except (EOFError, OSError, zlib.error):
        return data
    day = datetime.fromtimestamp(when, timezone.utc)
    stamp = {"unixReviewTime": int(when), "reviewTime": f"{day.month:02d} {day.day}, {day.year}"}
    lines = []
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            record = None
        lines.append(orjson.dumps({**record, **stamp}) if isinstance(record, dict) else line)
    body = b"\n".join(lines) + b"\n"
    return gz(body) if zipped else body


def _upload_one(
    put: Callable[[str, str, bytes], None],
    folder: str,
    category: str,
    name: str,
    copy: bool,
    keep_review_time: bool,
    summary: UploadSummary,
) -> int | None:
    path = os.path.join(folder, name)
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    try:
        body = data if keep_review_time else restamp(data, time.time())
        put(category, name, body)
        if not copy:
            os.unlink(path)
    except Exception as exc:
        raise UploadError(f"uploading {path} failed: {exc}", summary) from exc
    return len(body)


def _local_put(root: Path) -> Callable[[str, str, bytes], None]:
    made: set[str] = set()

    def put(category: str, name: str, data: bytes) -> None:
        folder = os.path.join(root, "reviews", category)
        if folder not in made:
            os.makedirs(folder, exist_ok=True)
            made.add(folder)
        write_atomic(os.path.join(folder, name), data, fsync=True)

    return put


def _s3_put(url: str, client: Any = None) -> Callable[[str, str, bytes], None]:
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"invalid S3 target {url!r}: use s3://bucket or s3://bucket/prefix")
    prefix = prefix.strip("/")
    if client is None:
        import boto3

        client = boto3.client("s3")  # AWS_* variables apply, AWS_ENDPOINT_URL included

    def put(category: str, name: str, data: bytes) -> None:
        key = f"reviews/{category}/{name}"
        client.put_object(Bucket=bucket, Key=f"{prefix}/{key}" if prefix else key, Body=data)

    return put


def _complete(name: str) -> bool:
    """A file landing would take now (the same rule as discovery's, with the reviews' suffixes)."""
    return is_complete(name) and name.endswith(REVIEWS.suffixes)


def _count(folder: str) -> int:
    with os.scandir(folder) as entries:
        return sum(1 for e in entries if _complete(e.name) and e.is_file())


def _names_in_order(folder: str) -> Iterator[str]:
    """Complete file names in sorted order, holding at most SCAN_BATCH of them at a time."""
    after = ""
    while True:
        with os.scandir(folder) as entries:
            names = heapq.nsmallest(
                SCAN_BATCH, (e.name for e in entries if e.name > after and _complete(e.name) and e.is_file())
            )
        yield from names
        if len(names) < SCAN_BATCH:
            return
        after = names[-1]


@contextmanager
def _stop_on_sigint(stop: threading.Event) -> Iterator[None]:
    """First Ctrl-C sets `stop` (the current file finishes); a second one raises KeyboardInterrupt at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)
