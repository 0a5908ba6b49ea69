"""Where source files live: a local data directory or an S3 prefix laid out the same way.

Paths are relative to the root ("uploaded/reviews/toys/x.json.gz", "raw/reviews/toys/x.json.gz"),
so the ledger reads the same whichever store holds the files.
"""

from __future__ import annotations

import errno
import os
import stat as stat_module
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import BinaryIO, Protocol

from amzn_assets.landing.s3_store import S3Store
from amzn_assets.landing.store_types import STILL_WRITING, UPLOAD_LAYOUT, Entry, Found, ReadOutcome, Refused


class SourceStore(Protocol):
    url: str

    def entries(self, folder: str) -> Iterator[tuple[str, bool]]:
        """(name, is_folder) of each entry directly in folder (a link to a folder is not one);
        nothing if the folder is absent."""

    def listing(self, folder: str) -> list[Entry]:
        """Each entry directly in folder, with what it is (links are not followed)."""

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

    def entries(self, folder: str) -> Iterator[tuple[str, bool]]:
        try:
            with os.scandir(self._abs(folder)) as listing:
                for entry in listing:
                    yield entry.name, entry.is_dir(follow_symlinks=False)
        except FileNotFoundError:
            return

    def listing(self, folder: str) -> list[Entry]:
        # Through folder descriptors opened with O_NOFOLLOW: a link standing for a folder of the
        # upload area is refused, never listed (nothing outside the area is read).
        with _Folders(self.root) as folders:
            try:
                folder_fd = folders.fd(folder)
            except (FileNotFoundError, NotADirectoryError):
                return []
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    return []
                raise
            device = os.fstat(folder_fd).st_dev
            with os.scandir(folder_fd) as listing:
                return [_entry(item, device) for item in listing]

    def read(self, path: str) -> tuple[bytes, int] | None:
        try:
            with open(self._abs(path), "rb") as handle:
                return handle.read(), os.fstat(handle.fileno()).st_mtime_ns
        except FileNotFoundError:
            return None

    def read_many(self, paths: Sequence[str], max_bytes: int = 1 << 62) -> list[ReadOutcome]:
        # Opened relative to the folder's descriptor: one path walk per folder, not per file
        # (reading 5,000 one-review files took half the time through open()).
        with _Folders(self.root) as folders:
            return [_read_at(folders, folder, name, max_bytes) for folder, _, name in (p.rpartition("/") for p in paths)]

    def exists(self, path: str) -> bool:
        return os.path.lexists(self._abs(path))

    def move(self, source: str, dest: str) -> None:
        self.move_many([(source, dest)])

    def move_many(self, moves: Sequence[tuple[str, str]]) -> None:
        with _Folders(self.root) as folders:
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
        with _Folders(self.root) as folders:
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
        with _Folders(self.root) as folders:
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


class _Folders:
    """Descriptors of the folders under a root, opened once each and closed together. Each one is
    opened from its parent's descriptor with O_NOFOLLOW below the upload area's fixed folders
    (UPLOAD_LAYOUT): a symbolic link an uploader put there is never followed (ELOOP)."""

    def __init__(self, root: str):
        self.root = root
        self.fds: dict[str, int] = {}

    def fd(self, folder: str) -> int:
        fd = self.fds.get(folder)
        if fd is None:
            if not folder.startswith("uploaded/") or folder in UPLOAD_LAYOUT:
                # The archive and the upload area's own folders may be links a deployment made.
                fd = os.open(os.path.join(self.root, folder), os.O_RDONLY | os.O_DIRECTORY)
            else:
                parent, _, name = folder.rpartition("/")
                fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=self.fd(parent))
            self.fds[folder] = fd
        return fd

    def __enter__(self) -> "_Folders":
        return self

    def __exit__(self, *exc) -> None:
        for fd in self.fds.values():
            os.close(fd)


# Reading a file just uploaded would update its access time (relatime does while atime <= mtime):
# one inode write per file, a quarter of the reading time here. Only the owner (or root) may ask.
_NO_ATIME = getattr(os, "O_NOATIME", 0)


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY  # a FIFO opens without waiting


def _read_at(folders: _Folders, folder: str, name: str, max_bytes: int) -> ReadOutcome:
    """A file of an upload folder, if it is a regular file of at most max_bytes, read whole."""
    try:
        folder_fd = folders.fd(folder)
        try:
            fd = os.open(name, _READ_FLAGS | _NO_ATIME, dir_fd=folder_fd)
        except PermissionError:
            fd = os.open(name, _READ_FLAGS, dir_fd=folder_fd)
    except FileNotFoundError:
        return None
    except OSError as exc:  # replaced since the listing: by a link (ELOOP), a socket (ENXIO)...
        return Refused(_open_refusal(exc), 0, 0)
    try:
        before = os.fstat(fd)
        refusal = _refusal(before, max_bytes)
        if refusal:
            return Refused(refusal, before.st_size, before.st_mtime_ns)
        data = os.read(fd, before.st_size + 1)  # a shorter read is the end of a regular file
        after = os.fstat(fd)
        if len(data) != before.st_size or (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
            return STILL_WRITING
        return Found(data, before.st_mtime_ns, max(before.st_mtime_ns, before.st_ctime_ns))
    finally:
        os.close(fd)


def _refusal(stat: os.stat_result, max_bytes: int) -> str | None:
    """Why a file is not read, from its (l)stat; None for a regular file within the limits."""
    if not stat_module.S_ISREG(stat.st_mode):
        return f"{special_kind(stat.st_mode)}: not a regular file, not read"
    if stat.st_nlink > 1:
        return (
            f"a hard link ({stat.st_nlink} names): another name, maybe outside the upload area, "
            "shares its content; not read"
        )
    if stat.st_size > max_bytes:
        return f"{stat.st_size:,} bytes, over the limit of {max_bytes:,} per file; not read"
    return None


def _open_refusal(exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "a symbolic link: not followed, not read"
    if exc.errno == errno.ENXIO:
        return "a socket: not a regular file, not read"
    return f"cannot be opened ({exc.strerror}); not read"


def special_kind(mode: int) -> str:
    for test, words in (
        (stat_module.S_ISLNK, "a symbolic link"),
        (stat_module.S_ISDIR, "a folder"),
        (stat_module.S_ISFIFO, "a FIFO (named pipe)"),
        (stat_module.S_ISSOCK, "a socket"),
        (stat_module.S_ISCHR, "a character device"),
        (stat_module.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return words
    return "not a regular file"


def _entry(item: os.DirEntry, device: int) -> Entry:
    """What a listed entry is, from the folder listing's file type (a stat only for the rare kinds)."""
    if item.is_file(follow_symlinks=False):
        return Entry(item.name, "file")
    if item.is_dir(follow_symlinks=False):
        stat = item.stat(follow_symlinks=False)
        if stat.st_dev != device:
            return Entry(item.name, "a mount point (another file system)", stat.st_size, stat.st_mtime_ns)
        return Entry(item.name, "folder", None, stat.st_mtime_ns)
    stat = item.stat(follow_symlinks=False)
    return Entry(item.name, special_kind(stat.st_mode), stat.st_size, stat.st_mtime_ns)


def open_store(url: str, s3_client=None) -> SourceStore:
    if url.startswith("s3://"):
        if s3_client is None:
            import boto3

            s3_client = boto3.client("s3")  # honours AWS_ENDPOINT_URL and the other AWS_* variables
        return S3Store(url, s3_client)
    return LocalStore(url)
