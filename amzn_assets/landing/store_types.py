"""What listing and reading an upload area gives, the same for the local and the S3 store."""

from __future__ import annotations

from typing import NamedTuple, Union


# The upload area's fixed folders (landing/kinds.py puts each kind in one): a deployment may make
# them links. Everything below them is the uploaders' and is never followed.
UPLOAD_LAYOUT = frozenset(
    {"uploaded", "uploaded/reviews", "uploaded/metadata", "uploaded/metadata/products", "uploaded/metadata/climate", "uploaded/climate"}
)


class Entry(NamedTuple):
    name: str
    what: str  # "file", "folder", or what else it is ("a symbolic link", "a FIFO (named pipe)", ...)
    size: int | None = None  # known without reading: S3 listings, and the entries that are not files
    mtime_ns: int | None = None


class Found(NamedTuple):
    data: bytes
    mtime_ns: int
    changed_ns: int  # when its content or name last changed (ctime; S3: LastModified): the grace clock


class Refused(NamedTuple):
    """A path that was not read, and why (nothing of its content is known)."""

    reason: str
    size: int
    mtime_ns: int


STILL_WRITING = "still being written"  # it changed while being read: the next landing takes it

ReadOutcome = Union[Found, Refused, str, None]  # None: gone since the listing
