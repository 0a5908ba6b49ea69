"""What the upload area holds: the files to read, and every other entry refused with its reason.

Only regular files with a text name and a kind's suffix, directly in their folder, are read.
Anything else an uploader can make (a link, a FIFO, a socket, a device, a nested folder, a file
in the wrong place, a name that is not UTF-8) is refused from the listing alone, unread, so that
nothing outside the area is read and nothing blocks the landing; the lander records each refusal
in the ledger and moves it to quarantine/ (landing/intake.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

from amzn_assets.landing.kinds import SourceKind
from amzn_assets.landing.stores import SourceStore
from amzn_assets.sources.inflate import ReadLimits

IN_FLIGHT_SUFFIXES = (".tmp", ".part", ".partial")


class Candidate(NamedTuple):
    path: str  # relative to the store's root, as the file system or S3 names it
    category: str | None
    refusal: str | None = None  # why it is not read, known from the listing
    size: int | None = None
    mtime_ns: int | None = None

    @property
    def ledger_path(self) -> str:
        """The path as the ledger and the archive write it: the name itself when it is UTF-8 text
        (always, for a file that is read), else with each undecodable byte written as \\xNN."""
        return printable(self.path)


def discover(store: SourceStore, kind: SourceKind, limits: ReadLimits = ReadLimits()) -> Iterator[Candidate]:
    """Complete entries of this kind in the upload area: files to read, and refused entries."""
    subdir = f"uploaded/{kind.upload_subdir}"
    if not kind.by_category:
        yield from _files(store, kind, subdir, None, limits)
        return
    for entry in store.listing(subdir):
        path = f"{subdir}/{entry.name}"
        if entry.what == "file" and not is_complete(entry.name):
            continue
        if entry.what == "folder" and is_text(entry.name):
            yield from _files(store, kind, path, entry.name, limits)
        elif entry.what == "folder":
            yield Candidate(path, None, "a category folder whose name is not UTF-8 text; its files were not read", entry.size, entry.mtime_ns)
        elif entry.what == "file":
            where = f"{kind.name} files go in {subdir}/<category>/"
            yield Candidate(path, None, f"a file outside a category folder ({where}); not read", entry.size, entry.mtime_ns)
        else:
            yield Candidate(path, None, f"{entry.what} where a category folder belongs; not followed, not read", entry.size, entry.mtime_ns)


def _files(store: SourceStore, kind: SourceKind, folder: str, category: str | None, limits: ReadLimits) -> Iterator[Candidate]:
    suffixes = kind.suffixes
    for entry in store.listing(folder):
        name = entry.name
        if entry.what == "file":
            if not is_complete(name):
                continue  # only a file is ever in flight: the uploader renames it when it is whole
            if entry.size is None and name.endswith(suffixes) and name.isascii():
                yield Candidate(f"{folder}/{name}", category)  # the usual upload, on local disk
                continue
        path = f"{folder}/{name}"
        refusal = None
        if entry.what == "folder":
            refusal = f"a folder where files belong (files sit directly in {folder}/); its files were not read"
        elif entry.what.startswith("a key"):  # S3 (landing/s3_store.py)
            refusal = f"{entry.what}, which no file system path has; not read"
        elif entry.what != "file":
            refusal = f"{entry.what}: not a regular file, not read"
        elif not is_text(name):
            refusal = "a file name that is not UTF-8 text; not read"
        elif not name.endswith(suffixes):
            refusal = f"not a {kind.name} file (names end in {' or '.join(suffixes)}); not read"
        elif entry.size is not None and entry.size > limits.max_file_bytes:
            refusal = f"{entry.size:,} bytes, over the limit of {limits.max_file_bytes:,} per file; not read"
        yield Candidate(path, category, refusal, entry.size, entry.mtime_ns)


def is_complete(name: str) -> bool:
    """Uploaders write '.<name>.tmp' (or *.part) and rename: those are still being written."""
    return not name.startswith(".") and not name.endswith(IN_FLIGHT_SUFFIXES)


def is_text(name: str) -> bool:
    """A name the ledger can hold as it is: os.listdir gives undecodable bytes as surrogates."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(path: str) -> str:
    return path if is_text(path) else path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
