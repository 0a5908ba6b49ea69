"""The archive of landed source files: small files in one zip bundle per batch, big ones moved whole.

A one-review upload is ~0.5 KB: archived one file per upload, a million of them would be a million
inodes. So every landed or duplicate file under BUNDLE_MAX_FILE_BYTES goes into its batch's bundle,
raw/bundles/<yyyymmdd>/<batch_id>.zip, and its ledger row's archived_path names the member:
"raw/bundles/20180102/<batch_id>.zip#uploaded/reviews/toys/x.json.gz". Bigger files (a dump, a
climate CSV) are moved whole as before, and quarantined files stay whole in quarantine/ (they are
the ones an operator opens, fixes and uploads again).

A bundle is a zip of stored (uncompressed) members: the uploads are gzip already, a stored member
is the upload byte for byte at a known offset, and any unzip reads it. The last member, index.jsonl,
lists each member's upload path, data offset and size in the bundle, SHA-256 and mtime, so that a
bundle can be checked and restored without the ledger.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import time
import zipfile
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from amzn_assets.landing.stores import SourceStore

BUNDLE_AREA = "raw/bundles"
INDEX_MEMBER = "index.jsonl"
# Files smaller than this go into bundles. ext4 makes one inode per 16 KiB of disk by default: a
# file of 64 KiB or more uses its share of space before its share of inodes, and moving it is a
# rename where bundling would copy it.
BUNDLE_MAX_FILE_BYTES = 64 * 1024

# The zip records of a stored member (APPNOTE 4.3.7, 4.3.12, 4.3.16); zip64 is left to zipfile.
_LOCAL = struct.Struct("<4s2B4HL2L2H")
_CENTRAL = struct.Struct("<4s4B4HL2L5H2L")
_END = struct.Struct("<4s4H2LH")
_UTF8 = 0x800
_FAST_MAX_MEMBERS = 0xFFFF
_FAST_MAX_BYTES = 0xFFFF_FFFF


class ArchiveError(RuntimeError):
    pass


class Member(NamedTuple):
    path: str  # the upload path, e.g. uploaded/reviews/toys/x.json.gz (the ledger's path)
    data: bytes
    sha256: str
    mtime_ns: int


def bundle_path(batch_id: str) -> str:
    """Where a batch's bundle lives: one folder per day of batch ids (they start yyyymmdd)."""
    return f"{BUNDLE_AREA}/{batch_id[:8]}/{batch_id}.zip"


def member_path(bundle: str, member: str) -> str:
    return f"{bundle}#{member}"


def split_archived(archived_path: str) -> tuple[str, str | None]:
    """(the file in the store, the member in it or None for a file archived whole)."""
    container, sep, member = archived_path.partition("#")
    return (container, member) if sep and container.endswith(".zip") else (archived_path, None)


def build_bundle(members: Sequence[Member]) -> bytes:
    """A zip of stored members plus index.jsonl, in memory (a batch's files are in memory already)."""
    total = sum(len(m.data) + 3 * len(m.path) + 256 for m in members)  # headers and index line, at most
    if len(members) + 1 > _FAST_MAX_MEMBERS or total > _FAST_MAX_BYTES:
        return _zipfile_bundle(members)
    chunks: list[bytes] = []
    central: list[bytes] = []
    index: list[str] = []
    offset = 0
    dos_times: dict[int, tuple[int, int]] = {}
    local, entry, crc32, quote = _LOCAL.pack, _CENTRAL.pack, zlib.crc32, json.encoder.encode_basestring_ascii
    index_entry = Member(INDEX_MEMBER, b"", "", time.time_ns())
    for m in [*members, index_entry]:
        if m is index_entry:
            m = m._replace(data="".join(index).encode())
        name, data = m.path.encode(), m.data
        second = m.mtime_ns // 1_000_000_000
        dos = dos_times.get(second) or dos_times.setdefault(second, _dos_time(second))
        crc, size, name_size = crc32(data), len(data), len(name)
        chunks += (local(b"PK\x03\x04", 20, 0, _UTF8, 0, dos[0], dos[1], crc, size, size, name_size, 0), name, data)
        central.append(entry(b"PK\x01\x02", 20, 3, 20, 0, _UTF8, 0, dos[0], dos[1], crc, size, size,
                             name_size, 0, 0, 0, 0, 0o100644 << 16, offset) + name)
        start = offset + _LOCAL.size + name_size
        offset = start + size
        index.append(f'{{"path": {quote(m.path)}, "offset": {start}, "size": {size}, "sha256": "{m.sha256}", "mtime_ns": {m.mtime_ns}}}\n')
    directory = b"".join(central)
    chunks.append(directory)
    chunks.append(_END.pack(b"PK\x05\x06", 0, 0, len(central), len(central), len(directory), offset, 0))
    return b"".join(chunks)


def _dos_time(second: int) -> tuple[int, int]:
    t = time.gmtime(max(second, 315_532_800))  # zip dates start in 1980
    return (t.tm_hour << 11) | (t.tm_min << 5) | (t.tm_sec // 2), ((min(t.tm_year, 2107) - 1980) << 9) | (t.tm_mon << 5) | t.tm_mday


def _zipfile_bundle(members: Sequence[Member]) -> bytes:
    """The same bundle through zipfile, which writes zip64 records (over 65,535 members or 4 GiB)."""
    buffer = io.BytesIO()
    index = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED, allowZip64=True) as bundle:
        for m in list(members) + [None]:
            name, data, mtime_ns = (m.path, m.data, m.mtime_ns) if m else (INDEX_MEMBER, "".join(index).encode(), time.time_ns())
            info = zipfile.ZipInfo(name, time.gmtime(max(mtime_ns // 1_000_000_000, 315_532_800))[:6])
            info.external_attr = 0o100644 << 16
            bundle.writestr(info, data)
            if m:
                index.append(json.dumps({"path": m.path, "offset": buffer.tell() - len(data), "size": len(data),
                                         "sha256": m.sha256, "mtime_ns": m.mtime_ns}) + "\n")
    return buffer.getvalue()


def read_index(bundle: zipfile.ZipFile) -> list[dict]:
    return [json.loads(line) for line in bundle.read(INDEX_MEMBER).decode().splitlines() if line]


class Archive:
    """The archive of one store (a data directory or an S3 prefix): what it holds, writing bundles."""

    def __init__(self, store: SourceStore):
        self.store = store
        self._names: dict[str, frozenset[str] | None] = {}  # bundle -> its members, None: absent

    def forget(self) -> None:
        """Drop what is known of bundles (another lander may have rewritten one since)."""
        self._names.clear()

    def holds(self, archived_path: str) -> bool:
        """Whether the archive has this copy: the file, or the bundle with this member."""
        container, member = split_archived(archived_path)
        if member is None:
            return self.store.exists(archived_path)
        names = self._members(container)
        return names is not None and member in names

    def _members(self, bundle: str) -> frozenset[str] | None:
        if bundle not in self._names:
            try:
                with self.store.open(bundle) as handle, zipfile.ZipFile(handle) as zipped:
                    self._names[bundle] = frozenset(zipped.namelist()) - {INDEX_MEMBER}
            except FileNotFoundError:
                self._names[bundle] = None
        return self._names[bundle]

    def write_bundle(self, bundle: str, members: Sequence[Member], new: bool = False) -> None:
        """Write (or rewrite) a bundle atomically with these members; members it holds already
        and that are not given again are kept (finishing a batch that a crash interrupted). new:
        the bundle of a batch just committed, which cannot exist yet (no lookup)."""
        if not new and self._members(bundle):
            given = {m.path for m in members}
            members = [m for m in self.members(bundle) if m.path not in given] + list(members)
        self.store.put(bundle, build_bundle(members))
        self._names[bundle] = frozenset(m.path for m in members)

    def members(self, bundle: str) -> list[Member]:
        """Every member of a bundle, each checked against the SHA-256 of its index line."""
        found = self.store.read(bundle)
        if found is None:
            raise ArchiveError(f"{bundle} is missing from the archive ({self.store.url})")
        with zipfile.ZipFile(io.BytesIO(found[0])) as zipped:
            members = []
            for entry in read_index(zipped):
                data = zipped.read(entry["path"])
                _check(entry["path"], data, entry["sha256"], bundle)
                members.append(Member(entry["path"], data, entry["sha256"], entry["mtime_ns"]))
            return members

    def read(self, archived_path: str) -> bytes:
        """The bytes of one archived copy (a bundle member, read without the rest of the bundle)."""
        container, member = split_archived(archived_path)
        try:
            if member is None:
                with self.store.open(container) as handle:
                    return handle.read()
            with self.store.open(container) as handle, zipfile.ZipFile(handle) as zipped:
                return zipped.read(member)
        except FileNotFoundError:
            raise ArchiveError(f"{container} is missing from the archive ({self.store.url})") from None
        except KeyError:
            raise ArchiveError(f"{container} holds no member {member}") from None

    def paths(self, area: str = "raw") -> Iterator[str]:
        """Every archived copy under an area: each bundle's members (as bundle#member) and each
        file archived whole. For tests and counts; it lists the whole area."""
        for path in _walk(self.store, area):
            if path.endswith(".zip") and path.startswith(BUNDLE_AREA + "/"):
                names = self._members(path) or ()
                yield from (member_path(path, name) for name in sorted(names))
            else:
                yield path


def _walk(store: SourceStore, folder: str) -> Iterator[str]:
    for entry in store.listing(folder):
        if entry.name.startswith("."):
            continue  # a bundle being written
        path = f"{folder}/{entry.name}"
        if entry.what == "folder":
            yield from _walk(store, path)
        else:
            yield path


def _check(path: str, data: bytes, sha256: str, where: str) -> None:
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ArchiveError(f"{path} in {where} has SHA-256 {actual[:12]}..., the ledger says {sha256[:12]}...: not restored")


# -- restore ----------------------------------------------------------------------------------

@dataclass
class Restored:
    path: str  # upload path
    written_to: Path
    size: int
    unchanged: bool  # the destination held these bytes already


def restore_rows(archive: Archive, rows: Sequence[dict], to_dir: str | os.PathLike) -> list[Restored]:
    """Write each ledger row's file back, byte for byte, under to_dir at its path below uploaded/;
    every copy is checked against the row's SHA-256 before it is written."""
    done = []
    groups: dict[str, list[dict]] = {}  # bundle (or file archived whole) -> its rows
    for row in rows:
        if not row["archived_path"]:
            raise ArchiveError(f"{row['path']} was imported whole (amzn-assets import), not archived: the dump itself is the source")
        groups.setdefault(split_archived(row["archived_path"])[0], []).append(row)
    for container, group in groups.items():
        if len(group) > 1 and split_archived(group[0]["archived_path"])[1] is not None:
            data_of = {member_path(container, m.path): m.data for m in archive.members(container)}  # read once
            contents = [(row, data_of.get(row["archived_path"])) for row in group]
        else:
            contents = [(row, archive.read(row["archived_path"])) for row in group]
        for row, data in contents:
            if data is None:
                raise ArchiveError(f"{row['archived_path']} is missing from the archive")
            _check(row["path"], data, row["sha256"], row["archived_path"])
            done.append(_write_restored(row["path"], data, row["sha256"], Path(to_dir)))
    return done


def _write_restored(path: str, data: bytes, sha256: str, to_dir: Path) -> Restored:
    relative = path[len("uploaded/") :] if path.startswith("uploaded/") else path.lstrip("/")
    dest = to_dir / relative
    if dest.exists():
        if hashlib.sha256(dest.read_bytes()).hexdigest() == sha256:
            return Restored(path, dest, len(data), True)
        raise ArchiveError(f"{dest} exists with other content; remove it or restore with --to another folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    temporary = dest.with_name(f".{dest.name}.restoring")
    temporary.write_bytes(data)
    os.replace(temporary, dest)
    return Restored(path, dest, len(data), False)
