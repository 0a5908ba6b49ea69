"""The ledger rows a landing writes for its files, and the names it archives them under."""

from __future__ import annotations

from amzn_assets.landing.discovery import Candidate
from amzn_assets.landing.kinds import LoadedFile, SourceKind

MAX_REASON_BYTES = 1024  # a reason is a sentence; a parser's message quoting input is cut here


def unread_hash(c: Candidate) -> str:
    """The ledger's sha256 for an entry refused unread: its content is unknown, so what the
    listing saw stands for it (the same entry found again is known; a new one gets a new row)."""
    return f"unread:{c.size}:{c.mtime_ns}"


def with_suffix(path: str, suffix: str, max_name_bytes: int = 255) -> str:
    """path with suffix appended to its name, the name cut so that it stays a legal file name."""
    folder, _, name = path.rpartition("/")
    room = max_name_bytes - len(suffix.encode())
    cut = name.encode()[:room].decode("utf-8", "ignore")
    return f"{folder}/{cut}{suffix}" if folder else f"{cut}{suffix}"


def bounded(reason: str) -> str:
    return reason if len(reason) <= MAX_REASON_BYTES // 4 else reason.encode()[:MAX_REASON_BYTES].decode("utf-8", "ignore")


def unread_row(c: Candidate, kind: SourceKind, dest: str) -> dict:
    return {
        "path": c.ledger_path,
        "size_bytes": c.size or 0,
        "mtime_ns": c.mtime_ns or 0,
        "sha256": unread_hash(c),
        "kind": kind.name,
        "category": c.category,
        "status": "quarantined",
        "partitions": None,
        "error": bounded(c.refusal or "refused"),
        "archived_path": dest,
    }


def file_row(f: LoadedFile, kind: SourceKind, status: str, dest: str, partitions: str | None, error: str | None) -> dict:
    return {
        "path": f.rel_path,
        "size_bytes": f.size_bytes,
        "mtime_ns": f.mtime_ns,
        "sha256": f.sha256,
        "kind": kind.name,
        "category": f.category,
        "status": status,
        "partitions": partitions,
        "error": error,
        "archived_path": dest,
    }
