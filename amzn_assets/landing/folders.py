"""Reading an upload folder through descriptors: folders opened without following links below the
area's fixed folders, files opened O_NOFOLLOW | O_NONBLOCK and checked with fstat before a byte is
read, so that a link, a FIFO, a device or a file over the limit is refused, never read or waited on."""

from __future__ import annotations

import errno
import os
import stat as stat_module

from amzn_assets.landing.store_types import STILL_WRITING, UPLOAD_LAYOUT, Entry, Found, ReadOutcome, Refused


class Folders:
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

    def __enter__(self) -> "Folders":
        return self

    def __exit__(self, *exc) -> None:
        for fd in self.fds.values():
            os.close(fd)


# Reading a file just uploaded would update its access time (relatime does while atime <= mtime):
# one inode write per file, a quarter of the reading time here. Only the owner (or root) may ask.
_NO_ATIME = getattr(os, "O_NOATIME", 0)


_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY  # a FIFO opens without waiting


def read_at(folders: Folders, folder: str, name: str, max_bytes: int) -> ReadOutcome:
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
        if not (stat_module.S_ISREG(before.st_mode) and before.st_nlink == 1 and before.st_size <= max_bytes):
            return Refused(_refusal(before, max_bytes), before.st_size, before.st_mtime_ns)
        # One byte more than its size: a file still growing (or cut short) reads another length.
        data = os.read(fd, before.st_size + 1)
        if len(data) != before.st_size:
            return STILL_WRITING
        return Found(data, before.st_mtime_ns, max(before.st_mtime_ns, before.st_ctime_ns))
    finally:
        os.close(fd)


def _refusal(stat: os.stat_result, max_bytes: int) -> str:
    """Why a file is not read, from its fstat (read_at asks only for one it does not read)."""
    if not stat_module.S_ISREG(stat.st_mode):
        return f"{special_kind(stat.st_mode)}: not a regular file, not read"
    if stat.st_nlink > 1:
        return (
            f"a hard link ({stat.st_nlink} names): another name, maybe outside the upload area, "
            "shares its content; not read"
        )
    return f"{stat.st_size:,} bytes, over the limit of {max_bytes:,} per file; not read"


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


def listed_entry(item: os.DirEntry, device: int) -> Entry:
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
