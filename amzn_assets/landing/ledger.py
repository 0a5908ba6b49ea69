"""The landing ledger: which source files landed, in which batch, feeding which partitions.

A batch is committed in one transaction that records every file and every quarantined record,
so the ledger and the segments can never disagree about what landed: readers only trust
segments of committed batches, and recovery deletes the segments of batches left open.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock
from sqlalchemy import create_engine, event, func, insert, select, text, update
from sqlalchemy.engine import Engine

from amzn_assets.landing.ledger_sql import in_list, insert_many, sqlite_pragmas
from amzn_assets.landing.ledger_schema import (
    landing_applied,
    landing_batches,
    landing_compacted,
    landing_compactions,
    landing_files,
    metadata,
    quarantine,
)
from amzn_assets.db_urls import sqlalchemy_url
from amzn_assets.data_dirs import DataDirs


_LOCK_KEYS = {"landing": 7_411_002, "apply": 7_411_003}  # pg_advisory_lock keys: the lander, the stream job


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class LiveFile:
    """The file the ledger holds as landed for a given content hash."""

    path: str
    archived_path: str | None


class Ledger:
    def __init__(self, url: str, lock_path: Path | None = None):
        self.url = url
        self.engine: Engine = create_engine(sqlalchemy_url(url), future=True)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)
            database = Path(self.engine.url.database)
            database.parent.mkdir(parents=True, exist_ok=True)
            if lock_path is None:
                lock_path = database.with_suffix(".lock")
        self._lock_path = lock_path
        metadata.create_all(self.engine)

    @contextmanager
    def exclusive(self, what: str = "landing") -> Iterator[None]:
        """Serialize landing ("landing": one lander at a time per ledger) or the stream job's
        materialization of landed batches ("apply") across processes."""
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect() as conn:  # a session-level advisory lock, across machines
                conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _LOCK_KEYS[what]})
                try:
                    yield
                finally:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _LOCK_KEYS[what]})
            return
        if self._lock_path is None:
            yield
            return
        self._lock_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self._lock_path if what == "landing" else self._lock_path.with_name(f"{self._lock_path.name}.{what}")
        # A new FileLock (flock on its own descriptor) per call: two Ledger objects, threads or
        # processes exclude each other; a second hold in the same thread raises instead of hanging.
        with FileLock(lock_path):
            yield

    # -- batches -----------------------------------------------------------------------------
    def open_batch(self, batch_id: str, kind: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                insert(landing_batches).values(
                    batch_id=batch_id, kind=kind, status="open", created_at=utcnow()
                )
            )

    def commit_batch(
        self,
        batch_id: str,
        files: Sequence[dict],
        rejected: Sequence[dict],
        row_count: int,
    ) -> None:
        """Record the batch's files and quarantined records and mark it committed, atomically."""
        now = utcnow()
        with self.engine.begin() as conn:
            if files:
                insert_many(conn, landing_files, files, batch_id=batch_id, landed_at=now)
            if rejected:
                insert_many(conn, quarantine, rejected, batch_id=batch_id, created_at=now)
            conn.execute(
                update(landing_batches)
                .where(landing_batches.c.batch_id == batch_id)
                .values(
                    status="committed",
                    committed_at=now,
                    file_count=len(files),
                    row_count=row_count,
                    rejected_count=len(rejected),
                )
            )

    def left_in_place(self, batch_id: str, path: str, why: str) -> None:
        """A refused entry that could not be moved to quarantine/: its row says so, with no archive path."""
        with self.engine.begin() as conn:
            conn.execute(
                update(landing_files)
                .where(landing_files.c.batch_id == batch_id, landing_files.c.path == path)
                .values(archived_path=None, error=landing_files.c.error + f"; left in place: {why}")
            )

    def open_batches(self) -> list[tuple[str, str]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(landing_batches.c.batch_id, landing_batches.c.kind).where(
                    landing_batches.c.status == "open"
                )
            )
            return [(r.batch_id, r.kind) for r in rows]

    def forget_batch(self, batch_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(landing_batches.delete().where(landing_batches.c.batch_id == batch_id))

    def committed_after(self, cursor: str | None, limit: int = 1000) -> list[tuple[str, str]]:
        """(batch_id, kind) of committed batches after the cursor, oldest first.

        Landing holds an exclusive lock, so batches commit in batch-id order: a cursor on the id
        never skips a batch.
        """
        query = select(landing_batches.c.batch_id, landing_batches.c.kind).where(
            landing_batches.c.status == "committed"
        )
        if cursor:
            query = query.where(landing_batches.c.batch_id > cursor)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(landing_batches.c.batch_id).limit(limit))
            return [(r.batch_id, r.kind) for r in rows]

    def committed_batches(self, kind: str) -> set[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(landing_batches.c.batch_id).where(
                    landing_batches.c.kind == kind, landing_batches.c.status == "committed"
                )
            )
            return {r.batch_id for r in rows}

    # -- files -------------------------------------------------------------------------------
    def live_files(self, kind: str, hashes: Iterable[str]) -> dict[str, LiveFile]:
        """The landed file for each of these content hashes, where there is one."""
        return self.files_with_hashes(kind, hashes)[0]

    def files_with_hashes(
        self, kind: str, hashes: Iterable[str]
    ) -> tuple[dict[str, LiveFile], dict[tuple[str, str], tuple[str, int]]]:
        """One lookup of these content hashes: (the landed file of each hash, where there is one;
        (path, sha256) -> (archived_path or None, mtime_ns) of the newest row whatever its status). A file
        found again at a recorded path with recorded content is one whose archiving a crash
        interrupted after the commit, not a new upload, when its archive copy is missing, or when
        it is there and the file has the row's mtime (a bundle written, its sources not yet deleted)."""
        live: dict[str, LiveFile] = {}
        archived: dict[tuple[str, str], tuple[str, int]] = {}
        with self.engine.connect() as conn:
            for among_hashes in in_list(conn, landing_files.c.sha256, list(hashes)):
                # Only the hash in the WHERE clause: given "status = ?" too, SQLite picks the status
                # index and scans every landed file.
                rows = conn.execute(
                    select(
                        landing_files.c.sha256, landing_files.c.kind, landing_files.c.status,
                        landing_files.c.path, landing_files.c.archived_path, landing_files.c.mtime_ns,
                    ).where(among_hashes).order_by(landing_files.c.file_id)
                )
                for r in rows:
                    if r.kind != kind:
                        continue
                    if r.status == "landed":
                        live[r.sha256] = LiveFile(r.path, r.archived_path)
                    archived[(r.path, r.sha256)] = (r.archived_path, r.mtime_ns)  # None: left in place
        return live, archived

    def known_paths(self, paths: Iterable[str]) -> set[str]:
        """Which of these paths already have a ledger row (any status)."""
        found: set[str] = set()
        with self.engine.connect() as conn:
            for among_paths in in_list(conn, landing_files.c.path, list(paths)):
                found.update(r.path for r in conn.execute(select(landing_files.c.path).where(among_paths)))
        return found

    def archived_files(self, *, paths: Sequence[str] = (), batch_id: str | None = None) -> list[dict]:
        """Rows (oldest first) whose upload path or archived path is one of paths, or of one batch:
        what `amzn-assets restore` writes back."""
        columns = [landing_files.c[name] for name in ("file_id", "path", "sha256", "size_bytes", "status", "batch_id", "archived_path")]
        query = select(*columns)
        if batch_id is not None:
            query = query.where(landing_files.c.batch_id == batch_id)
        else:
            query = query.where(landing_files.c.path.in_(paths) | landing_files.c.archived_path.in_(paths))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query.order_by(landing_files.c.file_id))]

    def file_status_counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(landing_files.c.status, func.count()).group_by(landing_files.c.status)
            )
            return {status: count for status, count in rows}

    def partitions_of_batches(self, batch_ids: Iterable[str]) -> set[str]:
        keys: set[str] = set()
        batch_ids = list(batch_ids)
        with self.engine.connect() as conn:
            for start in range(0, len(batch_ids), 500):
                rows = conn.execute(
                    select(landing_files.c.partitions).where(
                        landing_files.c.batch_id.in_(batch_ids[start : start + 500]),
                        landing_files.c.partitions.is_not(None),
                    )
                )
                for (partitions,) in rows:
                    keys.update(json.loads(partitions))
        return keys

    # -- consumers of committed batches ----------------------------------------------------------
    def applied_through(self, consumer: str) -> str | None:
        """The last batch whose days the consumer has materialized (None: nothing yet)."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(landing_applied.c.batch_id).where(landing_applied.c.consumer == consumer)
            ).scalar_one_or_none()

    def set_applied_through(self, consumer: str, batch_id: str) -> None:
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(landing_applied)
                .where(landing_applied.c.consumer == consumer)
                .values(batch_id=batch_id, applied_at=utcnow())
            )
            if moved.rowcount == 0:
                conn.execute(insert(landing_applied).values(consumer=consumer, batch_id=batch_id, applied_at=utcnow()))

    def clear(self) -> None:
        """Forget everything (for `amzn-assets reset`, with the landed segments deleted alongside)."""
        with self.engine.begin() as conn:
            for table in (landing_compacted, landing_compactions, landing_applied, quarantine, landing_files, landing_batches):
                conn.execute(table.delete())

    def quarantined(self) -> list[dict]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(quarantine).order_by(quarantine.c.quarantine_id))
            return [dict(r._mapping) for r in rows]


def open_ledger(dirs: DataDirs, url: str = "") -> Ledger:
    """The landing ledger of a data directory (the one constructor the CLI, the lander and the
    resources use): at url (backends.ledger_url of the settings), else SQLite under landed/."""
    return Ledger(url or dirs.sqlite_ledger_url, lock_path=dirs.ledger_lock)
