"""Read a batch of uploaded files with bounded memory: each file within the limits, each batch
within a byte budget, each gzip inflated with the limits of sources/inflate.py.

A file that changes while it is read, or whose gzip stream ends early while it is young (it is
still being written), waits for the next landing; one still truncated after the grace period is
quarantined with that reason.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from amzn_assets.landing.discovery import Candidate
from amzn_assets.landing.kinds import LoadedFile
from amzn_assets.landing.store_types import Found, Refused
from amzn_assets.landing.stores import SourceStore
from amzn_assets.sources.common import SourceFileError
from amzn_assets.sources.inflate import ReadLimits, TruncatedGzip, inflate

READ_SLICE = 1_000  # files read between two looks at the batch's byte budget
DEFAULT_BATCH_BYTES = 64 << 20  # raw + inflated bytes a batch holds at most (~20,000 one-review files)


@dataclass
class LoadedBatch:
    files: list[LoadedFile] = field(default_factory=list)
    refused: list[Candidate] = field(default_factory=list)  # not read (refusal set), from the listing or the open
    waiting: int = 0  # changing or still being written: left for the next landing


def load_batch(
    store: SourceStore,
    candidates: Sequence[Candidate],
    limits: ReadLimits,
    batch_files: int,
    batch_bytes: int = DEFAULT_BATCH_BYTES,
    now_ns: int | None = None,
) -> tuple[LoadedBatch, list[Candidate]]:
    """Read candidates in order until the batch holds batch_files files or batch_bytes bytes;
    returns the batch and the candidates left for the next one."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    batch, held, taken = LoadedBatch(), 0, 0
    while taken < len(candidates) and len(batch.files) + len(batch.refused) < batch_files and held < batch_bytes:
        room = batch_files - len(batch.files) - len(batch.refused)
        chunk = candidates[taken : taken + min(READ_SLICE, room)]
        taken += len(chunk)
        to_read = [c for c in chunk if c.refusal is None]
        batch.refused += [c for c in chunk if c.refusal is not None]
        for candidate, outcome in zip(to_read, store.read_many([c.path for c in to_read], limits.max_file_bytes)):
            if isinstance(outcome, Found):
                loaded = _loaded(candidate, outcome, limits, now_ns)
                if loaded is None:
                    batch.waiting += 1
                else:
                    batch.files.append(loaded)
                    held += loaded.size_bytes + (len(loaded.text) if loaded.text is not None else 0)
            elif isinstance(outcome, Refused):
                batch.refused.append(candidate._replace(refusal=outcome.reason, size=outcome.size, mtime_ns=outcome.mtime_ns))
            elif outcome is not None:  # STILL_WRITING; None: taken away since the listing, not ours to land
                batch.waiting += 1
    return batch, list(candidates[taken:])


def _loaded(candidate: Candidate, found: Found, limits: ReadLimits, now_ns: int) -> LoadedFile | None:
    """The file with its content inflated, or its reason to be refused; None while it is young
    and its gzip is truncated (the uploader is still writing it)."""
    text, error = None, None
    try:
        text = inflate(found.data, limits)
    except TruncatedGzip as exc:
        age_s = (now_ns - found.changed_ns) / 1e9
        if age_s < limits.partial_grace_s:
            return None
        error = f"{exc}; unchanged for {age_s:,.0f} s, past the {limits.partial_grace_s:g} s allowed for a file being written"
    except SourceFileError as exc:
        error = str(exc)
    sha256 = hashlib.sha256(found.data).hexdigest()
    return LoadedFile(candidate.path, len(found.data), found.mtime_ns, sha256, found.data, candidate.category, text, error)
