"""Where source files live: a local data directory or an S3 prefix laid out the same way.

Paths are relative to the root ("uploaded/reviews/toys/x.json.gz", "raw/reviews/toys/x.json.gz"),
so the ledger reads the same whichever store holds the files.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, Protocol

from amzn_assets.landing.s3_store import S3Store
from amzn_assets.landing.folders import Folders, listed_entry, read_at
from amzn_assets.landing.store_types import Entry, ReadOutcome


class SourceStore(Protocol):
    url: str

    def listing(self, folder: str) -> list[Entry]:
        """Each entry directly in folder, with what it is (links are not followed); nothing if the
        folder is absent."""

    def read(self, path: str) -> tuple[bytes, int] | None:
        """(content, mtime in ns), or None when the file has gone."""

    def read_many(self, paths: Sequence[str], max_bytes: int = 1 << 62) -> list[ReadOutcome]:
        """Each path read if it is a regular file of at most max_bytes (Found), else why not
        (Refused: nothing of it was read), STILL_WRITING when it changed while being read, or
        None when it has gone."""

    def exists(self, path: str) -> bool: ...

    def move(self, source: str, dest: str) -> None: ...

    def move_many(self, moves: Sequence[tuple[str, str]]) -> None:
        """move() of each (source, dest), in order."""

    def put(self, path: str, data: bytes) -> None:
        """Write a whole file atomically and durably: after put returns, path holds data whatever
        happens next; a crash during put leaves path as it was (absent or complete)."""

    def delete_many(self, paths: Sequence[str]) -> None:
        """Delete these files; one already gone is not an error."""

    def open(self, path: str) -> BinaryIO:
        """A seekable binary reader (for zipfile); FileNotFoundError when absent."""


class LocalStore:
    def __init__(self, root: str | os.PathLike):
        self.root = os.fspath(root)
        self.url = self.root
        self._made: set[str] = set()

    def _abs(self, path: str) -> str:
        return os.path.join(self.root, path)

    def listing(self, folder: str) -> list[Entry]:
        # Through folder descriptors opened with O_NOFOLLOW: a link standing for a folder of the
        # upload area is refused, never listed (nothing outside the area is read).
        with Folders(self.root) as folders:
            try:
                folder_fd = folders.fd(folder)
            except (FileNotFoundError, NotADirectoryError):
                return []
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return []
                raise
            device = os.fstat(folder_fd).st_dev
            with os.scandir(folder_fd) as listing:  # d_type: no stat for a regular file
                return [Entry(item.name, "file") if item.is_file(follow_symlinks=False) else listed_entry(item, device) for item in listing]

    def read(self, path: str) -> tuple[bytes, int] | None:
        try:
            with open(self._abs(path), "rb") as handle:
                return handle.read(), os.fstat(handle.fileno()).st_mtime_ns
        except FileNotFoundError:
            return None

    def read_many(self, paths: Sequence[str], max_bytes: int = 1 << 62) -> list[ReadOutcome]:
        # Opened relative to the folder's descriptor: one path walk per folder, not per file
        # (reading 5,000 one-review files took half the time through open()).
        with Folders(self.root) as folders:
            return [read_at(folders, folder, name, max_bytes) for folder, _, name in (p.rpartition("/") for p in paths)]

    def exists(self, path: str) -> bool:
        return os.path.lexists(self._abs(path))

    def move(self, source: str, dest: str) -> None:
        self.move_many([(source, dest)])

    def move_many(self, moves: Sequence[tuple[str, str]]) -> None:
        with Folders(self.root) as folders:
            for source, dest in moves:
                source_folder, _, source_name = source.rpartition("/")
                dest_folder, _, dest_name = dest.rpartition("/")
                if dest_folder not in self._made:
                    os.makedirs(self._abs(dest_folder), exist_ok=True)
                    self._made.add(dest_folder)
                os.replace(source_name, dest_name, src_dir_fd=folders.fd(source_folder), dst_dir_fd=folders.fd(dest_folder))

    def put(self, path: str, data: bytes) -> None:
        # A temporary name in the same folder, fsynced, renamed, then the folder fsynced (and the
        # parents of any folder made for it): the name is durable before the caller deletes sources.
        folder, _, name = path.rpartition("/")
        _make_durable_folders(self.root, folder)
        temporary = f".{name}.tmp"
        with Folders(self.root) as folders:
            folder_fd = folders.fd(folder)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=folder_fd)
            try:
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except BaseException:  # a full disk (ENOSPC): the space of the part written is given back
                os.unlink(temporary, dir_fd=folder_fd)
                raise
            os.replace(temporary, name, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
            os.fsync(folder_fd)

    def delete_many(self, paths: Sequence[str]) -> None:
        # An unlink frees the file's inode and blocks: ~110 us here, mostly waiting on the disk (a
        # rename is ~35 us), so DELETE_THREADS unlink at once (~35 us a file together).
        with Folders(self.root) as folders:
            named = [(folders.fd(folder), name) for folder, _, name in (p.rpartition("/") for p in paths)]
            if len(named) < 4 * DELETE_THREADS:
                _unlink_all(named)
                return
            with ThreadPoolExecutor(DELETE_THREADS) as pool:
                for done in [pool.submit(_unlink_all, named[k::DELETE_THREADS]) for k in range(DELETE_THREADS)]:
                    done.result()

    def open(self, path: str) -> BinaryIO:
        return open(self._abs(path), "rb")


DELETE_THREADS = 4


def _unlink_all(named: Sequence[tuple[int, str]]) -> None:
    for folder_fd, name in named:
        try:
            os.unlink(name, dir_fd=folder_fd)
        except FileNotFoundError:
            pass


def _make_durable_folders(root: str, folder: str) -> None:
    """makedirs, fsyncing the parent of each folder it creates (a new folder's entry must be durable
    before a file in it is trusted)."""
    missing = []
    current = folder
    while current and not os.path.isdir(os.path.join(root, current)):
        missing.append(current)
        current = current.rpartition("/")[0]
    for made in reversed(missing):
        try:
            os.mkdir(os.path.join(root, made))
        except FileExistsError:
            continue
        parent = os.open(os.path.join(root, made.rpartition("/")[0]), os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(parent)
        finally:
            os.close(parent)


def open_store(url: str, s3_client=None) -> SourceStore:
    if url.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")  # honours AWS_ENDPOINT_URL and the other AWS_* variables
        return S3Store(url, s3_client)
    return LocalStore(url)
