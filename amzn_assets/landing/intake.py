"""Land every complete file in the upload area exactly once.

Per batch of files: (1) open the batch in the ledger, (2) parse and write segments named by the
batch id, (3) commit the files, their partitions and the quarantined records in one ledger
transaction, (4) archive the source files: small ones into the batch's bundle
(data/raw/bundles/, landing/archive.py) and then deleted, big ones moved to data/raw/, refused
ones to data/quarantine/. A crash before (3) leaves an open batch whose segments the next run
deletes before landing the files again; a crash after (3) leaves files the ledger knows, which the
next run only finishes archiving.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from amzn_assets.landing.archive import BUNDLE_MAX_FILE_BYTES, Archive, Member, bundle_path, member_path, split_archived
from amzn_assets.landing.compaction import compact_landed
from amzn_assets.landing.discovery import Candidate, discover
from amzn_assets.landing.file_rows import bounded, file_row, unread_hash, unread_row, with_suffix
from amzn_assets.landing.kinds import KINDS, LoadedFile, ParsedBatch, SourceKind
from amzn_assets.landing.ledger import Ledger, open_ledger
from amzn_assets.landing.loading import LoadedBatch, load_batch
from amzn_assets.landing.segments import SegmentStore
from amzn_assets.landing.stores import LocalStore, SourceStore, open_store
from amzn_assets.data_dirs import DataDirs
from amzn_assets.sources.inflate import ReadLimits

DEFAULT_BATCH_FILES = 20_000
log = logging.getLogger(__name__)


@dataclass
class LandingReport:
    batches: int = 0
    files_landed: int = 0
    files_quarantined: int = 0
    files_duplicate: int = 0
    files_waiting: int = 0  # changing or still being written: the next landing takes them
    rows: int = 0
    rejected_records: int = 0
    partitions: dict[str, set[str]] = field(default_factory=dict)  # kind -> partition keys fed
    seconds: float = 0.0

    def add_partitions(self, kind: str, keys: Sequence[str]) -> None:
        self.partitions.setdefault(kind, set()).update(keys)


class Lander:
    def __init__(
        self,
        dirs: DataDirs,
        ledger: Ledger | None = None,
        batch_files: int = DEFAULT_BATCH_FILES,
        on_stage: Callable[[str], None] | None = None,
        store: SourceStore | None = None,
        limits: ReadLimits = ReadLimits(),
    ):
        self.dirs = dirs
        self.limits = limits
        self.store = store or LocalStore(dirs.root)  # where uploaded/, raw/ and quarantine/ live
        self.archive = Archive(self.store)
        self.ledger = ledger or open_ledger(dirs)
        self.segments = SegmentStore(dirs.landed)
        self.batch_files = batch_files
        # Test hook: called with "segments_written", "committed" and "bundle_written" to inject crashes.
        self.on_stage = on_stage or (lambda stage: None)
        self._deleter: ThreadPoolExecutor | None = None  # deletes archived sources during land_pending

    def land_pending(self, today: date | None = None) -> LandingReport:
        """Land everything complete in the upload area; safe to call from concurrent runs."""
        started = time.perf_counter()
        report = LandingReport()
        with self.ledger.exclusive():
            self.archive.forget()
            self.recover()
            with ThreadPoolExecutor(1, thread_name_prefix="delete-sources") as deleter:  # waits for them on exit
                self._deleter, deletes = deleter, []
                try:
                    for kind in KINDS:
                        pending = sorted(self.discover(kind))
                        while pending:
                            loaded, pending = load_batch(self.store, pending, self.limits, self.batch_files)
                            report.files_waiting += loaded.waiting
                            deletes += self._land_batch(kind, loaded, today, report)
                finally:
                    self._deleter = None
            for done in deletes:  # every archived source is gone before the lock is released
                done.result()
            compact_landed(self.ledger, self.segments)  # a day's read opens a few spans (landing/compaction.py)
        report.seconds = time.perf_counter() - started
        return report

    def recover(self) -> None:
        """Roll back batches a crash left open: their segments go, their files land again."""
        for batch_id, kind in self.ledger.open_batches():
            self.segments.delete_batch(kind, batch_id)
            self.ledger.forget_batch(batch_id)

    def discover(self, kind: SourceKind) -> Iterator[Candidate]:
        """Complete entries of this kind in the upload area: files to read and refused entries."""
        return discover(self.store, kind, self.limits)

    def _land_batch(self, kind: SourceKind, loaded: LoadedBatch, today: date | None, report: LandingReport) -> list[Future]:
        """Land one batch; the deletions of its archived sources, still running (see _archive)."""
        files = loaded.files
        live, recorded = self.ledger.files_with_hashes(
            kind.name, {f.sha256 for f in files} | {unread_hash(c) for c in loaded.refused}
        )
        refused, unmoved = [], []
        for c in loaded.refused:
            known = recorded.get((c.ledger_path, unread_hash(c)))
            if known is None:
                refused.append(c)
            elif known[0] and not self.archive.holds(known[0]):
                unmoved.append((c, known[0]))  # committed, then killed before the move
        fresh, duplicates, unfinished, leftovers = [], [], [], []
        seen: set[str] = set()
        for f in files:
            known = live.get(f.sha256)
            archived_at, mtime_ns = recorded.get((f.rel_path, f.sha256), (None, None))
            if archived_at and not self.archive.holds(archived_at):
                # Committed (landed, duplicate or quarantined) but killed before archiving: finish it.
                unfinished.append((f, archived_at))
            elif archived_at and mtime_ns == f.mtime_ns:
                # Archived (its bundle written) but killed before this source was deleted.
                leftovers.append(f.rel_path)
            elif known or f.sha256 in seen:
                duplicates.append(f)
            else:
                fresh.append(f)
                seen.add(f.sha256)
        deletes = self._archive(unfinished, new=False)
        self._quarantine_unread(unmoved, None)
        if leftovers:
            deletes.append(self._delete(leftovers))
        if not fresh and not duplicates and not refused:
            return deletes

        batch_id = new_batch_id()
        self.ledger.open_batch(batch_id, kind.name)
        parsed = kind.parse(fresh, today) if fresh else None
        table = parsed.table if parsed and parsed.table is not None else kind.schema.empty_table()
        keys = self.segments.write(kind.name, table.select(kind.schema.names).cast(kind.schema), kind.partition_column, batch_id)
        self.on_stage("segments_written")

        seen = self.ledger.known_paths([f.rel_path for f in fresh] + [c.ledger_path for c in refused])
        file_rows, plan = self._file_rows(kind, batch_id, fresh, duplicates, parsed, seen)
        moves = [(c, archived_name("quarantine", c.ledger_path, batch_id, c.ledger_path in seen)) for c in refused]
        file_rows += [unread_row(c, kind, dest) for c, dest in moves]
        rejected = [
            {"kind": kind.name, "source": r.source, "line": r.line, "reason": bounded(r.reason), "record": r.record}
            for r in (parsed.rejected if parsed else [])
        ] + [
            {"kind": kind.name, "source": path, "line": None, "reason": bounded(reason), "record": None}
            for path, reason in (parsed.file_errors.items() if parsed else [])
        ] + [
            {"kind": kind.name, "source": c.ledger_path, "line": None, "reason": bounded(c.refusal), "record": None}
            for c in refused
        ]
        self.ledger.commit_batch(batch_id, file_rows, rejected, table.num_rows)
        self.on_stage("committed")
        deletes += self._archive(plan, new=True)
        self._quarantine_unread(moves, batch_id)

        report.batches += 1
        report.rows += table.num_rows
        report.rejected_records += len(rejected)
        report.add_partitions(kind.name, keys)
        for row in file_rows:
            status = row["status"]
            report.files_landed += status == "landed"
            report.files_quarantined += status == "quarantined"
            report.files_duplicate += status == "duplicate"
        return deletes

    def _file_rows(
        self,
        kind: SourceKind,
        batch_id: str,
        fresh: Sequence[LoadedFile],
        duplicates: Sequence[LoadedFile],
        parsed: ParsedBatch | None,
        seen: set[str],
    ) -> tuple[list[dict], list[tuple[LoadedFile, str]]]:
        """The ledger rows of a batch's files, and where each file is to be archived."""
        rows, plan = [], []
        bundle = bundle_path(batch_id)
        for f in fresh:
            landed_rows = parsed.rows_by_file.get(f.rel_path, 0)
            if landed_rows:
                status, error = "landed", None
                dest = self._archive_path("raw", f, bundle, batch_id, f.rel_path in seen)
            else:
                status, error = "quarantined", bounded(parsed.file_errors.get(f.rel_path) or "no valid record in file")
                dest = self._archive_path("quarantine", f, None, batch_id, f.rel_path in seen)
            rows.append(file_row(f, kind, status, dest, parsed.partitions_by_file.get(f.rel_path), error))
            plan.append((f, dest))
        for f in duplicates:
            dest = self._archive_path(f"raw/duplicates/{batch_id}", f, bundle, batch_id, False)
            rows.append(file_row(f, kind, "duplicate", dest, None, "same content already landed"))
            plan.append((f, dest))
        return rows, plan

    def _archive_path(self, area: str, f: LoadedFile, bundle: str | None, batch_id: str, seen_before: bool) -> str:
        """Where a source file goes: a file under BUNDLE_MAX_FILE_BYTES into the batch's bundle
        (bundle#upload path, when a bundle is given), a bigger one to its upload path mirrored under
        an archive area (e.g. "raw").

        A path the ledger has seen before was archived under this name already: the batch id is
        appended so nothing is overwritten. Asking the ledger (indexed) keeps this O(new files),
        where listing the archive would cost O(everything ever landed).
        """
        if bundle is not None and f.size_bytes < BUNDLE_MAX_FILE_BYTES:
            return member_path(bundle, f.rel_path)
        return archived_name(area, f.rel_path, batch_id, seen_before)

    def _quarantine_unread(self, moves: Sequence[tuple[Candidate, str]], batch_id: str | None) -> None:
        """Move refused entries to quarantine/ unread (a rename moves a link, a FIFO or a folder
        itself); one that cannot be moved stays, its ledger row saying why (batch_id None: rows
        of earlier batches, whose move a crash cut short: tried again next time)."""
        for c, dest in moves:
            try:
                self.store.move(c.path, dest)
            except Exception as exc:  # noqa: BLE001 - an uploader's entry must not stop the landing
                log.warning("could not move %s to %s: %s", c.ledger_path, dest, exc)
                if batch_id is not None:
                    self.ledger.left_in_place(batch_id, c.ledger_path, bounded(f"could not be moved to {dest} ({exc})"))

    def _archive(self, plan: Sequence[tuple[LoadedFile, str]], new: bool) -> list[Future]:
        """Archive committed files: each bundle written whole (atomically, durably) before its
        sources are deleted; files archived whole are moved. new: the plan of the batch just
        committed (else: files of earlier batches a crash left unarchived).

        The deletions run on a thread while the next batch is read and parsed: an unlink frees an
        inode and waits on the disk (~3 renames' time here); land_pending waits for them all. A
        deletion that a crash cuts short leaves sources the next run finds archived (leftovers)."""
        bundles: dict[str, tuple[list[Member], list[str]]] = {}  # bundle -> (members, their sources)
        moves = []
        for f, dest in plan:
            container, member = split_archived(dest)
            if member is None:
                moves.append((f.rel_path, dest))
            else:
                members, sources = bundles.setdefault(container, ([], []))
                members.append(Member(member, f.data, f.sha256, f.mtime_ns))
                sources.append(f.rel_path)
        deletes = []
        for bundle, (members, sources) in bundles.items():
            self.archive.write_bundle(bundle, members, new=new)
            self.on_stage("bundle_written")
            deletes.append(self._delete(sources))
        if moves:
            self.store.move_many(moves)
        return deletes

    def _delete(self, paths: list[str]) -> Future:
        if self._deleter is None:  # outside land_pending
            done: Future = Future()
            done.set_result(self.store.delete_many(paths))
            return done
        return self._deleter.submit(self.store.delete_many, paths)

def archived_name(area: str, rel_path: str, batch_id: str, seen_before: bool) -> str:
    """Where an upload (uploaded/...) goes under `area` (raw, quarantine): the same path, the batch id
    appended when the ledger has seen the path before (so nothing archived is overwritten)."""
    dest = f"{area}/{rel_path[len('uploaded/'):]}"
    return with_suffix(dest, f".{batch_id}") if seen_before else dest


def lander_for(
    dirs: DataDirs, *, upload_url: str = "", ledger_url: str = "", s3_client=None, limits: ReadLimits = ReadLimits()
) -> Lander:
    """The lander of a deployment: uploaded/, raw/ and quarantine/ under upload_url (a folder or
    s3://bucket/prefix; default: the data directory), the ledger at ledger_url (default: open_ledger's)."""
    store = open_store(upload_url or str(dirs.root), s3_client)
    return Lander(dirs, ledger=open_ledger(dirs, ledger_url), store=store, limits=limits)


def read_limits(max_file_mb: int, max_inflated_mb: int, max_ratio: int, max_line_mb: int, partial_grace_s: int) -> ReadLimits:
    """The limits of the AMZN_UPLOAD_MAX_* settings (whole MiB, a ratio, seconds)."""
    mib = 1 << 20
    return ReadLimits(max_file_mb * mib, max_inflated_mb * mib, float(max_ratio), max_line_mb * mib, partial_grace_s=float(partial_grace_s))


def new_batch_id() -> str:
    """Sortable by creation time, unique across processes."""
    return f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
